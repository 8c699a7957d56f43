"""The study's claims (arXiv 2305.08075) tested on our results.

Pure functions over the results frame (`results.results_frame`): one row per
metrics JSON with at least dataset, variant, base, prune, quant, seed, accuracy
(fraction), tflite_bytes and gzip_bytes. Every verdict is computed here from the
numbers by a stated rule; none is written by hand.

Noise: a difference between two variants counts only when it exceeds
    noise = NOISE_SIGMAS * sqrt(se_a^2 + se_b^2)
where se is the standard error of a variant's mean accuracy: the standard
deviation over its runs / sqrt(n) with n >= 2 runs, else the larger of the
binomial standard error sqrt(p (1 - p) / n_test) of one evaluation on n_test
test images and the dataset's measured seed spread (variant_stats).
A difference within the noise is "not shown", never "confirmed".
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from . import controls, matrix
from .tables import table

TEACHER = "teacher+none+float32"   # the uncompressed original every claim compares with

CONFIRMED, REFUTED, NOT_SHOWN, NOT_RUN = "confirmed", "refuted", "not shown", "not run"
VERDICTS = (CONFIRMED, REFUTED, NOT_SHOWN, NOT_RUN)

NOISE_SIGMAS = 2.0          # ~95 % two-sided: differences within 2 standard errors are noise
DEFAULT_N_TEST = 10_000     # MNIST and CIFAR-10 test sets, when the facts do not say

# C1 "compressed models often beat the original": "often" = at least this share of
# the compressed variants is more accurate than its equal-budget control (controls.py)
# beyond noise ...
C1_OFTEN_SHARE = 0.25
# ... refuted when fewer do and at least this share is *less* accurate beyond noise.
C1_REFUTE_WORSE_SHARE = 0.5

# C2 "a teacher assistant improves the student over direct KD": decided on the
# study's own comparison, the unpruned float32 students.
C2_TAKD = "student-takd+none+float32"
C2_KD = "student-kd+none+float32"

# C3 "pruning conv layers beats pruning dense layers": over every base x quant
# pair with both local-conv and local-dense, confirmed (refuted) when conv
# (dense) wins beyond noise in at least this share of the pairs and more often
# than the other way round.
C3_CONV, C3_DENSE = "local-conv", "local-dense"
C3_MAJORITY_SHARE = 0.5

# C4 "8-bit quantization gives ~4x smaller models at ~no accuracy loss": a
# (base, prune, scheme) pair passes when float32 .tflite bytes / 8-bit bytes
# >= C4_MIN_SIZE_RATIO (4x minus graph and scale overhead) and the accuracy loss
# is <= max(C4_MAX_LOSS_PP, noise).
C4_SCHEMES = ("ptq-int8", "qat")
C4_MIN_SIZE_RATIO = 3.5
C4_MAX_LOSS_PP = 0.5
C4_CONFIRM_SHARE = 0.75     # confirmed when at least this share of the pairs passes
C4_REFUTE_SHARE = 0.5       # refuted when fewer than this share passes; between: not shown

# C5 "KD -> pruning -> quantization gives large compression without accuracy
# loss": a chain (distilled student, magnitude pruning, 8-bit) passes when its
# gzip compression vs the teacher is >= C5_MIN_COMPRESSION and its accuracy loss
# vs the teacher is <= max(C5_MAX_LOSS_PP, noise).
C5_BASES = ("student-kd", "student-takd")
C5_PRUNES = ("local-all", "local-conv", "local-dense", "global")  # the magnitude schemes
C5_QUANTS = ("ptq-int8", "qat")
C5_MIN_COMPRESSION = 10.0
C5_MAX_LOSS_PP = 1.0
C5_CONFIRM_SHARE = 0.5      # confirmed when at least this share of the chains passes
C5_REFUTE_SHARE = 0.25      # refuted when fewer than this share passes; between: not shown


@dataclass
class Claim:
    id: str
    statement: str
    rule: str
    verdicts: dict[str, str] = field(default_factory=dict)   # dataset -> verdict
    evidence: dict[str, str] = field(default_factory=dict)   # dataset -> markdown text


# ---- statistics -------------------------------------------------------------

def _listed(values) -> str:
    """The distinct seeds of a variant's runs, e.g. "0 1 2"."""
    return " ".join(str(int(v)) for v in sorted(set(values)))


