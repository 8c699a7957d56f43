"""The first screen of report.md, what a pull-request reviewer reads first: the
run in one paragraph, the claims' verdicts, and per dataset the best variants,
the Pareto front, the figure and two compact pivots. Everything else follows in
folded <details> blocks (markdown.document)."""
from __future__ import annotations

import pandas as pd

from . import controls, forgetting, matrix
from .catalog import methods
from .results import DASH, EFFICIENCY_WITHIN_PP, TEACHER, WITHIN_PP, best_efficiency, fmt_num, pareto, smallest_within
from .selection import at_targets, selected_by
from .tables import table

KB = 1000
FRONT_ROWS = 12  # the first screen's Pareto table; the folded tables mark every front point


def folded(summary: str, lines: list[str]) -> list[str]:
    """A <details> block GitHub renders (markdown needs the blank line after <summary>)."""
    return ["<details>", f"<summary>{summary}</summary>", "", *lines, "</details>", ""]


def run_summary(frame: pd.DataFrame, params: dict, code: str) -> list[str]:
    tr, kd = params.get("train", {}), params.get("distill", {})
    runs = frame.groupby(["dataset", "variant"]).size() if len(frame) else pd.Series(dtype=int)
    counts = ", ".join(f"{n} run{'s' if n > 1 else ''} (seeds): {k} variants" for n, k in
                       sorted(runs.value_counts().items()))
    return [f"**{', '.join(dict.fromkeys(frame['dataset'])) or 'No dataset'}**: {len(frame)} cells "
            f"(.tflite files), {frame.groupby('dataset')['variant'].nunique().sum()} variants ({counts or 'none'}). "
            f"Protocol: {tr.get('optimizer')} at {tr.get('learning_rate')} ({tr.get('schedule', 'constant')}), "
            f"batch {tr.get('batch_size')}, data {tr.get('data', 'train')}, {tr.get('precision')}; KD alpha "
            f"{kd.get('alpha')}, T {kd.get('temperature')}"
            + (", T²" if kd.get("t_squared", True) else ", no T² (the study's loss)")
            + f". Code version `{code}`.", ""]


def verdicts(claims: list, reproduced: dict | None = None) -> list[str]:
    """The claims' verdicts per dataset, then how many reproduction rows got each verdict."""
    datasets = list(dict.fromkeys(ds for c in claims for ds in c.verdicts))
    rows = [[f"{c.id}: {c.statement}", *(c.verdicts.get(ds, DASH) for ds in datasets)] for c in claims]
    lines = ["## Verdicts", "", table(rows, ["claim", *datasets]), "",
             "Rules, noise and evidence: *Claims of the study* below.", ""]
    if reproduced:
        kinds = list(dict.fromkeys(k for c in reproduced.values() for k in c))
        counts = [[ds, sum(c.values()), *(c.get(k, 0) for k in kinds)] for ds, c in reproduced.items()]
        lines += ["Reproduction of the study's published numbers (rows per verdict; table and protocols in "
                  "*Reproduction* below):", "", table(counts, ["dataset", "rows", *kinds]), ""]
    return lines


def _pct(v) -> str:
    return fmt_num(100.0 * float(v), 2) or DASH


def _test(r) -> str:
    """Test accuracy % ± the half-width of its 95 % confidence interval (report.annotate)."""
    ci = r.get("accuracy_ci_pp")
    return _pct(r["accuracy"]) + ("" if ci is None or pd.isna(ci) else f" ± {fmt_num(ci, 2)}")


def _forgets(r) -> str:
    """Agreement with the uncompressed model and the worst class's drop (forgetting.py)."""
    agree, drop = r.get("agreement"), r.get("worst_class_drop_pp")
    if agree is None or pd.isna(agree):
        return DASH
    text = f"{_pct(agree)} / class {int(r['worst_class'])} {fmt_num(drop, 2)}"
    return text + (" **loses a class**" if forgetting.loses_class(r, _vs_uncompressed(r)) else "")


def _vs_uncompressed(r) -> float:
    return float(r.get("delta_vs_uncompressed_pp", 0.0) or 0.0)


