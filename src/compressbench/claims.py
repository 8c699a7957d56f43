"""The study's claims (arXiv 2305.08075) tested on our results.

Pure functions over the results frame (`results.results_frame`, one row per
.tflite) and the resolved params. Every verdict is computed here from the numbers
by a stated rule; none is written by hand. Each claim is a set of rows, one per
independently trained model (its float32, dynamic-range, float16 and int8 exports
are one row: evidence.one_per_model); each row is an effect estimate with its 95 %
confidence interval (stats.py): paired where the two variants share base models
(the variance of the difference across fine-tune seeds), Welch where they do not
(training-seed variances, a one-seed side borrowing its protocol family's pool);
a row with no spread at all falls back to the binomial error of one test-set
evaluation. p-values are adjusted across the rows of a claim (params
`claims.correction`). "No loss" claims (C4, C5) are equivalence tests (TOST)
within margins fixed in params `claims`. Variants are chosen by their methods'
traits (catalog.methods), never by a scheme's name.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import pandas as pd

from . import controls, matrix
from . import protocol_frames as PF
from . import evidence as E
from . import stats as S
from .tables import table
# Re-exported: the per-variant statistics the other report modules read as claims.*.
from .variants import (DEFAULT_N_TEST, NOISE_SIGMAS, TEACHER, compare, fmt_acc, standard_error,  # noqa: F401
                       variant_stats)

CONFIRMED, REFUTED, NOT_SHOWN, NOT_RUN = "confirmed", "refuted", "not shown", "not run"
VERDICTS = (CONFIRMED, REFUTED, NOT_SHOWN, NOT_RUN)

# For results whose params predate the `claims` section (compare.py reads old revisions).
SETTINGS = {"alpha": 0.05, "correction": S.HOLM, "c3_share_tolerance": 0.05, "c4_margin_pp": 0.5,
            "c5_margin_pp": 1.0}

# C1 "compressed models often beat the original": "often" = at least this share of the
# compressed models is more accurate than its equal-budget control beyond noise (adjusted) ...
C1_OFTEN_SHARE = 0.25
# ... refuted when fewer do and at least this share is *less* accurate.
C1_REFUTE_WORSE_SHARE = 0.5
# C2 "a teacher assistant improves the student over direct KD": the study's comparison.
C2_TAKD, C2_KD = "student-takd", "student-kd"
# C3: confirmed (refuted) when conv (dense) wins in at least this share of the pairs.
C3_MAJORITY_SHARE = 0.5
# C4 "8-bit quantization gives ~4x smaller models at ~no accuracy loss": size ratio floor
# (4x minus graph and scale overhead); shares of passing rows to confirm / below which to refute.
C4_MIN_SIZE_RATIO, C4_CONFIRM_SHARE, C4_REFUTE_SHARE = 3.5, 0.75, 0.5
# C5 "KD -> pruning -> quantization gives large compression without accuracy loss".
C5_BASES = ("student-kd", "student-takd")
C5_MIN_COMPRESSION, C5_CONFIRM_SHARE, C5_REFUTE_SHARE = 10.0, 0.5, 0.25


@dataclass
class Claim:
    id: str
    statement: str
    rule: str
    verdicts: dict[str, str] = field(default_factory=dict)   # dataset -> verdict
    evidence: dict[str, str] = field(default_factory=dict)   # dataset -> markdown text
    rows: dict[str, list] = field(default_factory=dict)      # dataset -> its Findings

    def cells(self, dataset: str) -> list[str]:
        """The variants this claim's rows read on `dataset`, sorted."""
        return sorted({v for r in self.rows.get(dataset, []) for v in (r.variant, r.other)})


@dataclass
class Finding:
    """One row of a claim: an effect (pp) between two variants and what it implies."""
    variant: str
    other: str
    estimate: S.Estimate
    p: float                 # two-sided p of no difference, or the TOST p of equivalence
    p_adjusted: float = math.nan
    extra: dict = field(default_factory=dict)

    def ci(self) -> tuple[float, float]:
        return self.estimate.ci()


