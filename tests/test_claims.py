"""Tests for compressbench.claims: verdicts computed from tiny synthetic results frames.

Three training seeds whose shared offset (SEED_SHIFT) moves every variant of a seed
alike: the paired comparisons see through it, the unpaired ones do not."""
from __future__ import annotations

import copy

import pandas as pd
import pytest

from compressbench import claims as C
from compressbench import params, results, sweeps
from compressbench import protocol_frames as PF

BASES = ["teacher", "student-kd", "student-takd"]
PRUNES = ["none", "finetune", "local-conv", "local-dense"]
QUANTS = ["float32", "ptq-int8", "qat", "float32-ft"]
QUANT_SIZE = {"float32": 400_000, "ptq-int8": 100_000, "qat": 104_000, "float32-ft": 400_000}
BASE_SCALE = {"teacher": 1.0, "student-kd": 0.05, "student-takd": 0.05}
PRUNE_GZIP = {"none": 0.9, "finetune": 0.9, "local-conv": 0.7, "local-dense": 0.3}
SHARE = {"none": 0.0, "finetune": 0.0, "local-conv": 0.605, "local-dense": 0.194}  # weights removed
SEED_SHIFT = {0: 0.0, 1: 0.004, 2: -0.004}


@pytest.fixture(scope="module")
def cfg():
    c = params.load(params.ROOT / "params.yaml")
    c["matrix"] = {**c["matrix"], "datasets": ["mnist"], "bases": BASES, "prune": PRUNES, "quant": QUANTS}
    c["claims"] = {k: v for k, v in c["claims"].items() if k != "protocols"}  # one protocol: keys are datasets
    return c


# A per-variant wobble across seeds (jitter · (seed − 1) · weight), so that paired differences vary.
Q_WOBBLE = {"float32": 0.0, "ptq-int8": 1.0, "qat": -1.0, "float32-ft": 0.5}
P_WOBBLE = {"none": 0.0, "finetune": 0.3, "local-conv": 1.0, "local-dense": -1.0}


def records(acc=None, seeds=(0, 1, 2), tflite=None, share=None, jitter=0.0, shift=1.0):
    """Every cell of the small matrix (QAT's control on unpruned models only, as by default);
    accuracy acc(base, prune, quant) + shift · the seed's shift + the variant's wobble, default 0.98."""
    acc = acc or (lambda b, p, q: 0.98)
    out = []
    for s in seeds:
        for b in BASES:
            for p in PRUNES:
                for q in QUANTS:
                    if q == "float32-ft" and p != "none":
                        continue
                    size = int((tflite or QUANT_SIZE)[q] * BASE_SCALE[b])
                    gz = int(size * PRUNE_GZIP[p])
                    wobble = jitter * (s - 1) * (Q_WOBBLE[q] + P_WOBBLE[p])
                    a = acc(b, p, q) + shift * SEED_SHIFT[s] + wobble
                    out.append({"dataset": "mnist", "seed": s, "ft_seed": 0, "variant": f"{b}+{p}+{q}", "base": b,
                                "prune": p, "quant": q, "accuracy": a, "tflite_bytes": size, "gzip_bytes": gz,
                                "params": 1000, "nonzero_params": 1000, "sparsity": (share or SHARE)[p]})
    return out


def claim(cfg, recs, cid, n_test=10_000) -> C.Claim:
    frame = results.results_frame(recs, cfg)
    return {c.id: c for c in C.evaluate_claims(frame, cfg, {"mnist": n_test})}[cid]


def verdict(cfg, recs, cid):
    return claim(cfg, recs, cid).verdicts["mnist"]


def kd_vs_takd(kd, takd):
    return lambda b, p, q: {"student-kd": kd, "student-takd": takd}.get(b, 0.98)


