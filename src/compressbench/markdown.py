"""The text of report.md: what was run, the variant tables, the claims, the
reproduction of arXiv 2305.08075 and the wall time per rule.

Pure text from the results, stats, claims and provenance passed in; no I/O."""
from __future__ import annotations

import pandas as pd

from . import claims as C
from . import base_table, controls, deployment, glossary, overview, run_facts, run_summary, selection
from . import reproduction as R
from . import refused as refused_cells
from .results import DASH, EFFICIENCY_WITHIN_PP, TEACHER, best_efficiency, fmt_int, fmt_num, fmt_pm, orders, pareto
from .tables import table

KB = 1000          # table sizes in kB (10^3 bytes)
PARETO_MARK, EFFICIENCY_MARK = "◆", "★"

SENSITIVITY_NOT_RUN = ("Per-layer sensitivity (params `sensitivity`) is not in this run: no base model of "
                       "`sensitivity.bases` was trained (the list is empty in the default: the compute budget's "
                       "choice); naming some runs it.")
STUDY_BUGS = [
    "its KD loss lacks the T² factor on the soft term (our default, `distill.t_squared: true`, is "
    "alpha·CE + (1 − alpha)·T²·KL, Hinton et al.; `false` runs the study's loss);",
    "its \"conv-only\" pruning wrapped the whole model, so it pruned the dense layers too (our `local-conv` "
    "prunes only Conv2D kernels, `local-dense` only Dense kernels);",
    "it never chained KD → pruning → quantization (its sequential notebook stops after pruning; "
    "\"Distill\" and \"Quant→Distill\" are the same model object) — our matrix chains them: every "
    "base × pruning scheme × int8 and QAT export, less the cells `matrix.only` leaves out;",
    "it ran one seed, so differences of a few tenths of a point were read as effects — we report the noise "
    "and run the cells the claims rest on with several seeds (`matrix.replicates`);",
    "its QAT rows are QAT models trained from scratch (`clone_model` re-initialises the weights), not "
    "quantization-aware fine-tunes: our `qat-scratch` reproduces them, our matrix's `qat` fine-tunes;",
    "it compared fine-tuned and QAT variants with models that never had those extra epochs — we pair each "
    "with an equal-budget control (`finetune`, `float32-ft`).",
]


# ---- results ----------------------------------------------------------------

