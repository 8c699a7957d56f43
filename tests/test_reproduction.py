"""The reproduction of the study: each published number next to ours from the run
with that row's protocol, with a verdict computed from the noise."""
import copy
import math

import pandas as pd
import pytest

from compressbench import claims as C
from compressbench import reproduction as R


def _stats(rows):
    frame = pd.DataFrame([{"dataset": "cifar10", "variant": v, "base": v.split("+")[0], "prune": v.split("+")[1],
                           "quant": v.split("+")[2], "seed": s, "ft_seed": 0, "accuracy": a, "tflite_bytes": b,
                           "gzip_bytes": b, "accuracy_delta_pp": 0.0}
                          for v, s, a, b in rows])
    return C.variant_stats(frame)


PARAMS = {"derived": {"student-kd-study": {"like": "student-kd", "distill": {"temperature": 40, "t_squared": False}},
                      "kd-study-t2": {"like": "student-kd-study", "distill": {"temperature": 2}},
                      "kd-quant": {"like": "student-kd-study", "teacher": "teacher-x", "train": {"epochs": 3}},
                      "student-kd-t40": {"like": "student-kd", "distill": {"temperature": 40}}},
          "protocols": {"cifar10": {
              "student-kd": {"epochs": 5, "temperature": 10, "t_squared": True},
              "student-kd-study": {"epochs": 5, "temperature": 40, "t_squared": False},
              "kd-study-t2": {"epochs": 5, "temperature": 2, "t_squared": False},
              "kd-quant": {"epochs": 3, "temperature": 2, "t_squared": False},
              "student-kd-t40": {"epochs": 5, "temperature": 40, "t_squared": True}}}}
REFERENCE = {"cifar10": {"distillation_notebook": {
    "student_kd": 0.70, "temperature_sweep_student_kd": {2: 0.71, 40: 0.70, 5: 0.70}}}}


@pytest.mark.parametrize("ours, verdict", [(0.70, R.WITHIN), (0.74, R.HIGHER), (0.66, R.LOWER)])
def test_each_row_has_a_verdict_that_flips_with_the_numbers(ours, verdict):
    stats = _stats([("student-kd-study+none+float32", 0, ours, 1000), ("kd-study-t2+none+float32", 0, 0.71, 1000)])
    found = R.rows(REFERENCE, stats, PARAMS, {"cifar10": 10000})["cifar10"]
    row = next(r for r in found if r.configuration == "student_kd")
    assert (row.variant, row.ours, row.verdict) == ("student-kd-study+none+float32", ours, verdict)


def test_the_studys_one_run_counts_with_our_measured_seed_spread():
    # three seeds spread by ~1 pp: a 1.5 pp gap to one run is within noise, not "ours lower"
    stats = _stats([("student-kd-study+none+float32", s, a, 1000) for s, a in ((0, 0.675), (1, 0.685), (2, 0.695))])
    row = next(r for r in R.rows(REFERENCE, stats, PARAMS, {})["cifar10"] if r.configuration == "student_kd")
    assert row.verdict == R.WITHIN
    binomial_only = {"n": 1, "accuracy": 0.685, "accuracy_std": float("nan")}
    assert C.compare(binomial_only, {"n": 1, "accuracy": 0.70, "accuracy_std": float("nan")}, 10000)[2] == -1


def test_the_temperature_sweep_maps_each_t_to_the_base_trained_like_the_studys_student_at_it():
    stats = _stats([("student-kd-study+none+float32", 0, 0.70, 1000), ("kd-study-t2+none+float32", 0, 0.71, 1000)])
    sweep = {r.configuration: r for r in R.rows(REFERENCE, stats, PARAMS, {})["cifar10"]
             if r.configuration.startswith("temperature_sweep")}
    assert sweep["temperature_sweep_student_kd T=2"].variant == "kd-study-t2+none+float32"   # not kd-quant (epochs 3)
    assert sweep["temperature_sweep_student_kd T=40"].variant == "student-kd-study+none+float32"
    assert (sweep["temperature_sweep_student_kd T=5"].variant, sweep["temperature_sweep_student_kd T=5"].verdict) == (
        None, R.NOT_RUN)
    assert R.counts({"cifar10": list(sweep.values())}) == {"cifar10": {R.NOT_RUN: 1, R.WITHIN: 2}}