def test_c2_compares_independently_trained_students_by_welch_and_flips(cfg):
    assert verdict(cfg, records(kd_vs_takd(0.970, 0.980)), "C2") == C.CONFIRMED
    assert verdict(cfg, records(kd_vs_takd(0.980, 0.970)), "C2") == C.REFUTED
    # a 0.3 pp gap is beyond the test set's binomial noise but not beyond the seeds' spread (0.4 pp)
    c = claim(cfg, records(kd_vs_takd(0.977, 0.980)), "C2")
    assert c.verdicts["mnist"] == C.NOT_SHOWN and "unpaired (Welch)" in c.evidence["mnist"]
    assert c.rows["mnist"][0].estimate.df == pytest.approx(4.0)    # 2 + 2 degrees of freedom, equal spreads


def test_c1_pairs_a_pruned_model_with_its_control_across_seeds_and_flips(cfg):
    # 0.3 pp better than the control on every seed: paired, the seeds' shared 0.4 pp shift cancels
    better = lambda b, p, q: 0.983 if p in ("local-conv", "local-dense") else 0.98
    c = claim(cfg, records(better, jitter=0.0001), "C1")
    assert c.verdicts["mnist"] == C.CONFIRMED and "paired" in c.evidence["mnist"]
    worse = lambda b, p, q: 0.977 if p in ("local-conv", "local-dense") or q in ("ptq-int8", "qat") else 0.98
    assert verdict(cfg, records(worse, jitter=0.0001), "C1") == C.REFUTED
    assert verdict(cfg, records(jitter=0.0001), "C1") == C.NOT_SHOWN


def test_exports_of_one_trained_model_are_one_row_of_a_claim(cfg):
    c = claim(cfg, records(jitter=0.0001), "C1")
    rows = c.rows["mnist"]
    # per base: local-conv and local-dense (float32 represents their int8 exports; QAT is its own
    # training), the unpruned post-training exports once, and unpruned QAT against float32-ft
    keys = [r.variant for r in rows]
    assert len(keys) == len(set(keys))
    assert "teacher+local-conv+float32" in keys and "teacher+local-conv+ptq-int8" not in keys
    assert "teacher+none+ptq-int8" in keys and "teacher+local-conv+qat" in keys
    # per base: conv, dense, their QATs (against the fine-tuned control's QAT), the unpruned model's
    # PTQ, its QAT (against float32-ft) and the fine-tuned control's PTQ (its own trained model)
    assert len(rows) == 3 * 7
    assert c.evidence["mnist"].startswith(f"Of {len(rows)} compressed models")


def test_c3_compares_conv_and_dense_pruning_only_at_equal_share_of_weights_removed(cfg):
    conv_better = lambda b, p, q: {"local-conv": 0.98, "local-dense": 0.975}.get(p, 0.98)
    unequal = claim(cfg, records(conv_better, jitter=0.0001), "C3")
    assert unequal.verdicts["mnist"] == C.NOT_RUN and "60.5 %" in unequal.evidence["mnist"]
    equal = {**SHARE, "local-conv": 0.40, "local-dense": 0.42}
    assert verdict(cfg, records(conv_better, share=equal, jitter=0.0001), "C3") == C.CONFIRMED
    dense_better = lambda b, p, q: {"local-conv": 0.975, "local-dense": 0.98}.get(p, 0.98)
    assert verdict(cfg, records(dense_better, share=equal, jitter=0.0001), "C3") == C.REFUTED
    tight = copy.deepcopy(cfg)
    tight["claims"]["c3_share_tolerance"] = 0.01                 # 2 points apart is then unequal
    assert verdict(tight, records(conv_better, share=equal, jitter=0.0001), "C3") == C.NOT_RUN


def test_c3_selects_the_schemes_by_the_layers_they_prune_not_by_name(cfg):
    renamed = copy.deepcopy(cfg)
    s = renamed["prune"]["schemes"]
    s["convs-only"], s["dense-only"] = s.pop("local-conv"), s.pop("local-dense")
    names = {"local-conv": "convs-only", "local-dense": "dense-only"}
    equal = {**SHARE, "local-conv": 0.40, "local-dense": 0.40}
    recs = records(lambda b, p, q: {"local-conv": 0.98, "local-dense": 0.975}.get(p, 0.98), share=equal,
                   jitter=0.0001)
    for r in recs:
        r["prune"] = names.get(r["prune"], r["prune"])
        r["variant"] = f"{r['base']}+{r['prune']}+{r['quant']}"
    assert verdict(renamed, recs, "C3") == C.CONFIRMED