def variant_table(st: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """The per-dataset table of every variant: means (± std over seeds), marks, and the
    difference to the teacher and to the variant's control (controls.control; * = its
    float32 export, no equal-budget control in the run)."""
    front = pareto(st).to_numpy()
    best_eff = best_efficiency(st)
    accuracy, have = dict(zip(st["variant"], st["accuracy"].astype(float))), set(st["variant"])
    rows = []
    for i, (_, r) in enumerate(st.iterrows()):
        n = int(r["n"])
        mark = (PARETO_MARK if front[i] else "") + (EFFICIENCY_MARK if r.name == best_eff else "")
        ref = controls.control(cfg, r["variant"], have)
        vs_control = DASH if ref is None else \
            fmt_num(100.0 * (float(r["accuracy"]) - accuracy[ref.variant]), 2) + ("" if ref.equal_budget else "*")
        rows.append({
            "variant": f"`{r['variant']}`", "mark": mark,
            "accuracy %": fmt_pm(r["accuracy"], r["accuracy_std"], n, 2, 100.0),
            "Δ pp": fmt_pm(r["delta_pp"], r["delta_pp_std"], n, 2),
            "Δ pp vs control": vs_control,
            ".tflite KB": fmt_num(float(r["tflite_bytes"]) / KB, 1) or DASH,
            "gzip KB": fmt_num(float(r["gzip_bytes"]) / KB, 1) or DASH,
            "compression ×": fmt_num(r["compression_ratio"], 2) or DASH,
            "params": fmt_int(r["params"]), "non-zero": fmt_int(r["nonzero_params"]),
            "sparsity %": fmt_num(100.0 * float(r["sparsity"]), 2) or DASH,
            "latency ms": fmt_pm(r["latency_ms"], r["latency_ms_std"], n, 3),
            "efficiency": fmt_pm(r["efficiency"], r["efficiency_std"], n, 2),
        })
    return pd.DataFrame(rows)


def legend(cfg: dict) -> str:
    """What the columns of the variant table mean; the control schemes named from the config."""
    n = controls.names(cfg)
    return LEGEND.format(prune=n["prune"], quant=n["quant"], reference=n["reference"])


LEGEND = ("Efficiency is the study's \"accuracy relative to size\": accuracy (fraction) / gzip MB, with "
          "MB = 10^6 bytes of the gzip -9 compressed .tflite. KB = 10^3 bytes. Δ pp = accuracy − accuracy of "
          f"`{TEACHER}` (same dataset) in percentage points; Δ pp vs control = accuracy − accuracy of the "
          "variant's equal-budget control (`base+{prune}+Q` for a pruned variant, "
          "`base+none+{quant}` for QAT, the {reference} export for post-training quantization; "
          "* = a reference without the variant's extra training: a float32 export that had no QAT epochs, or "
          "for a clustered variant `base+P+C+Q` the unclustered `base+P+Q`); compression × = teacher's gzip bytes / the "
          "variant's. Sparsity = share of zero weights. Latency = median single-image invocation on one "
          f"thread. {PARETO_MARK} = Pareto-optimal (no other variant is at least as accurate and at most as "
          f"large in gzip bytes, and strictly better in one); {EFFICIENCY_MARK} = best efficiency (accuracy per "
          f"gzip MB) within {EFFICIENCY_WITHIN_PP:g} pp of the teacher.")


def _all_variants(ds: str, st: pd.DataFrame, several_seeds: bool, cfg: dict) -> list[str]:
    """Every variant of one dataset (reports/variants.csv as a table)."""
    lines = [f"### All variants: {ds}", "", legend(cfg), ""]
    if several_seeds:
        lines += ["With several seeds every number is the mean over seeds (± the standard deviation across "
                  "seeds); Pareto marks, comparisons and claims use the means.", ""]
    return lines + [table(variant_table(st, cfg)), ""]


# ---- claims -----------------------------------------------------------------

def _claims(claims: list, params: dict | None = None) -> list[str]:
    lines = ["## Claims of the study", "",
             "Each claim of arXiv 2305.08075 is tested on our numbers by the rule stated with it (params `claims` "
             "fixes the level, the correction and the margins before the run). Each row is one independently "
             "trained model (its float32, dynamic-range, float16 and int8 exports are one row): an effect estimate "
             "in pp with its 95 % confidence interval (t-based), paired where both variants come from the same "
             "base models (the spread of the difference across fine-tune seeds), Welch's where they do not "
             "(training-seed spreads; a one-seed side borrows the pooled spread of its protocol family with that "
             "pool's degrees of freedom; with no spread at all, the binomial error of one test-set evaluation). "
             "p-values are adjusted across the rows of a claim (Holm or Benjamini–Hochberg). \"No loss\" claims "
             "(C4, C5) pass a row only by equivalence (two one-sided tests within the margin), never because a "
             "difference is within noise. A difference within noise is \"not shown\", never \"confirmed\"; "
             "\"not run\" means the variants the claim needs are not in the matrix. Random pruning (a baseline) "
             "is left out of every claim.", ""]
    keys = run_summary.verdict_keys(claims)  # dataset first, its protocols side by side
    verdicts = [{"claim": f"{c.id}: {c.statement}", **{k: c.verdicts.get(k, DASH) for k in keys}} for c in claims]
    if verdicts:
        lines += [table(pd.DataFrame(verdicts)), ""]
    for c in claims:
        lines += [f"### {c.id}: {c.statement}", "", f"Rule: {c.rule}", ""]
        for key in keys:
            lines += [f"**{key}: {c.verdicts[key]}.**", "", c.evidence[key], ""]
            cells = run_summary.cells_read(c, key, params)
            if cells:
                renamed = cells != c.cells(key)  # the evidence names the roles; these are their bases
                lines += [f"Cells read ({len(cells)} variants"
                          + ("; the evidence above names each by its role" if renamed else "") + "): "
                          + ", ".join(f"`{v}`" for v in cells) + ".", ""]
    return lines


# ---- reproduction -----------------------------------------------------------

def _number(quantity: str, v) -> str:
    if not R.is_number(v):
        return DASH
    if quantity == "accuracy %":
        return f"{100 * v:.2f}"
    return f"{v:.4f}" if quantity == ".tflite MiB" else f"{int(round(v))}"


def _difference(row) -> str:
    if not R.is_number(row.ours):
        return DASH
    if row.quantity == "accuracy %":
        return f"{100 * (row.ours - row.study):+.2f}"
    return f"{row.ours - row.study:+.4f}" if row.quantity == ".tflite MiB" else f"{int(round(row.ours - row.study)):+d}"


def _interval(row) -> str:
    """The prediction interval of an accuracy row, % (and whose spread it uses)."""
    lo, hi = row.interval
    return DASH if not R.is_number(lo) else f"[{lo:.2f}, {hi:.2f}] ({row.spread_from})"


def validation_choices(chosen: pd.DataFrame | None) -> list[str]:
    """Each validation sweep: its values ranked by validation accuracy, and the default's place."""
    if chosen is None or not len(chosen):
        return []
    lines = ["### Defaults checked on validation images", "",
             "Each value of a validation sweep (params `derived`, trained on the split without the validation "
             "images, and so is the teacher they learn from) ranked by its final epoch's validation accuracy: "
             "the default checked without the test set. Noise as in the claims (the binomial error on the "
             "validation images or the measured seed spread, 2 standard errors).", ""]
    for (ds, sweep), g in chosen.groupby(["dataset", "sweep"], sort=False):
        g = g.sort_values("val_accuracy", ascending=False, kind="mergesort")
        first = g.iloc[0]
        default = DASH if pd.isna(first["default"]) else f"{first['default']:g}"
        lines += [f"`{sweep}` on {ds}: the default {first['key']} {default} (of `{first['like']}`) is "
                  f"**{selection.default_verdict(g)}**.", "",
                  table([[f"{r['value']:g}", f"`{r['base']}`", str(r["seeds"]), f"{100 * r['val_accuracy']:.2f}",
                          f"{r['gap_pp']:.2f}", f"{r['noise_pp']:.2f}", r["verdict"]] for _, r in g.iterrows()],
                        [first["key"], "base", "seeds", "val accuracy %", "below the best pp", "noise pp",
                         "verdict"]), ""]
    return lines


def reproduction(found: dict, stats: pd.DataFrame, pairs: list, source: str,
                 temperature: str | None = None, chosen: pd.DataFrame | None = None,
                 architecture: dict | None = None) -> list[str]:
    lines = ["## Reproduction of arXiv 2305.08075", "",
             f"Source: {source}. Every number the study published, next to ours (mean over seeds) from a run "
             "with that row's protocol (params `derived`: its epochs, batch 32, T and loss, QAT from scratch), "
             "and what still differs where something does (*protocol differs*). Accuracy in %, differences in "
             "percentage points; "
             "verdict: the study's one run is one new run of the row's configuration, so it is "
             f"*{R.WITHIN}* when inside the 95 % prediction interval of one new run of ours (t-based: mean ± "
             "t·s·sqrt(1 + 1/n), from the configuration's own seeds, or with one seed from the pooled spread of its "
             "protocol family with that pool's degrees of freedom), else *ours higher* or *ours lower*; the "
             "verdict counts above take the exports of one trained model (float32, dynamic-range, float16) "
             "once. .tflite sizes in MiB (2^20 bytes), the same within "
             f"{100 * R.SIZE_TOLERANCE:g} %. The study's gzip bytes are of a Keras .h5 file, ours of a .tflite: "
             "only the order of magnitude compares.", ""]
    for ds, rows in found.items():
        shown = [{"notebook": r.notebook, "configuration": r.configuration,
                  "our variant": f"`{r.variant}`" if r.variant else DASH, "quantity": r.quantity,
                  "study": _number(r.quantity, r.study), "ours": _number(r.quantity, r.ours),
                  "ours − study": _difference(r), "our 95 % PI": _interval(r), "verdict": r.verdict,
                  "protocol differs": r.differs or DASH}
                 for r in rows]
        lines += [f"### {ds}", "", *([architecture[ds], ""] if ds in (architecture or {}) else []),
                  table(pd.DataFrame(shown)) if shown else "No configurations.", ""]
    if pairs:
        lines += ["### The study's KD loss and ours", "",
                  "The same student, teacher and T, with the soft term scaled by T² (Hinton et al., our default) "
                  "and without (the study's loss as it ran).", ""]
        by = stats.set_index(["dataset", "variant"])
        rows = []
        for p in pairs:
            a, b = by.loc[(p["dataset"], f"{p['ours']}+none+float32")], by.loc[(p["dataset"], f"{p['study']}+none+float32")]
            diff, noise, sign = C.compare(a, b, C.DEFAULT_N_TEST)
            rows.append([p["dataset"], f"{p['temperature']:g}", f"`{p['ours']}`", fmt_pm(a["accuracy"], a["accuracy_std"], a["n"], 2, 100),
                         f"`{p['study']}`", fmt_pm(b["accuracy"], b["accuracy_std"], b["n"], 2, 100),
                         f"{diff:+.2f} (noise {noise:.2f})", {1: "T² higher", -1: "T² lower", 0: R.WITHIN}[sign]])
        lines += [table(rows, ["dataset", "T", "with T²", "accuracy %", "without T²", "accuracy %",
                               "difference pp", "verdict"]), ""]
        if temperature:
            lines += [f"![Accuracy of the KD student against T: our loss, the study's loss, the study's numbers]"
                      f"({temperature})", ""]
    lines += validation_choices(chosen)
    lines += ["Known problems of the study's code that this benchmark corrects:", ""]
    lines += [f"- {b}" for b in STUDY_BUGS] + [""]
    return lines


def _with_budget(lines: list[str], ds: str, budget: str | None, after: list[str]) -> list[str]:
    """A dataset's screen with its fine-tune budget figure after the first line naming one of
    `after` (its trade-off figure, else its Pareto figure; at the end if neither)."""
    if not budget:
        return lines
    at = next((i + 1 for path in after if path for i, line in enumerate(lines) if f"]({path})" in line), len(lines))
    at += at < len(lines) and lines[at] == ""  # after that figure's blank line
    image = [f"![{ds}: accuracy vs fine-tune epochs, pruned and its equal-budget control]({budget})", ""]
    return lines[:at] + image + lines[at:]


def document(frame, stats, claims, reference, params, facts, times, *, code: str, packages: dict,
             figure: str, found: dict | None = None, tradeoff: dict[str, str] | None = None,
             budget: dict[str, str] | None = None, sensitivity: dict[str, str] | None = None,
             temperature: str | None = None, pairs: list | None = None,
             chosen: pd.DataFrame | None = None, refused: list[dict] = ()) -> str:
    """report.md: the first screen (overview.py), then the details folded (refused: the cells
    a technique refused, refused.split's rows). code: the code
    version; packages: name -> version; figure: the Pareto figure's path relative to report.md,
    with {dataset}; tradeoff, budget, sensitivity: dataset -> that figure's path, for the
    datasets where it was drawn (a pruning sweep, a fine-tune budget sweep, a sensitivity
    analysis ran); temperature: the KD-temperature figure's path; found, pairs: the reproduction
    rows and loss pairs (computed if None); chosen: the validation sweeps (selection.choices;
    None: none)."""
    datasets = list(dict.fromkeys(stats["dataset"]))
    lines = ["# compressbench report", "",
             "Knowledge distillation, pruning and quantization of the models of arXiv 2305.08075, every "
             "combination measured as a deployable .tflite with LiteRT.", ""]
    found = found if found is not None else R.rows(reference or {}, stats, params, {}, frame)
    lines += run_summary.run_summary(frame, params, code) + run_summary.verdicts(claims, R.counts(found, params), params)
    lines += base_table.base_models(frame, params, found)  # after the verdicts: what the claims' models reached
    per_dataset = {ds: stats[stats["dataset"] == ds].reset_index(drop=True) for ds in datasets}
    for ds, st in per_dataset.items():
        curves = (tradeoff or {}).get(ds)
        lines += _with_budget(overview.dataset_screen(ds, st, orders(params), figure.format(dataset=ds), curves,
                                                      overview.eight_bit(params, st), params),
                              ds, (budget or {}).get(ds), [curves, figure.format(dataset=ds)])
    lines += glossary.glossary() + ["## Details", ""]
    for ds, st in per_dataset.items():
        lines += overview.folded(f"All {len(st)} variants: {ds}",
                                 _all_variants(ds, st, frame["seed"].nunique() > 1, params))
    if sensitivity:
        lines += overview.folded("Per-layer sensitivity", [
            "## Per-layer sensitivity", "",
            "Each conv and dense layer pruned alone by magnitude, one-shot, no fine-tune (params `sensitivity`); "
            "tables: `reports/plots/<dataset>-sensitivity.csv`.", "",
            *[f"![{ds}: per-layer sensitivity]({sensitivity[ds]})\n" for ds in per_dataset if ds in sensitivity]])
    else:
        lines += [SENSITIVITY_NOT_RUN, ""]
    if refused:
        lines += overview.folded("Refused cells", refused_cells.section(list(refused), table))
    lines += overview.folded("Deployment: latency of pruned models, integer-only checks, tensor arenas",
                             deployment.section(frame, params, table))
    lines += overview.folded("Claims of the study: rules and evidence", _claims(claims, params))
    lines += overview.folded("Reproduction of arXiv 2305.08075", reproduction(
        found, stats, pairs if pairs is not None else R.loss_pairs(stats, params),
        (reference or {}).get("source", "arXiv 2305.08075"), temperature, chosen,
        R.architecture_notes(params.get("zoo", {}))))
    lines += overview.folded("What was run: models, schemes, parameters, versions, data",
                             run_facts.what_was_run(params, frame, facts, code, packages))
    lines += overview.folded("Wall time per rule", run_facts.wall_time(times))
    return "\n".join(lines).rstrip("\n") + "\n"