def test_sizes_compare_within_a_tolerance_and_h5_bytes_are_never_judged():
    assert R.size_verdict(1.01, 1.0) == R.SAME_SIZE and R.size_verdict(1.1, 1.0) == R.LARGER
    stats = _stats([("teacher-study5+none+float32", 0, 0.7, 2 ** 20)])
    ref = {"cifar10": {"quantization_notebook": {"teacher_float32": {"accuracy": 0.7, "tflite_mib": 1.0}},
                       "pruning_notebook": {"teacher_before": {"accuracy": 0.7, "gzip_h5_bytes": 5}}}}
    found = {(r.configuration, r.quantity): r for r in R.rows(ref, stats, PARAMS, {})["cifar10"]}
    assert found[("teacher_float32", ".tflite MiB")].verdict == R.SAME_SIZE
    assert found[("teacher_before", "gzip bytes")].verdict == R.NOT_RUN  # cifar10: teacher+none+float32, not run


def test_the_two_losses_are_paired_when_only_t_squared_differs():
    stats = _stats([("student-kd-t40+none+float32", 0, 0.70, 1000), ("student-kd-study+none+float32", 0, 0.68, 1000),
                    ("student-kd+none+float32", 0, 0.69, 1000)])
    assert R.loss_pairs(stats, PARAMS) == [{"dataset": "cifar10", "ours": "student-kd-t40", "study": "student-kd-study",
                                             "temperature": 40}]


def test_a_ta_is_never_paired_with_a_student_of_the_same_protocol():
    # ta (T 40 here, 5 epochs, from the teacher) and student-kd-study share every protocol key but t_squared
    params = copy.deepcopy(PARAMS)
    params["protocols"]["cifar10"]["ta"] = dict(params["protocols"]["cifar10"]["student-kd-t40"])
    stats = _stats([("ta+none+float32", 0, 0.72, 1000), ("student-kd-study+none+float32", 0, 0.68, 1000),
                    ("student-kd-t40+none+float32", 0, 0.70, 1000)])
    assert [(p["ours"], p["study"]) for p in R.loss_pairs(stats, params)] == [("student-kd-t40", "student-kd-study")]


def _verdict_noise(own_se: float, theirs: float) -> float:
    return 100 * C.NOISE_SIGMAS * math.hypot(own_se, theirs)


# student-kd (a matrix base) with 3 seeds: the dataset's pooled spread, 0.01
POOL = [("student-kd+none+float32", s, a, 1000) for s, a in enumerate((0.69, 0.70, 0.71))]


def test_the_study_run_counts_with_this_configurations_own_seed_spread_where_larger():
    # 3 seeds of kd-quant (3 epochs) spread by 2 pp: one run of the study may differ by that much
    ours = _stats([("kd-quant+none+float32", s, a, 1000) for s, a in enumerate((0.66, 0.68, 0.70))] + POOL).iloc[0]
    assert float(ours["spread"]) == pytest.approx(0.01)  # a derived base is not pooled
    assert _verdict_noise(0.02 / math.sqrt(3), 0.01) < 4.0  # the pooled spread alone would call it lower
    diff, noise, verdict = R.accuracy_verdict(ours, 0.72, 10000)
    assert (round(diff, 2), verdict) == (-4.0, R.WITHIN)
    assert noise == pytest.approx(_verdict_noise(0.02 / math.sqrt(3), 0.02))
    assert R.accuracy_verdict(ours, 0.75, 10000)[2] == R.LOWER


def test_the_own_spread_counts_from_3_runs_and_only_where_larger_than_the_pooled_one():
    two = _stats([("kd-quant+none+float32", s, a, 1000) for s, a in enumerate((0.64, 0.70))] + POOL).iloc[0]
    assert R.accuracy_verdict(two, 0.72, 10000)[1] == pytest.approx(
        _verdict_noise(float(two["accuracy_std"]) / math.sqrt(2), 0.01))  # 2 runs: their std is not the spread
    steady = _stats([("kd-quant+none+float32", s, a, 1000) for s, a in enumerate((0.699, 0.700, 0.701))] + POOL)
    assert R.accuracy_verdict(steady.iloc[0], 0.72, 10000)[1] == pytest.approx(
        _verdict_noise(0.001 / math.sqrt(3), 0.01))  # the pooled spread is the larger
    alone = _stats([("kd-quant+none+float32", 0, 0.66, 1000)]).iloc[0]
    assert math.isnan(float(alone["spread"]))  # nothing pooled: the binomial errors alone
    assert R.accuracy_verdict(alone, 0.72, 10000)[1] == pytest.approx(
        _verdict_noise(math.sqrt(0.66 * 0.34 / 10000), math.sqrt(0.72 * 0.28 / 10000)))