def variant_stats(frame: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, variant), in the frame's order: means over seeds, the spread
    (std over seeds, NaN with one seed) and comparisons with the teacher's means."""
    cols = ["dataset", "variant", "base", "prune", "cluster", "quant", "n", "seeds", "ft_seeds", "accuracy", "accuracy_std",
            "delta_pp", "delta_pp_std", "tflite_bytes", "gzip_bytes", "compression_ratio", "params",
            "nonzero_params", "sparsity", "macs", "nonzero_macs", "speedup_theoretical", "latency_ms", "latency_ms_std",
            "efficiency", "efficiency_std"]
    if frame.empty:
        return pd.DataFrame(columns=cols)
    f = frame.copy()
    if "ft_seed" not in f:
        f["ft_seed"] = 0
    if "cluster" not in f:
        f["cluster"] = "none"
    for c in ["tflite_bytes", "gzip_bytes", "params", "nonzero_params", "sparsity", "latency_ms",
              "efficiency", "accuracy_delta_pp", "macs", "nonzero_macs", "speedup_theoretical"]:
        if c not in f:
            f[c] = float("nan")
    g = f.groupby(["dataset", "variant"], sort=False)
    s = g.agg(base=("base", "first"), prune=("prune", "first"), cluster=("cluster", "first"), quant=("quant", "first"),
              n=("accuracy", "size"), seeds=("seed", _listed), ft_seeds=("ft_seed", _listed),
              accuracy=("accuracy", "mean"), accuracy_std=("accuracy", "std"),
              delta_pp_std=("accuracy_delta_pp", "std"),
              tflite_bytes=("tflite_bytes", "mean"), gzip_bytes=("gzip_bytes", "mean"),
              params=("params", "mean"), nonzero_params=("nonzero_params", "mean"),
              sparsity=("sparsity", "mean"), macs=("macs", "mean"), nonzero_macs=("nonzero_macs", "mean"),
              speedup_theoretical=("speedup_theoretical", "mean"), latency_ms=("latency_ms", "mean"),
              latency_ms_std=("latency_ms", "std"), efficiency=("efficiency", "mean"),
              efficiency_std=("efficiency", "std")).reset_index()
    # The measured seed spread of the dataset (root mean square of the stds of its
    # variants with several runs): a one-run variant's noise is at least this. The
    # matrix's bases only: a derived base's protocol (a 3-epoch student) may vary more.
    several = s[(s["n"] >= 2) & s["base"].isin(set(matrix.BASES))]
    pooled = several.groupby("dataset")["accuracy_std"].apply(lambda x: math.sqrt(float((x ** 2).mean())))
    s["spread"] = s["dataset"].map(pooled).astype(float)
    teacher = s[s["variant"] == TEACHER].set_index("dataset")
    t_acc = s["dataset"].map(teacher["accuracy"])
    t_gz = s["dataset"].map(teacher["gzip_bytes"])
    s["delta_pp"] = 100.0 * (s["accuracy"] - t_acc)
    s["compression_ratio"] = t_gz / s["gzip_bytes"]
    return s[cols + ["spread"]].reset_index(drop=True)


def standard_error(row, n_test: int) -> float:
    """Standard error (fraction) of a variant's mean accuracy: over its runs when it
    has several, else the larger of one evaluation's binomial error and the dataset's
    measured seed spread (a single run varies with its seed as much as the others did)."""
    n, p = int(row["n"]), float(row["accuracy"])
    if n >= 2 and not math.isnan(float(row["accuracy_std"])):
        return float(row["accuracy_std"]) / math.sqrt(n)
    binomial = math.sqrt(max(p * (1.0 - p), 0.0) / max(int(n_test), 1))
    spread = float(row.get("spread", math.nan))  # a Series or a dict
    return binomial if math.isnan(spread) else max(binomial, spread)