def best(st: pd.DataFrame, cfg: dict) -> list[str]:
    """The recipes: best accuracy, best efficiency and the smallest variant within each WITHIN_PP
    of the teacher, chosen on validation accuracy (selection.selected_by) and reported with the
    test accuracy ± its 95 % CI, and what each forgets (agreement with its uncompressed model %,
    the class that drops most, pp)."""
    by, out = selected_by(st), []
    st = st.assign(delta_vs_uncompressed_pp=_uncompressed_deltas(st, cfg))

    def row(label, r):
        out.append([label, f"`{r['variant']}`", _pct(r[by]) if by != "accuracy" else DASH, _test(r),
                    fmt_num(r["gzip_bytes"] / KB, 1), fmt_num(r["compression_ratio"], 1), _forgets(r)])
    row("best accuracy", st.loc[st[by].astype(float).idxmax()])
    if (i := best_efficiency(st, by)) is not None:
        row(f"best efficiency within {EFFICIENCY_WITHIN_PP:g} pp of the teacher", st.loc[i])
    teacher = st[st["variant"] == TEACHER]
    for pp in WITHIN_PP if len(teacher) else ():
        row(f"smallest within {pp:g} pp of the teacher", smallest_within(st, pp, by))
    seen = "val_seen" in st and bool(st["val_seen"].fillna(False).any())
    note = (f"Chosen on validation accuracy{' (seen in training by some of these models: not unseen)' if seen else ''}"
            if by != "accuracy" else "Chosen on test accuracy (these results have no validation accuracy)")
    return [table(out, ["", "variant", "val %", "test % ± 95 % CI", "gzip KB", "compression ×",
                        "agreement % / worst class drop pp"]), "",
            note + "; agreement: the share of test images on which it predicts what its uncompressed model "
            f"predicts; a recipe *loses a class* when one class drops ≥ {forgetting.LOST_CLASS_PP:g} pp more than "
            "its overall accuracy.", ""]


def targets(st: pd.DataFrame) -> list[str]:
    """For each target compression, the recipe chosen on validation with its test accuracy ± CI
    and its loss against the teacher with the loss's 95 % interval (selection.at_targets)."""
    rows = []
    for t, r in at_targets(st):
        if r is None:
            rows.append([f"≥ {t:g}×", "none ran", DASH, DASH, DASH])
            continue
        lo, hi = r.get("loss_low_pp"), r.get("loss_high_pp")
        loss = fmt_num(-float(r["delta_pp"]), 2) + ("" if lo is None or pd.isna(lo) else
                                                     f" [{fmt_num(lo, 2)}, {fmt_num(hi, 2)}]")
        rows.append([f"≥ {t:g}×", f"`{r['variant']}`", fmt_num(r["compression_ratio"], 1), _test(r), loss])
    return ["For a target compression (gzip size against the teacher's), the most accurate recipe on "
            "validation:", "", table(rows, ["smaller", "recipe", "compression ×", "test % ± 95 % CI",
                                            "loss vs teacher pp [95 % CI]"]), ""]


def _uncompressed_deltas(st: pd.DataFrame, cfg: dict) -> list[float]:
    """Per variant, its test accuracy − its uncompressed model's (forgetting.uncompressed), pp
    (0 where that is absent)."""
    acc = dict(zip(st["variant"], st["accuracy"].astype(float)))
    refs = [forgetting.uncompressed(cfg, v) for v in st["variant"]]
    return [100.0 * (acc[v] - acc[ref]) if ref in acc else 0.0 for v, ref in zip(st["variant"], refs)]