def test_c4_no_loss_is_decided_by_equivalence_never_by_the_noise(cfg):
    # 0.1 pp loss with a tight spread: equivalent within 0.5 pp
    small = lambda b, p, q: 0.979 if q in ("ptq-int8", "qat") else 0.98
    assert verdict(cfg, records(small, jitter=0.0002), "C4") == C.CONFIRMED
    # the same loss with a wide spread: equivalence not shown (max(margin, noise) would have passed it),
    # nor a loss beyond the margin: inconclusive, never confirmed, never refuted
    wide = claim(cfg, records(small, jitter=0.01), "C4")
    assert wide.verdicts["mnist"] == C.NOT_SHOWN and "by equivalence" in wide.evidence["mnist"]
    assert {r.extra["outcome"] for r in wide.rows["mnist"]} == {"not shown"}
    # a 0.6 pp loss, however tight, is shown outside the 0.5 pp margin ...
    lossy = lambda b, p, q: 0.974 if q in ("ptq-int8", "qat") else 0.98
    assert verdict(cfg, records(lossy, jitter=0.0002), "C4") == C.REFUTED
    # ... and inside a 1 pp one: the margin is the params' (claims.c4_margin_pp)
    wider = copy.deepcopy(cfg)
    wider["claims"]["c4_margin_pp"] = 1.0
    assert verdict(wider, records(lossy, jitter=0.0002), "C4") == C.CONFIRMED


def test_c4_fails_a_pair_that_is_not_smaller_enough(cfg):
    sizes = {"float32": 400_000, "ptq-int8": 200_000, "qat": 200_000, "float32-ft": 400_000}
    c = claim(cfg, records(tflite=sizes, jitter=0.0002), "C4")
    assert c.verdicts["mnist"] == C.REFUTED and "| 2.00 " in c.evidence["mnist"]


def test_c5_chains_pass_by_compression_and_equivalence_with_the_teacher(cfg):
    good = claim(cfg, records(jitter=0.0002, shift=0.25), "C5")
    assert good.verdicts["mnist"] == C.CONFIRMED and "Welch" in good.evidence["mnist"]
    bad = claim(cfg, records(lambda b, p, q: 0.95 if b.startswith("student") else 0.98, jitter=0.0002, shift=0.25),
                "C5")
    assert bad.verdicts["mnist"] == C.REFUTED
    n = len(bad.rows["mnist"])     # 2 students x 2 magnitude schemes x (int8 export, QAT)
    assert n == 8 and f"0 of {n} chains" in bad.evidence["mnist"]


def test_adjusted_p_values_are_never_below_the_raw_ones(cfg):
    c = claim(cfg, records(lambda b, p, q: 0.981 if p == "local-conv" else 0.98, jitter=0.0003), "C1")
    assert all(r.p_adjusted >= r.p - 1e-12 for r in c.rows["mnist"])
    assert any(r.p_adjusted > r.p for r in c.rows["mnist"])


def test_one_seed_without_any_spread_falls_back_to_the_binomial_error_and_says_so(cfg):
    c = claim(cfg, records(kd_vs_takd(0.970, 0.980), seeds=(0,)), "C2")
    assert c.verdicts["mnist"] == C.CONFIRMED and "binomial only" in c.evidence["mnist"]


def test_claims_not_run_without_the_variants(cfg):
    recs = [r for r in records() if r["base"] == "teacher" and r["prune"] == "none"]
    frame = results.results_frame(recs, cfg)
    verdicts = {c.id: c.verdicts["mnist"] for c in C.evaluate_claims(frame, cfg, {"mnist": 10_000})}
    assert verdicts["C2"] == verdicts["C3"] == verdicts["C5"] == C.NOT_RUN
    assert set(verdicts.values()) <= set(C.VERDICTS)