def compare(a, b, n_test: int) -> tuple[float, float, int]:
    """(a - b in pp, noise in pp, sign): sign +1 / -1 when the difference exceeds the noise, else 0."""
    diff = 100.0 * (float(a["accuracy"]) - float(b["accuracy"]))
    noise = 100.0 * NOISE_SIGMAS * math.hypot(standard_error(a, n_test), standard_error(b, n_test))
    sign = 1 if diff > noise else -1 if diff < -noise else 0
    return diff, noise, sign


def fmt_acc(row) -> str:
    """Accuracy in %, with ± std over seeds when there is more than one."""
    text = f"{100.0 * float(row['accuracy']):.2f}"
    if int(row["n"]) >= 2 and not math.isnan(float(row["accuracy_std"])):
        text += f" ± {100.0 * float(row['accuracy_std']):.2f}"
    return text


def _outcome(sign: int, plus: str, minus: str) -> str:
    return plus if sign > 0 else minus if sign < 0 else "within noise"


def _share_verdict(passed: int, total: int, confirm: float, refute: float) -> str:
    if total == 0:
        return NOT_RUN
    share = passed / total
    if share >= confirm:
        return CONFIRMED
    if share < refute:
        return REFUTED
    return NOT_SHOWN


# ---- the claims -------------------------------------------------------------

def _c1(ds: str, st: pd.DataFrame, n_test: int) -> tuple[str, str]:
    by, have = st.set_index("variant", drop=False), set(st["variant"])
    pairs = []
    # A QAT model's integer-only export is the same training as its float-I/O one: counted once.
    for _, r in st[~st["quant"].str.endswith(matrix.INT8_IO)].iterrows():
        ref = controls.pruning_control(r["variant"], have)
        if ref is None and r["prune"] == "none":
            ref = controls.quantization_reference(r["variant"], have)
        if ref is not None and ref.equal_budget:
            pairs.append((r, by.loc[ref.variant], *compare(r, by.loc[ref.variant], n_test)))
    if not pairs:
        return NOT_RUN, (f"No compressed variant with its equal-budget control (`{controls.PRUNE_CONTROL}` "
                         f"pruning, `{controls.QAT_CONTROL}` quantization) in the matrix.")
    total = len(pairs)
    better, worse = sum(p[4] > 0 for p in pairs), sum(p[4] < 0 for p in pairs)
    if better / total >= C1_OFTEN_SHARE:
        verdict = CONFIRMED
    elif worse / total >= C1_REFUTE_WORSE_SHARE:
        verdict = REFUTED
    else:
        verdict = NOT_SHOWN
    top = sorted(pairs, key=lambda p: -p[2])[:5]
    text = (f"Of {total} compressed variants with an equal-budget control, {better} are more accurate than "
            f"their control beyond noise ({100.0 * better / total:.0f} %), {worse} less accurate beyond noise "
            f"and {total - better - worse} within noise. Largest gains over the control:\n\n"
            + table([[f"`{r['variant']}`", fmt_acc(r), f"`{c['variant']}`", fmt_acc(c), f"{d:+.2f}", f"{nz:.2f}"]
                     for r, c, d, nz, _ in top],
                    ["variant", "accuracy %", "control", "control %", "Δ pp vs control", "noise pp"]))
    return verdict, text


