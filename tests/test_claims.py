"""Tests for compressbench.claims: verdicts computed from synthetic results frames."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from compressbench import claims as C
from compressbench import results

PARAMS = {"matrix": {"datasets": ["mnist"], "bases": ["teacher", "student-kd", "student-takd"],
                     "prune": ["none", "finetune", "local-conv", "local-dense"],
                     "quant": ["float32", "ptq-int8", "qat", "float32-ft"]}}
QUANT_SIZE = {"float32": 400_000, "ptq-int8": 100_000, "qat": 104_000, "float32-ft": 400_000}
BASE_SCALE = {"teacher": 1.0, "student-kd": 0.05, "student-takd": 0.05}
PRUNE_GZIP = {"none": 0.9, "finetune": 0.9, "local-conv": 0.7, "local-dense": 0.3}


def records(acc=None, seeds=(0,), tflite=None):
    """Every cell of PARAMS' matrix (QAT's control on unpruned models only, as by default);
    accuracy from acc(base, prune, quant, seed), default 0.98."""
    acc = acc or (lambda b, p, q, s: 0.98)
    out = []
    for s in seeds:
        for b in PARAMS["matrix"]["bases"]:
            for p in PARAMS["matrix"]["prune"]:
                for q in PARAMS["matrix"]["quant"]:
                    if q == "float32-ft" and p != "none":
                        continue
                    size = int((tflite or QUANT_SIZE)[q] * BASE_SCALE[b])
                    gz = int(size * PRUNE_GZIP[p])
                    a = acc(b, p, q, s)
                    out.append({"dataset": "mnist", "seed": s, "variant": f"{b}+{p}+{q}", "base": b,
                                "prune": p, "quant": q, "accuracy": a, "tflite_bytes": size, "gzip_bytes": gz,
                                "latency_ms": 0.1, "efficiency": a / (gz / 1e6), "params": 1000,
                                "nonzero_params": 1000, "sparsity": 0.0, "wall_seconds": 1.0})
    return out


def verdict(recs, cid, n_test=10_000):
    frame = results.results_frame(recs, PARAMS)
    claim = {c.id: c for c in C.evaluate_claims(frame, {"mnist": n_test})}[cid]
    return claim.verdicts["mnist"], claim


def kd_vs_takd(kd, takd):
    return lambda b, p, q, s: {"student-kd": kd, "student-takd": takd}.get(b, 0.98)


def test_c2_confirmed_when_takd_beats_kd_and_refuted_when_swapped():
    assert verdict(records(kd_vs_takd(0.970, 0.980)), "C2")[0] == C.CONFIRMED
    assert verdict(records(kd_vs_takd(0.980, 0.970)), "C2")[0] == C.REFUTED


def test_c2_tiny_difference_is_not_shown():
    # binomial noise at p=0.98, n=10000: 2*sqrt(2)*0.14 pp ~ 0.40 pp > 0.1 pp
    v, claim = verdict(records(kd_vs_takd(0.979, 0.980)), "C2")
    assert v == C.NOT_SHOWN
    assert "noise 0.40 pp" in claim.evidence["mnist"]


def test_c2_binomial_noise_shrinks_with_a_larger_test_set():
    assert verdict(records(kd_vs_takd(0.979, 0.980)), "C2", n_test=10_000_000)[0] == C.CONFIRMED


def test_c2_not_run_without_the_takd_student():
    recs = [r for r in records() if r["base"] != "student-takd"]
    v, claim = verdict(recs, "C2")
    assert v == C.NOT_RUN and "missing" in claim.evidence["mnist"]


def test_multi_seed_uses_the_spread_over_seeds():
    # Mean difference 0.5 pp in both cases; only the spread differs.
    tight = {0: 0.0, 1: 0.0005, 2: -0.0005}
    wide = {0: 0.0, 1: 0.02, 2: -0.02}
    for spread, expected in [(tight, C.CONFIRMED), (wide, C.NOT_SHOWN)]:
        acc = lambda b, p, q, s, sp=spread: {"student-kd": 0.975, "student-takd": 0.980}.get(b, 0.98) + (
            sp[s] if b == "student-takd" else 0.0)
        v, claim = verdict(records(acc, seeds=(0, 1, 2)), "C2")
        assert v == expected
    stats = C.variant_stats(results.results_frame(records(acc, seeds=(0, 1, 2)), PARAMS))
    row = stats.set_index("variant").loc["student-takd+none+float32"]
    assert row["n"] == 3 and row["accuracy"] == pytest.approx(0.98)
    assert row["accuracy_std"] == pytest.approx(0.02)
    assert C.standard_error(row, 10_000) == pytest.approx(0.02 / math.sqrt(3))
    assert "98.00 ± 2.00" in claim.evidence["mnist"]


def conv_vs_dense(conv, dense):
    return lambda b, p, q, s: {"local-conv": conv, "local-dense": dense}.get(p, 0.98)


def test_c3_conv_pruning_beats_dense_pruning_flips():
    assert verdict(records(conv_vs_dense(0.98, 0.96)), "C3")[0] == C.CONFIRMED
    assert verdict(records(conv_vs_dense(0.96, 0.98)), "C3")[0] == C.REFUTED
    assert verdict(records(conv_vs_dense(0.9801, 0.98)), "C3")[0] == C.NOT_SHOWN


def test_c3_counts_matched_pairs():
    v, claim = verdict(records(conv_vs_dense(0.98, 0.96)), "C3")
    # 3 bases x 3 quantizations
    assert claim.evidence["mnist"].startswith("9 pairs: pruning conv layers more accurate beyond noise in 9")


def test_c4_confirmed_for_4x_smaller_and_no_loss():
    assert verdict(records(), "C4")[0] == C.CONFIRMED


def test_c4_refuted_when_8bit_loses_accuracy():
    acc = lambda b, p, q, s: 0.95 if q in ("ptq-int8", "qat") else 0.98
    assert verdict(records(acc), "C4")[0] == C.REFUTED


def test_c4_refuted_when_8bit_is_not_smaller_enough():
    sizes = {"float32": 400_000, "ptq-int8": 200_000, "qat": 200_000, "float32-ft": 400_000}
    v, claim = verdict(records(tflite=sizes), "C4")
    assert v == C.REFUTED
    assert "2.00" in claim.evidence["mnist"]


def test_c4_small_loss_within_tolerance_passes():
    acc = lambda b, p, q, s: 0.976 if q in ("ptq-int8", "qat") else 0.98   # 0.4 pp <= 0.5 pp
    assert verdict(records(acc), "C4")[0] == C.CONFIRMED


def test_c5_chain_compression_and_loss():
    # extend the matrix with magnitude pruning? local-conv/local-dense are magnitude schemes in C5_PRUNES
    good = verdict(records(), "C5")
    assert good[0] == C.CONFIRMED      # student 0.05 x size, pruned, 8-bit: >= 10x and no loss
    bad = verdict(records(lambda b, p, q, s: 0.95 if b.startswith("student") else 0.98), "C5")
    assert bad[0] == C.REFUTED
    assert "0 of 8 chains pass" in bad[1].evidence["mnist"]


def compressed(b, p, q):
    return p in ("local-conv", "local-dense") or (p == "none" and q == "qat")


def test_c1_compares_each_compressed_variant_with_its_equal_budget_control_and_flips():
    better = lambda b, p, q, s: 0.99 if compressed(b, p, q) else 0.98
    worse = lambda b, p, q, s: 0.95 if compressed(b, p, q) else 0.98
    assert verdict(records(better), "C1")[0] == C.CONFIRMED
    assert verdict(records(worse), "C1")[0] == C.REFUTED
    assert verdict(records(), "C1")[0] == C.NOT_SHOWN
    # Beating the unfine-tuned teacher is not beating the original: the controls gain as much.
    tuned = lambda b, p, q, s: 0.98 if p == "none" and q in ("float32", "ptq-int8") else 0.99
    v, claim = verdict(records(tuned), "C1")
    assert v == C.NOT_SHOWN and ", 0 are more accurate than their control" in claim.evidence["mnist"]


def test_c1_not_run_without_controls():
    # QAT against its float32 export is not equal-budget; PTQ against it would be.
    recs = [r for r in records() if r["prune"] != "finetune" and r["quant"] not in ("float32-ft", "ptq-int8")]
    assert verdict(recs, "C1")[0] == C.NOT_RUN


def test_c4_compares_qat_with_its_float32_ft_control_where_there_is_one():
    # QAT's extra epochs help: against the float32 export the QAT cells would look lossless
    # even if quantization cost accuracy; against the control the loss shows.
    acc = lambda b, p, q, s: {"qat": 0.975, "float32-ft": 0.99}.get(q, 0.98)
    v, claim = verdict(records(acc), "C4")
    text = claim.evidence["mnist"]
    assert "Left out: 9 QAT pairs without a `float32-ft` control" in text  # the fine-tuned and pruned ones
    rows = [l for l in text.splitlines() if l.startswith("| qat")]
    assert rows and "+1.50" in rows[0]  # max loss: 0.99 - 0.975 on the unpruned cells


def test_claims_not_run_without_the_variants():
    recs = [r for r in records() if r["base"] == "teacher" and r["prune"] == "none"]
    frame = results.results_frame(recs, PARAMS)
    verdicts = {c.id: c.verdicts["mnist"] for c in C.evaluate_claims(frame, {"mnist": 10_000})}
    assert verdicts["C2"] == verdicts["C3"] == verdicts["C5"] == C.NOT_RUN
    assert set(verdicts.values()) <= set(C.VERDICTS)


def _with(recs, extra):
    """recs plus copies of some of its rows under other names (variant, and its parts)."""
    out = list(recs)
    for src, name, acc in extra:
        row = dict(next(r for r in recs if r["variant"] == src))
        parts = name.split("+")
        row.update(variant=name, base=parts[0], prune=parts[1], quant=parts[-1], accuracy=acc,
                   cluster=parts[2] if len(parts) == 4 else "none")
        out.append(row)
    return out


def test_clustered_and_integer_only_cells_neither_break_nor_double_count_the_claims():
    recs = _with(records(lambda b, p, q, s: 0.99 if (p, q) == ("finetune", "qat") else 0.98), [
        ("student-kd+none+float32", "student-kd+none+cluster-16+float32", 0.90),   # same (prune, quant) as KD
        ("student-kd+local-conv+float32", "student-kd+local-conv+cluster-16+float32", 0.90),
        ("teacher+finetune+qat", "teacher+finetune+qat-int8io", 0.99)])
    frame = results.results_frame(recs, PARAMS)
    claims = {c.id: c for c in C.evaluate_claims(frame)}
    assert claims["C2"].verdicts["mnist"] == C.NOT_SHOWN        # the clustered KD row is no KD row
    # C1: the integer-only twin of a QAT cell is no second pair, a clustered cell no pair at all
    plain = {c.id: c for c in C.evaluate_claims(results.results_frame(
        records(lambda b, p, q, s: 0.99 if (p, q) == ("finetune", "qat") else 0.98), PARAMS))}
    count = plain["C1"].evidence["mnist"].split(" compressed variants")[0]
    assert claims["C1"].evidence["mnist"].startswith(count + " compressed variants") and count.startswith("Of ")


def test_random_pruning_is_a_baseline_left_out_of_the_claims():
    recs = _with(records(), [("student-kd+local-conv+float32", "student-kd+random-s0.9+float32", 0.10)])
    frame = results.results_frame(recs, PARAMS)
    params = {"prune": {"schemes": {"random-s0.9": {"method": "random"}, "local-conv": {"method": "magnitude"}}}}
    assert C.baselines(params) == {"random-s0.9"}
    with_random = {c.id: c for c in C.evaluate_claims(frame)}["C1"].evidence["mnist"]
    without = {c.id: c for c in C.evaluate_claims(frame, None, C.baselines(params))}["C1"].evidence["mnist"]
    assert with_random != without and "random-s0.9" not in without


def test_the_pooled_seed_spread_is_of_the_matrix_bases_not_of_derived_protocols():
    rows = [("student-kd+none+float32", "student-kd", s, a) for s, a in enumerate((0.70, 0.71, 0.72))]
    rows += [("kd-quant+none+float32", "kd-quant", s, a) for s, a in enumerate((0.60, 0.65, 0.70))]  # 3 epochs
    rows += [("teacher+none+float32", "teacher", 0, 0.75)]
    frame = pd.DataFrame([{"dataset": "cifar10", "variant": v, "base": b, "prune": "none", "quant": "float32",
                           "seed": s, "accuracy": a} for v, b, s, a in rows])
    stats = C.variant_stats(frame).set_index("variant")
    assert stats.loc["teacher+none+float32", "spread"] == pytest.approx(0.01)  # student-kd's std alone
    assert stats.loc["kd-quant+none+float32", "accuracy_std"] == pytest.approx(0.05)
