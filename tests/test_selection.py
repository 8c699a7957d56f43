"""Defaults checked on validation images: a validation sweep ranks its values by the
final epoch's validation accuracy, and the report says where the default stands."""
import math

import pandas as pd
import pytest

from compressbench import claims as C
import test_report  # its synthetic metrics, records and facts
from compressbench import markdown, report, selection

PARAMS = {
    "derived": {"kd-val-t2": {"like": "student-kd", "train": {"data": "train"}, "distill": {"temperature": 2}},
                "kd-val-t10": {"like": "student-kd", "train": {"data": "train"}, "distill": {"temperature": 10}},
                "kd-t5": {"like": "student-kd", "distill": {"temperature": 5}}},
    "sweeps": {"kd-val-t": ["kd-val-t2", "kd-val-t10"], "kd-t": ["kd-t5"]},
    "protocols": {"cifar10": {
        "student-kd": {"data": "train+val", "temperature": 2.0, "t_squared": True},
        "kd-val-t2": {"data": "train", "temperature": 2, "t_squared": True},
        "kd-val-t10": {"data": "train", "temperature": 10, "t_squared": True},
        "kd-t5": {"data": "train+val", "temperature": 5, "t_squared": True}}}}
N_VAL = {"cifar10": 5000}


def _history(*val_accuracies):
    return pd.DataFrame({"epoch": range(1, len(val_accuracies) + 1), "label_accuracy": 0.9,
                         "val_label_accuracy": list(val_accuracies)})


def _histories(t2, t10):
    return {("cifar10", 0, "kd-val-t2"): _history(0.5, t2), ("cifar10", 0, "kd-val-t10"): _history(0.6, t10),
            ("cifar10", 0, "kd-t5"): _history(0.99)}


def test_the_final_epochs_validation_accuracy_is_read_and_a_history_without_one_has_none():
    assert selection.final_val_accuracy(_history(0.5, 0.7)) == 0.7
    assert selection.final_val_accuracy(pd.DataFrame({"epoch": [1], "accuracy": [0.9]})) is None


def test_the_swept_key_is_the_one_protocol_key_the_members_differ_in():
    assert selection.swept_key(PARAMS["protocols"]["cifar10"], ["kd-val-t2", "kd-val-t10"]) == "temperature"
    assert selection.swept_key(PARAMS["protocols"]["cifar10"], ["kd-val-t2", "kd-t5"]) is None  # data differs too


def test_only_sweeps_trained_without_the_validation_images_are_ranked():
    rows = selection.choices(PARAMS, _histories(0.72, 0.68), N_VAL)
    assert list(rows["base"]) == ["kd-val-t2", "kd-val-t10"]  # kd-t5 validated on images it trained on
    assert set(rows["default"]) == {2.0} and set(rows["key"]) == {"temperature"}


@pytest.mark.parametrize("t2, t10, verdict", [
    (0.72, 0.68, selection.BEST),                        # the default wins
    (0.68, 0.72, f"{selection.BELOW} (temperature 10)"),  # 4 pp behind: beyond noise
    (0.715, 0.72, f"{selection.WITHIN} (temperature 10)"),
])
def test_the_defaults_verdict_flips_when_the_numbers_flip(t2, t10, verdict):
    rows = selection.choices(PARAMS, _histories(t2, t10), N_VAL)
    assert selection.default_verdict(rows) == verdict


def test_the_noise_is_the_claims_rule_on_the_validation_images_with_the_measured_spread_if_larger():
    binomial = selection.choices(PARAMS, _histories(0.72, 0.70), N_VAL)
    expected = 100 * C.NOISE_SIGMAS * math.sqrt(2 * 0.72 * 0.28 / 5000)  # best's error as the other's: both ~binomial
    assert binomial["noise_pp"].iloc[1] == pytest.approx(expected, rel=0.05)
    spread = selection.choices(PARAMS, _histories(0.72, 0.70), N_VAL, spreads={"cifar10": 0.02})
    assert spread["noise_pp"].iloc[1] == pytest.approx(100 * C.NOISE_SIGMAS * math.hypot(0.02, 0.02))
    assert list(spread["verdict"]) == [selection.BEST, selection.WITHIN]