def _c2(ds: str, st: pd.DataFrame, n_test: int) -> tuple[str, str]:
    by = st.set_index("variant")
    if C2_TAKD not in by.index or C2_KD not in by.index:
        return NOT_RUN, f"`{C2_TAKD}` or `{C2_KD}` is missing."
    a, b = by.loc[C2_TAKD], by.loc[C2_KD]
    diff, noise, sign = compare(a, b, n_test)
    verdict = {1: CONFIRMED, -1: REFUTED, 0: NOT_SHOWN}[sign]
    # Context: the same comparison for every matched pruning x quantization.
    unclustered = st[st["cluster"] == matrix.NO_CLUSTER] if "cluster" in st else st
    takd = unclustered[unclustered["base"] == "student-takd"].set_index(["prune", "quant"])
    kd = unclustered[unclustered["base"] == "student-kd"].set_index(["prune", "quant"])
    wins = losses = ties = 0
    for key in takd.index:
        if key in kd.index:
            s = compare(takd.loc[key], kd.loc[key], n_test)[2]
            wins, losses, ties = wins + (s > 0), losses + (s < 0), ties + (s == 0)
    text = (table([[f"`{C2_TAKD}`", fmt_acc(a)], [f"`{C2_KD}`", fmt_acc(b)]], ["variant", "accuracy %"])
            + f"\n\nTAKD − KD = {diff:+.2f} pp, noise {noise:.2f} pp: "
            + _outcome(sign, "TA better", "direct KD better") + "."
            + f" Over all {wins + losses + ties} matched pruning × quantization pairs: TAKD better in {wins}, "
              f"KD better in {losses}, within noise in {ties}.")
    return verdict, text


def _c3(ds: str, st: pd.DataFrame, n_test: int) -> tuple[str, str]:
    st = st[st["cluster"] == matrix.NO_CLUSTER] if "cluster" in st else st
    conv = st[st["prune"] == C3_CONV].set_index(["base", "quant"])
    dense = st[st["prune"] == C3_DENSE].set_index(["base", "quant"])
    rows, wins, losses = [], 0, 0
    for key in conv.index:
        if key not in dense.index:
            continue
        a, b = conv.loc[key], dense.loc[key]
        diff, noise, sign = compare(a, b, n_test)
        wins, losses = wins + (sign > 0), losses + (sign < 0)
        rows.append([key[0], key[1], fmt_acc(a), fmt_acc(b), f"{diff:+.2f}", f"{noise:.2f}",
                     f"{float(a['gzip_bytes']) / 1000:.1f}", f"{float(b['gzip_bytes']) / 1000:.1f}",
                     _outcome(sign, "conv better", "dense better")])
    total = len(rows)
    if total == 0:
        return NOT_RUN, f"No base × quantization with both `{C3_CONV}` and `{C3_DENSE}`."
    if wins > losses and wins / total >= C3_MAJORITY_SHARE:
        verdict = CONFIRMED
    elif losses > wins and losses / total >= C3_MAJORITY_SHARE:
        verdict = REFUTED
    else:
        verdict = NOT_SHOWN
    text = (f"{total} pairs: pruning conv layers more accurate beyond noise in {wins}, pruning dense "
            f"layers in {losses}, within noise in {total - wins - losses}.\n\n"
            + table(rows, ["base", "quant", "conv-pruned %", "dense-pruned %", "Δ pp", "noise pp",
                           "conv gzip KB", "dense gzip KB", "outcome"]))
    return verdict, text