def test_random_pruning_is_a_baseline_left_out_of_the_claims(cfg):
    swept = params.load_yaml(params.ROOT / "params.yaml")["prune"]["schemes"]["random-s"]["sparsity"]
    assert PF.baselines(cfg) == {sweeps.sweep_name("random-s", v) for v in swept}  # random-s0.5, ...
    recs = records(jitter=0.0001)
    extra = [dict(r, prune="random-s0.5", variant=r["variant"].replace("+local-conv+", "+random-s0.5+"), accuracy=0.1)
             for r in recs if r["prune"] == "local-conv"]
    rows = claim(cfg, recs + extra, "C1").rows["mnist"]
    assert rows and not any("random" in r.variant for r in rows)


def test_the_variant_stats_carry_the_validation_accuracy_mean(cfg):
    recs = [dict(r, val_accuracy=0.9 + 0.01 * r["seed"]) for r in records()]
    stats = C.variant_stats(results.results_frame(recs, cfg)).set_index("variant")
    assert stats.loc["teacher+none+float32", "val_accuracy"] == pytest.approx(0.91)
    assert isinstance(stats, pd.DataFrame)


def test_each_claim_lists_the_cells_it_reads(cfg):
    c = claim(cfg, records(jitter=0.0002, shift=0.25), "C5")
    cells = c.cells("mnist")
    assert "teacher+none+float32" in cells and "student-kd+local-conv+ptq-int8" in cells
    assert not any(v.startswith("student-scratch") for v in cells) and cells == sorted(cells)


def test_the_claims_run_once_per_protocol_side_by_side(cfg):
    two = copy.deepcopy(cfg)
    two["claims"]["protocols"] = {"ours": {}, "study": {"student-takd": "takd-study"}}
    recs = records(kd_vs_takd(0.970, 0.980))
    # the study protocol's TA student: worse than KD
    recs += [dict(r, base="takd-study", variant=r["variant"].replace("student-takd", "takd-study"),
                  accuracy=r["accuracy"] - 0.02) for r in recs if r["base"] == "student-takd"]
    frame = results.results_frame(recs, two)
    c2 = {c.id: c for c in C.evaluate_claims(frame, two, {"mnist": 10_000})}["C2"]
    assert c2.verdicts == {"mnist · ours": C.CONFIRMED, "mnist · study": C.REFUTED}
    assert "`student-takd+none+float32`" in c2.evidence["mnist · study"]   # under the claims' base name
    summary = results.summary(C.variant_stats(frame), frame, [c2])["mnist"]
    assert (summary["claim_C2_ours"], summary["claim_C2_study"]) == (C.CONFIRMED, C.REFUTED)


def test_each_protocol_reads_its_own_models_only_never_the_others_or_the_reproductions():
    cfg = params.load(params.ROOT / "params.yaml")   # converged matrix, study twins, reproduction bases
    mapping = cfg["claims"]["protocols"]["study"]
    bases = ["student-kd", "student-kd-st", "kd-study-t2", "teacher", "teacher-st", "mobilenet-kd"]
    frame = pd.DataFrame({"dataset": "cifar10", "base": bases, "variant": [f"{b}+none+float32" for b in bases]})
    converged = PF.as_protocol(frame, {}, cfg)
    assert list(converged["base"]) == ["student-kd", "teacher", "mobilenet-kd"]   # the matrix's family
    study = PF.as_protocol(frame, mapping, cfg)
    assert list(study["variant"]) == ["student-kd+none+float32", "teacher+none+float32"]   # the twins, as roles
    # and the twins' runs find their own (the study's) protocol under the role's name
    renamed = PF.as_protocol_params(cfg, mapping)["protocols"]["cifar10"]
    assert renamed["student-kd"]["family"] == cfg["train"]["name"] != cfg["protocols"]["cifar10"]["student-kd"]["family"]