def test_seeds_of_a_member_are_averaged():
    histories = {**_histories(0.70, 0.60), ("cifar10", 1, "kd-val-t2"): _history(0.74)}
    rows = selection.choices(PARAMS, histories, N_VAL).set_index("base")
    assert (rows.loc["kd-val-t2", "seeds"], rows.loc["kd-val-t2", "val_accuracy"]) == (2, pytest.approx(0.72))


def test_the_report_section_ranks_the_values_and_names_the_defaults_place():
    lines = "\n".join(markdown.validation_choices(selection.choices(PARAMS, _histories(0.68, 0.72), N_VAL)))
    assert "the default temperature 2 (of `student-kd`) is **below the best (temperature 10)**" in lines
    assert lines.index("`kd-val-t10`") < lines.index("`kd-val-t2`")
    assert markdown.validation_choices(selection.choices(PARAMS, {}, N_VAL)) == []


def test_a_validation_sweep_is_ranked_in_the_report_from_the_histories_its_jobs_wrote(tmp_path):
    inputs = test_report.make_inputs(tmp_path)
    sweep = {f"kd-val-t{t}": {"like": "student-kd", "train": {"data": "train"}, "distill": {"temperature": t}}
             for t in (2, 10)}
    params = {**test_report.PARAMS, "derived": sweep, "sweeps": {"kd-val-t": list(sweep)},
              "protocols": {"cifar10": {"student-kd": {"data": "train+val", "temperature": 10.0},
                                        **{b: {"data": "train", "temperature": t} for b, t in
                                           (("kd-val-t2", 2), ("kd-val-t10", 10))}}}}
    histories = {}
    for base, val in (("kd-val-t2", 0.60), ("kd-val-t10", 0.70)):
        path = tmp_path / f"models/distill/cifar10/s0/{base}.history.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"epoch,label_accuracy,val_label_accuracy\n1,0.5,0.5\n2,0.8,{val}\n")
        histories[("cifar10", 0, base)] = str(path.relative_to(tmp_path))
    report.build(*inputs, params, out_dir="reports", root=str(tmp_path), histories=histories)
    md = (tmp_path / "reports/report.md").read_text()
    assert "`kd-val-t` on cifar10: the default temperature 10 (of `student-kd`) is **best**." in md
    assert md.index("`kd-val-t10`", md.index("validation images")) < md.index("`kd-val-t2`", md.index("validation images"))


def test_a_diverged_member_with_a_nan_validation_accuracy_ranks_nowhere():
    assert selection.final_val_accuracy(_history(0.5, math.nan)) is None
    chosen = selection.choices(PARAMS, _histories(0.70, math.nan), N_VAL)
    assert list(chosen["base"]) == ["kd-val-t2"] and list(chosen["verdict"]) == [selection.BEST]


def test_a_sweep_whose_like_base_lacks_the_swept_key_says_so_instead_of_failing():
    chosen = selection.choices(PARAMS, _histories(0.70, 0.69), N_VAL).assign(default=None)
    assert selection.default_verdict(chosen) == "the default value is not in the sweep"
    assert "the default temperature — (of `student-kd`)" in "\n".join(markdown.validation_choices(chosen))


def test_every_converged_model_and_its_teacher_never_saw_the_validation_images():
    from compressbench import params
    cfg = params.load(params.ROOT / "params.yaml")
    for ds, protocols in cfg["protocols"].items():
        converged = [b for b, p in protocols.items() if p["family"] == "converged"]
        assert {"teacher", "ta", "student-scratch", "student-kd", "student-takd"} <= set(converged)
        for b in converged:
            assert protocols[b]["data"] == selection.HELD_OUT and not selection.val_seen(cfg, ds, b), (ds, b)