def _c4(ds: str, st: pd.DataFrame, n_test: int) -> tuple[str, str]:
    by, have = st.set_index("variant", drop=False), set(st["variant"])
    pairs = []
    for _, r in st[st["quant"].isin(C4_SCHEMES)].iterrows():
        ref = controls.quantization_reference(r["variant"], have)
        if ref is None:
            continue
        f = by.loc[ref.variant]
        ratio = float(f["tflite_bytes"]) / float(r["tflite_bytes"])
        diff, noise, _ = compare(f, r, n_test)       # loss = reference - 8-bit, pp
        ok = ratio >= C4_MIN_SIZE_RATIO and diff <= max(C4_MAX_LOSS_PP, noise)
        pairs.append(dict(variant=r["variant"], scheme=r["quant"], ratio=ratio, loss=diff, noise=noise, ok=ok,
                          equal=ref.equal_budget))
    if not pairs:
        return NOT_RUN, f"No {' / '.join(C4_SCHEMES)} variant with its float32 counterpart."
    unequal = [p for p in pairs if not p["equal"]]
    pairs = [p for p in pairs if p["equal"]]  # the verdict rests on equal-budget pairs only
    if not pairs:
        return NOT_RUN, f"No {' / '.join(C4_SCHEMES)} variant with an equal-budget float32 reference."
    passed = sum(p["ok"] for p in pairs)
    verdict = _share_verdict(passed, len(pairs), C4_CONFIRM_SHARE, C4_REFUTE_SHARE)
    rows = []
    for scheme in C4_SCHEMES:
        ps = [p for p in pairs if p["scheme"] == scheme]
        if ps:
            ratios, losses = [p["ratio"] for p in ps], [p["loss"] for p in ps]
            rows.append([scheme, str(len(ps)), f"{pd.Series(ratios).median():.2f}", f"{min(ratios):.2f}",
                         f"{sum(losses) / len(losses):+.2f}", f"{max(losses):+.2f}",
                         str(sum(p["ok"] for p in ps))])
    text = (f"{passed} of {len(pairs)} equal-budget pairs pass ({100.0 * passed / len(pairs):.0f} %)."
            + (f" Left out: {len(unequal)} QAT pairs without a `{controls.QAT_CONTROL}` control, whose float32 "
               f"export had no QAT epochs ({sum(p['ok'] for p in unequal)} of them would pass)."
               if unequal else "") + "\n\n"
            + table(rows, ["scheme", "pairs", "median size ratio ×", "min size ratio ×",
                           "mean loss pp", "max loss pp", "pass"]))
    failing = [p for p in pairs if not p["ok"]]
    if failing:
        shown = failing[:10]
        text += ("\n\nFailing pairs" + (f" (first {len(shown)} of {len(failing)})" if len(failing) > 10 else "")
                 + ": " + ", ".join(f"`{p['variant']}` ({p['ratio']:.2f}×, {p['loss']:+.2f} pp)" for p in shown)
                 + ".")
    return verdict, text


def _c5(ds: str, st: pd.DataFrame, n_test: int) -> tuple[str, str]:
    by = st.set_index("variant")
    if TEACHER not in by.index:
        return NOT_RUN, f"`{TEACHER}` is missing."
    t = by.loc[TEACHER]
    chains = st[st["base"].isin(C5_BASES) & st["prune"].isin(C5_PRUNES) & st["quant"].isin(C5_QUANTS)]
    if chains.empty:
        return NOT_RUN, "No distilled + magnitude-pruned + 8-bit variant."
    rows, passed = [], 0
    for _, r in chains.iterrows():
        comp = float(t["gzip_bytes"]) / float(r["gzip_bytes"])
        loss, noise, _ = compare(t, r, n_test)
        ok = comp >= C5_MIN_COMPRESSION and loss <= max(C5_MAX_LOSS_PP, noise)
        passed += ok
        rows.append([f"`{r['variant']}`", fmt_acc(r), f"{loss:+.2f}", f"{noise:.2f}", f"{comp:.1f}",
                     "yes" if ok else "no"])
    verdict = _share_verdict(passed, len(rows), C5_CONFIRM_SHARE, C5_REFUTE_SHARE)
    text = (f"Teacher `{TEACHER}`: {fmt_acc(t)} %, {float(t['gzip_bytes']) / 1000:.1f} KB gzip. "
            f"{passed} of {len(rows)} chains pass.\n\n"
            + table(rows, ["chain", "accuracy %", "loss pp vs teacher", "noise pp", "gzip compression ×",
                           "pass"]))
    return verdict, text


