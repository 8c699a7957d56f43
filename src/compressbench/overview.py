"""The first screen of report.md, what a pull-request reviewer reads first: the
run and its protocol families with the claims' verdicts (run_summary.py), the base
models per protocol (base_table.py), and per dataset (here) the recipes at target
compressions (per architecture), the best variants, the Pareto front, the figure and
the pivots of what ran. Recipes and the front are chosen among the variants of the
matrix's protocol family only (selection.in_matrix_family). Every term is defined in
glossary.py. Everything else follows in folded <details> blocks (markdown.document)."""
from __future__ import annotations

import pandas as pd

from . import controls, forgetting, matrix, selection
from .results import (DASH, EFFICIENCY_WITHIN_PP, TEACHER, WITHIN_PP, best_efficiency, fmt_num, orders, pareto,
                      smallest_within)
from .selection import selected_by
from .tables import table

KB = 1000
FRONT_ROWS = 12  # the first screen's Pareto table; the folded tables mark every front point
NONE_THIS_SMALL = "none this small"
# The five bases' roles, paired across protocols by params claims.protocols (role -> base), in
# the study's order: the teacher, its assistant, then the students from scratch, by KD, by TAKD.
ROLES = ("teacher", "ta", "student-scratch", "student-kd", "student-takd")

def folded(summary: str, lines: list[str]) -> list[str]:
    """A <details> block GitHub renders (markdown needs the blank line after <summary>)."""
    return ["<details>", f"<summary>{summary}</summary>", "", *lines, "</details>", ""]


def what_ran(grids: list[dict], rows: list[str], cols: list[str]) -> tuple[list[str], list[str], bool]:
    """Of one or more grids sharing their axes ((row, column) -> text; absent or DASH: did not
    run), the rows and columns with a cell in any grid, and whether more than half of the
    grid they span would still be empty: then its cells are better listed than tabulated."""
    ran = {k for g in grids for k, v in g.items() if v and v != DASH}
    rows = [r for r in rows if any((r, c) in ran for c in cols)]
    cols = [c for c in cols if any((r, c) in ran for r in rows)]
    filled = sum((r, c) in ran for r in rows for c in cols)
    return rows, cols, 2 * filled < len(rows) * len(cols)


def _drop_empty_columns(rows: list[list[str]], headers: list[str]) -> tuple[list[list[str]], list[str]]:
    """The table without the columns that are dashes (or empty) in every row."""
    keep = [i for i in range(len(headers)) if any(r[i] not in (DASH, "") for r in rows)] if rows else \
        list(range(len(headers)))
    return [[r[i] for i in keep] for r in rows], [headers[i] for i in keep]


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


def _runs_of_same(found: list[tuple[float, pd.Series | None]]) -> list[tuple[list[float], pd.Series | None]]:
    """Consecutive targets that chose the same recipe (or none) merged: one row says it once."""
    out: list[tuple[list[float], pd.Series | None]] = []
    for t, r in found:
        name = None if r is None else r["variant"]
        if out and (None if out[-1][1] is None else out[-1][1]["variant"]) == name:
            out[-1][0].append(t)
        else:
            out.append(([t], r))
    return out