@dataclass
class Context:
    runs: E.Runs
    stats: pd.DataFrame      # one dataset's variant_stats
    cfg: dict
    n_test: int
    pools: dict

    @property
    def settings(self) -> dict:
        return SETTINGS | (self.cfg.get("claims") or {})

    @functools.cached_property
    def _by_variant(self) -> pd.DataFrame:
        return self.stats.set_index("variant")

    def row(self, variant: str):
        return self._by_variant.loc[variant]

    @property
    def dataset(self) -> str:
        return str(self.stats["dataset"].iloc[0])


# ---- rows -------------------------------------------------------------------

def contrast(ctx: Context, a: str, b: str, fallback: S.Spread = S.NO_SPREAD) -> S.Estimate:
    """a − b in pp (evidence.contrast); with no spread anywhere, the binomial error of
    one evaluation of each on the test set (df infinite), said in `how`."""
    e = E.contrast(ctx.runs, ctx.cfg, ctx.dataset, a, b, fallback, ctx.pools)
    if e.defined:
        return e
    pa, pb = float(ctx.row(a)["accuracy"]), float(ctx.row(b)["accuracy"])
    se = 100.0 * math.sqrt((pa * (1 - pa) + pb * (1 - pb)) / max(ctx.n_test, 1))
    return S.Estimate(100.0 * (pa - pb), se, math.inf, "binomial only (one run, no spread)")


def adjusted(ctx: Context, rows: list[Finding]) -> list[Finding]:
    for r, p in zip(rows, S.adjust([r.p for r in rows], ctx.settings["correction"])):
        r.p_adjusted = p
    return rows


def sign(ctx: Context, r: Finding) -> int:
    """+1 / -1 where the difference is beyond noise after the claim's correction, else 0."""
    if math.isnan(r.p_adjusted) or r.p_adjusted >= ctx.settings["alpha"]:
        return 0
    return 1 if r.estimate.estimate > 0 else -1


def differences(ctx: Context, pairs: list[tuple[str, str]]) -> list[Finding]:
    """a − b for each pair, the paired ones borrowing the pooled spread of the others."""
    pool = E.paired_spread(ctx.runs, ctx.dataset, pairs)
    rows = []
    for a, b in pairs:
        e = contrast(ctx, a, b, pool)
        rows.append(Finding(a, b, e, e.p_value()))
    return adjusted(ctx, rows)


def equivalences(ctx: Context, pairs: list[tuple[str, str]], margin: float) -> list[Finding]:
    """a − b for each pair with the TOST p of |a − b| < margin."""
    rows = differences(ctx, pairs)
    for r in rows:
        r.p = S.tost(r.estimate, margin)
    return adjusted(ctx, rows)


def fmt_ci(r: Finding) -> str:
    lo, hi = r.ci()
    return "—" if math.isnan(lo) else f"[{lo:+.2f}, {hi:+.2f}]"


def fmt_p(p: float) -> str:
    return "—" if math.isnan(p) else f"{p:.3f}"


def _cells(r: Finding) -> list[str]:
    return [f"{r.estimate.estimate:+.2f}", fmt_ci(r), r.estimate.how, fmt_p(r.p_adjusted)]


def _share_verdict(passed: int, failed: int, total: int, confirm: float, refute: float) -> str:
    """Confirmed when at least `confirm` of the rows pass; refuted when fewer than `refute` could,
    the inconclusive ones counted as passing (an equivalence not shown is no loss shown)."""
    if not total:
        return NOT_RUN
    return CONFIRMED if passed / total >= confirm else REFUTED if (total - failed) / total < refute else NOT_SHOWN


def _outcome(r: Finding, big_enough: bool, margin: float, alpha: float) -> str:
    """A "no loss" row: yes (equivalent within ±margin, adjusted, and compressed enough), no (not
    compressed enough, or its loss shown beyond the margin: the 95 % CI wholly above it), or
    inconclusive (neither shown)."""
    lo, _ = r.ci()
    if not big_enough or (not math.isnan(lo) and lo > margin):
        return NO
    return YES if r.p_adjusted < alpha else INCONCLUSIVE