CLAIMS = [
    ("C1", "Compressed models often beat the original.",
     f"Each compressed variant is compared with its equal-budget control, the same model trained the same "
     f"epochs without the compression step: pruned `base+P+Q` with `base+{controls.PRUNE_CONTROL}+Q`, QAT "
     f"`base+none+qat` with `base+none+{controls.QAT_CONTROL}`, post-training quantization with the "
     f"model's float32 export (variants without such a control are left out; against the unfine-tuned teacher the extra "
     f"low-learning-rate epochs alone look like a gain). Confirmed when at least {C1_OFTEN_SHARE:.0%} of them "
     f"are more accurate beyond noise; refuted when fewer are and at least {C1_REFUTE_WORSE_SHARE:.0%} are "
     "less accurate beyond noise; otherwise not shown.", _c1),
    ("C2", "A teacher assistant improves the student over direct KD.",
     f"`{C2_TAKD}` vs `{C2_KD}`: confirmed when TAKD is more accurate beyond noise, refuted when KD is, "
     "not shown within noise (matched pruned/quantized pairs are listed for context).", _c2),
    ("C3", "Pruning conv layers beats pruning dense layers.",
     f"`{C3_CONV}` vs `{C3_DENSE}` for the same base and quantization (both 80 % of the targeted "
     f"kernels; conv and dense layers hold different shares of a model's weights, so the sizes differ). Confirmed (refuted) when conv "
     f"(dense) pruning is more accurate beyond noise in at least {C3_MAJORITY_SHARE:.0%} of the pairs and "
     "more often than the reverse; otherwise not shown.", _c3),
    ("C4", "8-bit quantization gives ~4x smaller models at ~no accuracy loss.",
     f"Every {' / '.join(C4_SCHEMES)} variant vs its float32 counterpart (same base and pruning; for QAT "
     f"its `{controls.QAT_CONTROL}` control where the matrix has one, which trained the same epochs). A pair "
     f"passes when the .tflite size ratio is ≥ {C4_MIN_SIZE_RATIO} and the accuracy loss is ≤ "
     f"max({C4_MAX_LOSS_PP} pp, noise). Confirmed when ≥ {C4_CONFIRM_SHARE:.0%} of the pairs pass, "
     f"refuted when < {C4_REFUTE_SHARE:.0%} do, otherwise not shown.", _c4),
    ("C5", "KD → pruning → quantization gives large compression without accuracy loss.",
     f"Chains {' / '.join(C5_BASES)} × magnitude pruning ({', '.join(C5_PRUNES)}) × "
     f"{' / '.join(C5_QUANTS)} vs `{TEACHER}`. A chain passes when its gzip compression is ≥ "
     f"{C5_MIN_COMPRESSION:g}× and its accuracy loss is ≤ max({C5_MAX_LOSS_PP} pp, noise). Confirmed when "
     f"≥ {C5_CONFIRM_SHARE:.0%} of the chains pass, refuted when < {C5_REFUTE_SHARE:.0%} do, otherwise "
     "not shown.", _c5),
]


def baselines(params: dict) -> set[str]:
    """Pruning schemes that are baselines (method random), not techniques the study claims about."""
    schemes = ((params or {}).get("prune") or {}).get("schemes") or {}
    return {n for n, s in schemes.items() if isinstance(s, dict) and s.get("method") == "random"}


def evaluate_claims(frame: pd.DataFrame, n_test: dict[str, int] | None = None, baseline=()) -> list[Claim]:
    """Verdict and evidence per claim and dataset (datasets in the frame's order), over the
    variants without a `baseline` pruning scheme (see baselines)."""
    n_test = n_test or {}
    stats = variant_stats(frame)
    stats = stats[~stats["prune"].isin(set(baseline))].reset_index(drop=True)
    datasets = list(dict.fromkeys(stats["dataset"]))
    out = []
    for cid, statement, rule, fn in CLAIMS:
        claim = Claim(cid, statement, rule)
        for ds in datasets:
            verdict, text = fn(ds, stats[stats["dataset"] == ds], int(n_test.get(ds, DEFAULT_N_TEST)))
            claim.verdicts[ds], claim.evidence[ds] = verdict, text
        out.append(claim)
    return out