def front(st: pd.DataFrame, cfg: dict) -> list[str]:
    """The Pareto front (validation accuracy vs gzip size, selection.selected_by), smallest first."""
    have, by = set(st["variant"]), selected_by(st)
    accuracy = dict(zip(st["variant"], st["accuracy"].astype(float)))
    f = st[pareto(st, by).to_numpy()].sort_values(["gzip_bytes", by], kind="mergesort")
    if len(f) > FRONT_ROWS:  # evenly spread points, the smallest and the most accurate among them
        f = f.iloc[sorted({round(i * (len(f) - 1) / (FRONT_ROWS - 1)) for i in range(FRONT_ROWS)})]
    rows = []
    for _, r in f.iterrows():
        ref = controls.control(cfg, r["variant"], have)
        vs = DASH if ref is None else fmt_num(100.0 * (float(r["accuracy"]) - accuracy[ref.variant]), 2)
        rows.append([f"`{r['variant']}`", _test(r), fmt_num(r["delta_pp"], 2), vs,
                     fmt_num(r["gzip_bytes"] / KB, 1), fmt_num(r["compression_ratio"], 1)])
    total = int(pareto(st, by).sum())
    shown = f"{len(rows)} of its {total} variants" if total > len(rows) else f"{total} variants"
    on = "validation" if by != "accuracy" else "test"
    return [f"Pareto front on {on} accuracy ({shown}; no other variant is both at least as accurate and at most "
            "as large), with test accuracy:", "",
            table(rows, ["variant", "test % ± 95 % CI", "Δ pp", "Δ pp vs control", "gzip KB", "compression ×"]), ""]


def eight_bit(params: dict, st: pd.DataFrame) -> set[str]:
    """The quantization schemes of `st` whose exports hold int8 weights."""
    schemes = (params.get("quantize") or {}).get("schemes", {})
    return {q for q in set(st["quant"])
            if q.removesuffix(matrix.INT8_IO) in schemes and matrix.quant_method(params, q).weight_bits == 8}


def pivots(st: pd.DataFrame, orders: dict, eight_bit: set[str]) -> list[str]:
    """Accuracy of the float32 exports, base × pruning; and per cell its best 8-bit export
    (the most accurate of the quantization schemes `eight_bit` names, see eight_bit: int8 weights, so
    about a quarter of the float32 file before compression, pruned or not). The matrix's
    bases and unclustered cells only (derived bases have their own tables)."""
    st = st[st["base"].isin(orders["base"]) & (st["cluster"] == "none")] if "cluster" in st else st
    bases = [b for b in orders["base"] if b in set(st["base"])]
    prunes = [p for p in orders["prune"] if p in set(st["prune"])]
    by = selected_by(st)
    index = st.set_index(["base", "prune", "quant"])
    acc_rows, best_rows = [], []
    for b in bases:
        acc_row, best_row = [b], [b]
        for p in prunes:
            f32 = index.loc[(b, p, "float32")] if (b, p, "float32") in index.index else None
            acc_row.append(_pct(f32["accuracy"]) if f32 is not None else DASH)
            cell = st[(st["base"] == b) & (st["prune"] == p) & st["quant"].isin(set(eight_bit))]
            cell = cell[cell[by].notna()]  # the best export is chosen on validation (selected_by)
            top = cell.loc[cell[by].astype(float).idxmax()] if len(cell) else None
            best_row.append(DASH if top is None else f"{top['quant']} {_pct(top['accuracy'])}")
        acc_rows.append(acc_row)
        best_rows.append(best_row)
    return ["Accuracy % of the float32 exports (base × pruning):", "", table(acc_rows, ["base", *prunes]), "",
            f"Best 8-bit export of each (chosen on {'validation' if by != 'accuracy' else 'test'} accuracy; int8 "
            "weights: dynamic-range, full-integer or quantization-aware), with its test accuracy:", "",
            table(best_rows, ["base", *prunes]), ""]


def dataset_screen(ds: str, st: pd.DataFrame, orders: dict, figure: str, tradeoff: str | None,
                   eight_bit: set[str], cfg: dict) -> list[str]:
    curves = [f"![{ds}: accuracy vs compression and theoretical speedup, pruning sweeps]({tradeoff})", ""] \
        if tradeoff else []
    return [f"## {ds}", "", *targets(st), *best(st, cfg), f"![{ds}: accuracy vs gzip size]({figure})", "",
            *curves, *front(st, cfg),
            *pivots(st, orders, eight_bit)]