def test_each_sequential_kd_row_comes_from_a_base_with_the_notebooks_loss_in_the_repos_params():
    # the sequential notebook distils at T 10 without T², dense and then pruned (local-all):
    # its rows must not silently follow our default loss
    from compressbench import params
    cfg = params.load(params.ROOT / "params.yaml")
    for ds in cfg["matrix"]["datasets"]:
        for config in ("student_kd", "student_kd_pruned"):
            variant = R.row_for(R.ROWS[("sequential_notebook", config)], ds)[0]
            base, prune, _ = variant.split("+")
            assert {k: cfg["protocols"][ds][base][k] for k in ("temperature", "t_squared")} == {
                "temperature": 10, "t_squared": False}
            assert prune in cfg["derived"][base].get("prune", ["none"])


def test_the_quant_notebooks_kd_rows_say_their_student_was_distilled_twice():
    # each quantization notebook trains one student object in two distillers (6 epochs)
    # before it exports it; our 6-epoch student-kd-quant6 follows the protocol, and the rows say
    # what still differs (its second 3 epochs from the QAT teacher)
    stats = _stats([("student-kd-quant6+none+float32", 0, 0.66, 1_380_000)])
    reference = {"cifar10": {"quantization_notebook": {"student_kd_float32": 0.7062}}}
    (row,) = R.rows(reference, stats, PARAMS, {"cifar10": 10000})["cifar10"]
    assert row.variant == "student-kd-quant6+none+float32" and row.differs == R.TWICE_DISTILLED["cifar10"]
    assert "68.01 %" in row.differs and "ours: 6 epochs" in row.differs
    for config in ("student_kd_float32", "student_kd_ptq_dynamic", "student_kd_ptq_fp16"):
        assert "97.30 %" in R.row_for(R.ROWS[("quantization_notebook", config)], "mnist")[1]
    assert R.row_for(R.ROWS[("quantization_notebook", "student_kd_qat")], "mnist")[1] == ""  # a fresh QAT student


def test_the_default_zoo_is_the_notebooks_layer_stacks_and_the_report_says_when_it_is_not():
    from compressbench import params
    cfg = params.load(params.ROOT / "params.yaml")
    assert cfg["zoo"] == R.NOTEBOOK_ZOO
    notes = R.architecture_notes(cfg["zoo"])
    assert all("layer for layer" in notes[ds] for ds in ("mnist", "cifar10"))
    changed = copy.deepcopy(cfg["zoo"])
    changed["cifar10"]["student"] = [{"conv": 64}, {"dense": 128}]
    notes = R.architecture_notes(changed)
    assert "layer for layer" in notes["mnist"]
    assert notes["cifar10"] == ("Our layer stacks (params `zoo`) differ from the notebooks' for the student: ours "
                                "`conv64 dense128`, the notebooks' `conv64 lrelu0.2 conv64 lrelu0.2 pool2 conv128 "
                                "lrelu0.2 conv128 lrelu0.2 pool2 dense128 dropout0.5 dense128`.")


def test_every_reproduction_row_names_a_cell_of_the_default_run_with_its_protocol():
    from compressbench import matrix, params
    cfg = params.load(params.ROOT / "params.yaml")
    cells = {(c.dataset, matrix.variant(c.base, c.prune, c.quant, c.cluster)) for c in matrix.cells(cfg)}
    for key, per_dataset in R.ROWS.items():
        for ds in cfg["matrix"]["datasets"]:
            found = R.row_for(per_dataset, ds)
            if found:
                assert (ds, found[0]) in cells, (key, ds, found[0])
    for ds in ("mnist", "cifar10"):   # the quantization notebooks' published KD student: 6 epochs, T 40, no T²
        p = cfg["protocols"][ds]["student-kd-quant6"]
        assert (p["epochs"], p["temperature"], p["t_squared"], p["batch_size"]) == (6, 40, False, 32)
        assert cfg["protocols"][ds]["student-kd-quant"]["epochs"] == 3


@pytest.mark.parametrize("row, epochs", [(("quantization_notebook", "teacher_float32"), {"mnist": 5, "cifar10": 5}),
                                         (("pruning_notebook", "teacher_before"), {"mnist": 5, "cifar10": 10}),
                                         (("sequential_notebook", "teacher"), {"mnist": 5, "cifar10": 10})])
def test_a_teacher_row_of_a_notebook_that_held_out_10_percent_comes_from_a_teacher_trained_without_our_val(row, epochs):
    from compressbench import params
    cfg = params.load(params.ROOT / "params.yaml")
    for ds in cfg["matrix"]["datasets"]:
        base = R.row_for(R.ROWS[row], ds)[0].split("+")[0]
        protocol = cfg["protocols"][ds][base]
        assert (protocol["data"], protocol["epochs"], protocol["batch_size"]) == ("train", epochs[ds], 32), (ds, base)