YES, NO, INCONCLUSIVE = "yes", "no", "not shown"


def one_per_model(ctx: Context, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """One pair per trained model of its first member, the export earliest in the matrix's order."""
    order = list((ctx.cfg.get("matrix") or {}).get("quant", []))
    rows = E.one_per_model(ctx.cfg, [{"dataset": ctx.dataset, "variant": a, "other": b} for a, b in pairs], order)
    return [(r["variant"], r["other"]) for r in rows]


HEAD = ["estimate pp", "95 % CI", "test", "adjusted p"]


# ---- the claims -------------------------------------------------------------

def _c1(ctx: Context) -> tuple[str, str, list]:
    st, have = ctx.stats, set(ctx.stats["variant"])
    pairs = []
    for _, r in st[~st["quant"].str.endswith(matrix.INT8_IO)].iterrows():
        ref = controls.pruning_control(ctx.cfg, r["variant"], have)
        if ref is None and controls.uncompressed(ctx.cfg, r["prune"]):
            ref = controls.quantization_reference(ctx.cfg, r["variant"], have)
        if ref is not None and ref.equal_budget:
            pairs.append((r["variant"], ref.variant))
    rows = differences(ctx, one_per_model(ctx, pairs))
    if not rows:
        return NOT_RUN, "No compressed variant with its equal-budget control in the matrix.", rows
    total = len(rows)
    better, worse = sum(sign(ctx, r) > 0 for r in rows), sum(sign(ctx, r) < 0 for r in rows)
    verdict = (CONFIRMED if better / total >= C1_OFTEN_SHARE else
               REFUTED if worse / total >= C1_REFUTE_WORSE_SHARE else NOT_SHOWN)
    top = sorted(rows, key=lambda r: -r.estimate.estimate)[:5]
    text = (f"Of {total} compressed models with an equal-budget control (one row per trained model), {better} "
            f"are more accurate than their control beyond noise ({100.0 * better / total:.0f} %), {worse} less "
            f"accurate and {total - better - worse} within noise. Largest gains over the control:\n\n"
            + table([[f"`{r.variant}`", f"`{r.other}`", *_cells(r)] for r in top], ["variant", "control", *HEAD]))
    return verdict, text, rows


def _c2(ctx: Context) -> tuple[str, str, list]:
    ref = controls.reference_scheme(ctx.cfg)
    if ref is None:
        return NOT_RUN, "No quantization scheme of the reference method (float32) in the params.", []
    takd, kd = (matrix.variant(b, "none", ref) for b in (C2_TAKD, C2_KD))
    have = set(ctx.stats["variant"])
    if takd not in have or kd not in have:
        return NOT_RUN, f"`{takd}` or `{kd}` is missing.", []
    row = differences(ctx, [(takd, kd)])[0]
    verdict = {1: CONFIRMED, -1: REFUTED, 0: NOT_SHOWN}[sign(ctx, row)]
    plain = ctx.stats[ctx.stats["cluster"] == matrix.NO_CLUSTER]
    by = {(r["base"], r["prune"], r["quant"]): r["variant"] for _, r in plain.iterrows()}
    matched = [(v, by[(C2_KD, p, q)]) for (b, p, q), v in by.items()
               if b == C2_TAKD and (C2_KD, p, q) in by and v != takd]
    context = differences(ctx, one_per_model(ctx, matched))
    wins, losses = sum(sign(ctx, r) > 0 for r in context), sum(sign(ctx, r) < 0 for r in context)
    text = (table([[f"`{takd}`", fmt_acc(ctx.row(takd))], [f"`{kd}`", fmt_acc(ctx.row(kd))]], ["variant", "accuracy %"])
            + "\n\n" + table([["TAKD − KD", *_cells(row)]], ["", *HEAD])
            + f"\n\nOver the {len(context)} other matched trained models (pruning × quantization): TAKD better in "
              f"{wins}, KD better in {losses}, within noise in {len(context) - wins - losses}.")
    return verdict, text, [row]


def _layers(cfg: dict, scheme: str) -> str | None:
    return ((cfg.get("prune") or {}).get("schemes") or {}).get(scheme, {}).get("layers")


def _c3(ctx: Context) -> tuple[str, str, list]:
    tol = float(ctx.settings["c3_share_tolerance"])
    schemes = PF.magnitude_schemes(ctx.cfg)
    conv = [s for s in schemes if _layers(ctx.cfg, s) == "conv"]
    dense = [s for s in schemes if _layers(ctx.cfg, s) == "dense"]
    st = ctx.stats[(ctx.stats["cluster"] == matrix.NO_CLUSTER)].set_index(["base", "prune", "quant"])
    pairs, unmatched = [], []
    for (b, p, q), r in st.iterrows():
        if p not in conv:
            continue
        options = [(abs(float(st.loc[(b, d, q), "sparsity"]) - float(r["sparsity"])), d) for d in dense
                   if (b, d, q) in st.index]
        if not options:
            continue
        gap, d = min(options)
        (pairs if gap <= tol else unmatched).append((r["variant"], st.loc[(b, d, q), "variant"]))
    rows = differences(ctx, one_per_model(ctx, pairs))
    if not rows:
        shares = "; ".join(f"`{a}` removes {100 * float(ctx.row(a)['sparsity']):.1f} % of the weights, `{b}` "
                           f"{100 * float(ctx.row(b)['sparsity']):.1f} %" for a, b in one_per_model(ctx, unmatched)[:4])
        return NOT_RUN, (f"No conv-only and dense-only magnitude pruning of one model removing shares of its "
                         f"weights within {100 * tol:g} points of each other" + (f" ({shares})." if shares else ".")
                         + " A conv-only scheme at a lower sparsity (or a dense-only one at a higher) pairs them."), []
    wins, losses = sum(sign(ctx, r) > 0 for r in rows), sum(sign(ctx, r) < 0 for r in rows)
    total = len(rows)
    verdict = (CONFIRMED if wins > losses and wins / total >= C3_MAJORITY_SHARE else
               REFUTED if losses > wins and losses / total >= C3_MAJORITY_SHARE else NOT_SHOWN)
    text = (f"{total} pairs at equal share of weights removed: pruning conv layers more accurate beyond noise in "
            f"{wins}, pruning dense layers in {losses}, within noise in {total - wins - losses}.\n\n"
            + table([[f"`{r.variant}`", f"`{r.other}`", f"{100 * float(ctx.row(r.variant)['sparsity']):.1f}",
                      f"{100 * float(ctx.row(r.other)['sparsity']):.1f}", *_cells(r)] for r in rows],
                    ["conv-pruned", "dense-pruned", "conv removed %", "dense removed %", *HEAD]))
    return verdict, text, rows


def _c4(ctx: Context) -> tuple[str, str, list]:
    margin, have = float(ctx.settings["c4_margin_pp"]), set(ctx.stats["variant"])
    pairs, unequal = [], 0
    for _, r in ctx.stats[ctx.stats["quant"].isin(PF.eight_bit_schemes(ctx.cfg))].iterrows():
        ref = controls.quantization_reference(ctx.cfg, r["variant"], have)
        if ref is not None:
            unequal += not ref.equal_budget
            if ref.equal_budget:  # the verdict rests on equal-budget pairs only
                pairs.append((ref.variant, r["variant"]))  # loss = reference − 8-bit
    rows = equivalences(ctx, pairs, margin)
    if not rows:
        return NOT_RUN, "No 8-bit variant with an equal-budget float32 reference.", rows
    for r in rows:
        r.extra["ratio"] = float(ctx.row(r.variant)["tflite_bytes"]) / float(ctx.row(r.other)["tflite_bytes"])
        r.extra["outcome"] = _outcome(r, r.extra["ratio"] >= C4_MIN_SIZE_RATIO, margin, ctx.settings["alpha"])
        r.extra["pass"] = r.extra["outcome"] == YES
    passed, failed = (sum(r.extra["outcome"] == o for r in rows) for o in (YES, NO))
    verdict = _share_verdict(passed, failed, len(rows), C4_CONFIRM_SHARE, C4_REFUTE_SHARE)
    text = (f"{passed} of {len(rows)} equal-budget pairs pass ({100.0 * passed / len(rows):.0f} %): loss within "
            f"±{margin:g} pp by equivalence and ≥ {C4_MIN_SIZE_RATIO:g}× smaller; {failed} fail (a loss shown "
            "beyond the margin, or too little smaller), the rest not shown either way."
            + (f" Left out: {unequal} pairs whose reference had no equal training." if unequal else "") + "\n\n"
            + table([[f"`{r.other}`", f"{r.extra['ratio']:.2f}", *_cells(r), r.extra["outcome"]]
                     for r in rows], ["8-bit variant", "size ratio ×", "loss " + HEAD[0], *HEAD[1:], "pass"]))
    return verdict, text, rows


def _c5(ctx: Context) -> tuple[str, str, list]:
    if TEACHER not in set(ctx.stats["variant"]):
        return NOT_RUN, f"`{TEACHER}` is missing.", []
    st, margin = ctx.stats, float(ctx.settings["c5_margin_pp"])
    chains = st[st["base"].isin(C5_BASES) & st["prune"].isin(PF.magnitude_schemes(ctx.cfg))
                & st["quant"].isin(PF.eight_bit_schemes(ctx.cfg)) & (st["cluster"] == matrix.NO_CLUSTER)]
    if chains.empty:
        return NOT_RUN, "No distilled + magnitude-pruned + 8-bit variant.", []
    chosen = one_per_model(ctx, [(v, TEACHER) for v in chains["variant"]])
    rows = equivalences(ctx, [(TEACHER, v) for v, _ in chosen], margin)   # loss = teacher − chain
    t = ctx.row(TEACHER)
    for r in rows:
        r.extra["compression"] = float(t["gzip_bytes"]) / float(ctx.row(r.other)["gzip_bytes"])
        r.extra["outcome"] = _outcome(r, r.extra["compression"] >= C5_MIN_COMPRESSION, margin,
                                      ctx.settings["alpha"])
        r.extra["pass"] = r.extra["outcome"] == YES
    passed, failed = (sum(r.extra["outcome"] == o for r in rows) for o in (YES, NO))
    verdict = _share_verdict(passed, failed, len(rows), C5_CONFIRM_SHARE, C5_REFUTE_SHARE)
    text = (f"Teacher `{TEACHER}`: {fmt_acc(t)} %, {float(t['gzip_bytes']) / 1000:.1f} KB gzip. {passed} of "
            f"{len(rows)} chains (one per trained model) pass, {failed} fail, the rest not shown either way.\n\n"
            + table([[f"`{r.other}`", fmt_acc(ctx.row(r.other)), f"{r.extra['compression']:.1f}", *_cells(r),
                      r.extra["outcome"]] for r in rows],
                    ["chain", "accuracy %", "gzip compression ×", "loss " + HEAD[0], *HEAD[1:], "pass"]))
    return verdict, text, rows


_TESTS = ("Each row is one trained model: an estimate in pp with its 95 % confidence interval, paired where both "
          "variants come from the same base models, Welch's otherwise; p adjusted across the claim's rows.")
CLAIMS = [
    ("C1", "Compressed models often beat the original.",
     "Each compressed model against its equal-budget control, the same model trained the same epochs without "
     "the compression step (the pruning control method's scheme for pruning, QAT's control for unpruned QAT, "
     "the float32 export for post-training quantization). Confirmed when at least "
     f"{C1_OFTEN_SHARE:.0%} are more accurate beyond noise; refuted when fewer are and at least "
     f"{C1_REFUTE_WORSE_SHARE:.0%} are less accurate; otherwise not shown. " + _TESTS, _c1),
    ("C2", "A teacher assistant improves the student over direct KD.",
     f"`{C2_TAKD}` vs `{C2_KD}`, unpruned float32 (different trained models: Welch over training seeds): confirmed "
     "when TAKD is more accurate beyond noise, refuted when KD is, otherwise not shown (matched pruned and "
     "quantized models are counted for context).", _c2),
    ("C3", "Pruning conv layers beats pruning dense layers.",
     "Magnitude pruning acting on conv layers only vs on dense layers only (the schemes' `layers`), of the same "
     "model and export, where both remove the same share of all weights (within `claims.c3_share_tolerance`). "
     f"Confirmed (refuted) when conv (dense) pruning is more accurate beyond noise in at least "
     f"{C3_MAJORITY_SHARE:.0%} of the pairs and more often than the reverse; otherwise not shown. " + _TESTS, _c3),
    ("C4", "8-bit quantization gives ~4x smaller models at ~no accuracy loss.",
     "Every 8-bit (weights and activations) model vs its equal-budget float32 reference. A pair passes when "
     f"the .tflite size ratio is ≥ {C4_MIN_SIZE_RATIO} and the loss is within ±`claims.c4_margin_pp` by "
     f"equivalence (two one-sided tests, adjusted); it fails when it is not that much smaller or its loss is "
     f"shown beyond the margin (95 % CI above it). Confirmed when ≥ {C4_CONFIRM_SHARE:.0%} of the pairs pass, "
     f"refuted when fewer than {C4_REFUTE_SHARE:.0%} could (the pairs not shown either way counted as passing), "
     "otherwise not shown. " + _TESTS, _c4),
    ("C5", "KD → pruning → quantization gives large compression without accuracy loss.",
     f"Chains {' / '.join(C5_BASES)} × magnitude pruning × 8-bit vs `{TEACHER}` (Welch over training seeds). "
     f"A chain passes when its gzip compression is ≥ {C5_MIN_COMPRESSION:g}× and its loss is within "
     "±`claims.c5_margin_pp` by equivalence (adjusted); it fails when it is less compressed or its loss is "
     f"shown beyond the margin. Confirmed when ≥ {C5_CONFIRM_SHARE:.0%} of the chains pass, refuted when fewer "
     f"than {C5_REFUTE_SHARE:.0%} could (those not shown either way counted as passing), otherwise not shown. "
     + _TESTS, _c5),
]


def evaluate_claims(frame: pd.DataFrame, params: dict, n_test: dict[str, int] | None = None) -> list[Claim]:
    """Verdict, evidence and rows per claim and dataset (datasets in the frame's order),
    over the variants without a baseline pruning scheme (see baselines); with params
    `claims.protocols`, once per protocol, keyed "<dataset> · <protocol>"."""
    n_test, skip = n_test or {}, PF.baselines(params)
    protocols = (params.get("claims") or {}).get("protocols") or {"": {}}
    out = [Claim(cid, statement, rule) for cid, statement, rule, _ in CLAIMS]
    for name, mapping in protocols.items():
        f = PF.as_protocol(E.normalized(frame[~frame["prune"].isin(skip)]), mapping, params) if len(frame) else frame
        cfg = PF.as_protocol_params(params, mapping)
        stats, runs = variant_stats(f), E.Runs(f)
        pools = E.training_spreads(runs, cfg)
        for claim, (_, _, _, fn) in zip(out, CLAIMS):
            for ds in dict.fromkeys(stats["dataset"]):
                ctx = Context(runs, stats[stats["dataset"] == ds].reset_index(drop=True), cfg,
                              int(n_test.get(ds, DEFAULT_N_TEST)), pools)
                key = f"{ds} · {name}" if name else ds
                claim.verdicts[key], claim.evidence[key], claim.rows[key] = fn(ctx)
    return out
