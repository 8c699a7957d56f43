"""What compression forgets (forgetting.py) and recipes chosen on validation accuracy
(selection.py, results.py), on tiny arrays."""
import math

import numpy as np
import pandas as pd
import pytest

from compressbench import evaluate, forgetting, results, selection

Y = np.array([0, 0, 1, 1, 2, 2, 2, 2])


def run(pred):
    pred = np.array(pred, dtype=np.uint8)
    return {"test": pred, "test_class_accuracy": evaluate.class_accuracy(pred, Y)}


def test_agreement_and_the_largest_per_class_drop_on_tiny_arrays(cfg):
    base = run([0, 0, 1, 1, 2, 2, 2, 2])          # all right
    same_acc = run([0, 0, 2, 2, 2, 2, 2, 2])      # class 1 lost: 75 % overall
    labels = {("mnist", 0, 0, "ta+none+float32"): base, ("mnist", 0, 0, "ta+global+float32"): same_acc,
              ("mnist", 1, 0, "ta+global+float32"): run([0, 0, 1, 1, 2, 2, 2, 2])}  # seed 1 has no reference
    f = forgetting.forgetting(cfg, labels).set_index("variant")
    assert list(f.index) == ["ta+global+float32"]                  # the uncompressed model has no row
    row = f.loc["ta+global+float32"]
    assert row["agreement"] == pytest.approx(0.75)
    assert (row["worst_class"], row["worst_class_drop_pp"]) == (1, pytest.approx(100.0))
    assert forgetting.loses_class(row, -25.0)                       # 100 pp on a class vs 25 pp overall
    assert not forgetting.loses_class(pd.Series({"worst_class_drop_pp": 3.0}), 0.0)
    assert forgetting.agreement(np.array([1, 2]), np.array([1, 2])) == 1.0


def test_per_class_drops_average_over_runs_before_the_largest_is_taken(cfg):
    ref = run([0, 0, 1, 1, 2, 2, 2, 2])
    labels = {("mnist", s, 0, "ta+none+float32"): ref for s in (0, 1)}
    labels[("mnist", 0, 0, "ta+global+float32")] = run([1, 0, 1, 1, 2, 2, 2, 2])   # class 0 −50 pp
    labels[("mnist", 1, 0, "ta+global+float32")] = run([0, 0, 1, 2, 2, 2, 2, 2])   # class 1 −50 pp
    row = forgetting.forgetting(cfg, labels).iloc[0]
    assert row["worst_class_drop_pp"] == pytest.approx(25.0) and row["agreement"] == pytest.approx(7 / 8)
    assert forgetting.largest_drop(np.array([math.nan, math.nan])) == (-1, pytest.approx(math.nan, nan_ok=True))


def _st(rows):
    return pd.DataFrame([{"dataset": "mnist", "variant": v, "accuracy": a, "val_accuracy": va, "gzip_bytes": g,
                          "efficiency": a / (g / 1e6)} for v, a, va, g in rows])


def test_recipes_are_chosen_on_validation_accuracy_only_and_reported_with_test_accuracy():
    st = _st([("teacher+none+float32", 0.90, 0.90, 1000),
              # best on the test set but worse on validation: never chosen
              ("a+none+float32", 0.99, 0.80, 500),
              ("b+none+float32", 0.85, 0.895, 100)])
    by = selection.selected_by(st)
    assert by == "val_accuracy"
    assert results.smallest_within(st, 1.0, by)["variant"] == "b+none+float32"      # 0.5 pp below on validation
    assert results.smallest_within(st, 1.0)["variant"] == "a+none+float32"           # on test it would be a
    assert results.pareto(st, by).tolist() == [True, False, True]
    summary = results.summary(st.assign(n=1, compression_ratio=1.0), st.assign(seed=0))["mnist"]
    assert summary["chosen_on"] == "val_accuracy" and summary["best_accuracy_variant"] == "teacher+none+float32"
    assert summary["smallest_within_1pp_accuracy"] == pytest.approx(0.85)          # reported: test accuracy
    # results evaluated before validation accuracy existed are chosen on test, and say so
    assert selection.selected_by(st.assign(val_accuracy=float("nan"))) == "accuracy"


def test_validation_accuracy_is_not_unseen_where_the_model_or_its_teacher_trained_on_it():
    from compressbench import params
    raw = params.load_yaml(params.ROOT / "params.yaml")
    raw["derived"] |= {"kd-held-out": {"like": "student-kd-st", "train": {"data": "train"}},   # its teacher saw val
                       "teacher-val": {"like": "teacher-st", "train": {"data": "train"}},
                       "kd-val": {"like": "student-kd-st", "teacher": "teacher-val", "train": {"data": "train"}}}
    cfg = params.resolve(raw, files=())
    assert not selection.val_seen(cfg, "cifar10", "teacher")             # the converged protocol: train only
    assert not selection.val_seen(cfg, "cifar10", "student-kd")          # and so did its teacher
    assert selection.val_seen(cfg, "cifar10", "teacher-st")              # the study's: train+val
    assert not selection.val_seen(cfg, "cifar10", "teacher-val")         # data: train
    assert not selection.val_seen(cfg, "cifar10", "kd-val")              # and so did its teacher
    assert selection.val_seen(cfg, "cifar10", "kd-held-out")             # its teacher did not
    assert selection.val_seen(cfg, "mnist", "student-kd-quant")          # train+val itself


def test_a_target_compression_takes_the_recipe_best_on_validation_among_those_small_enough():
    st = pd.DataFrame({"variant": ["t", "a", "b", "c"], "compression_ratio": [1.0, 4.5, 11.0, 12.0],
                       "accuracy": [0.9, 0.95, 0.80, 0.70], "val_accuracy": [0.9, 0.85, 0.80, 0.82]})
    chosen = {t: (r["variant"] if r is not None else None) for t, r in selection.at_targets(st)}
    # at 10x: c (0.82 on validation) beats b (0.80) though b is the more accurate on test
    assert chosen == {4.0: "a", 10.0: "c", 30.0: None, 100.0: None}