def targets(st: pd.DataFrame, cfg: dict | None = None, lead: str = "") -> list[str]:
    """For each architecture (selection.architecture) and target compression, the recipe
    chosen on validation with its test accuracy ± CI and its loss against the teacher with
    the loss's 95 % interval (selection.targets_by_architecture); NONE_THIS_SMALL where no
    variant of the architecture is that small. Targets that chose the same recipe share a row.
    lead: a sentence before the table's caption."""
    rows = []
    for arch, found in selection.targets_by_architecture(st, cfg or {}):
        for ts, r in _runs_of_same(found):
            target = "≥ " + ", ".join(f"{t:g}×" for t in ts)
            if r is None:
                rows.append([arch, target, NONE_THIS_SMALL, DASH, DASH, DASH])
                continue
            lo, hi = r.get("loss_low_pp"), r.get("loss_high_pp")
            loss = fmt_num(-float(r["delta_pp"]), 2) + ("" if lo is None or pd.isna(lo) else
                                                         f" [{fmt_num(lo, 2)}, {fmt_num(hi, 2)}]")
            rows.append([arch, target, f"`{r['variant']}`", fmt_num(r["compression_ratio"], 1), _test(r), loss])
    return [lead + f"Per architecture and target compression (gzip size against `{TEACHER}`'s), the most "
            "accurate recipe on validation:", "", table(rows, ["architecture", "target", "recipe", "compression ×",
                                                      "test % ± 95 % CI", "loss vs teacher pp [95 % CI]"]), ""]


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
    bases and unclustered cells only (derived bases have their own tables). Only what ran
    (what_ran): rows and columns with nothing in either table go, and a grid more than half
    empty becomes one line per base listing its cells."""
    st = st[st["base"].isin(orders["base"]) & (st["cluster"] == "none")] if "cluster" in st else st
    bases = [b for b in orders["base"] if b in set(st["base"])]
    prunes = [p for p in orders["prune"] if p in set(st["prune"])]
    by = selected_by(st)
    on = "validation" if by != "accuracy" else "test"
    index = st.set_index(["base", "prune", "quant"])
    f32, best8 = {}, {}
    for b in bases:
        for p in prunes:
            if (b, p, "float32") in index.index:
                f32[(b, p)] = _pct(index.loc[(b, p, "float32")]["accuracy"])
            cell = st[(st["base"] == b) & (st["prune"] == p) & st["quant"].isin(set(eight_bit))]
            cell = cell[cell[by].notna()]  # the best export is chosen on validation (selected_by)
            if len(cell):
                top = cell.loc[cell[by].astype(float).idxmax()]
                best8[(b, p)] = f"{top['quant']} {_pct(top['accuracy'])}"
    bases, prunes, listed = what_ran([f32, best8], bases, prunes)
    if listed:
        return [f"Accuracy % of each base × pruning cell that ran: its float32 export / its best 8-bit export "
                f"(chosen on {on} accuracy; int8 weights: dynamic-range, full-integer or quantization-aware) "
                "with its test accuracy:", "",
                *(f"- `{b}`: " + "; ".join(f"{p} {f32.get((b, p), DASH)} / {best8.get((b, p), DASH)}"
                                           for p in prunes if (b, p) in f32 or (b, p) in best8) for b in bases),
                ""]
    return ["Accuracy % of the float32 exports (base × pruning):", "",
            table([[b, *(f32.get((b, p), DASH) for p in prunes)] for b in bases], ["base", *prunes]), "",
            f"Best 8-bit export of each (chosen on {on} accuracy; int8 "
            "weights: dynamic-range, full-integer or quantization-aware), with its test accuracy:", "",
            table([[b, *(best8.get((b, p), DASH) for p in prunes)] for b in bases], ["base", *prunes]), ""]


def _scope(st: pd.DataFrame, mine: pd.DataFrame, cfg: dict) -> str:
    """Which variants the recipes are chosen among, when the matrix's family is not all of them."""
    if len(mine) == len(st):
        return ""
    others = sorted(set(st["base"]) - set(mine["base"]))
    return (f"Recipes, targets, the Pareto front and the pivots: the {len(mine)} variants of the matrix's protocol "
            f"family, *{selection.matrix_family(cfg)}* (the {len(st) - len(mine)} of the other families' "
            f"{len(others)} base models, which may have trained on the validation images: *All variants* below). ")


def dataset_screen(ds: str, st: pd.DataFrame, orders: dict, figure: str, tradeoff: str | None,
                   eight_bit: set[str], cfg: dict) -> list[str]:
    """One dataset's part of the first screen, its choices among the variants of the matrix's
    protocol family (selection.in_matrix_family)."""
    curves = [f"![{ds}: accuracy vs compression and theoretical speedup, pruning sweeps]({tradeoff})", ""] \
        if tradeoff else []
    mine = st[selection.in_matrix_family(st, cfg).to_numpy()].reset_index(drop=True)
    if not len(mine):
        return [f"## {ds}", "", f"No variant of the matrix's protocol family (*{selection.matrix_family(cfg)}*) "
                "in these results.", "", f"![{ds}: accuracy vs gzip size]({figure})", "", *curves]
    return [f"## {ds}", "", *targets(mine, cfg, _scope(st, mine, cfg)), *best(mine, cfg),
            f"![{ds}: accuracy vs gzip size]({figure})", "", *curves, *front(mine, cfg),
            *pivots(mine, orders, eight_bit)]
