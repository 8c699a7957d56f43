"""The text of report.md: what was run, the variant tables, the claims, the
reproduction of arXiv 2305.08075 and the wall time per rule.

Pure text from the results, stats, claims and provenance passed in; no I/O."""
from __future__ import annotations

import pandas as pd

from . import claims as C
from . import controls, deployment, matrix, overview, selection
from . import reproduction as R
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


def _settings(d: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in d.items()) if isinstance(d, dict) else str(d)


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


# ---- what was run -----------------------------------------------------------

def _what_was_run(params: dict, frame: pd.DataFrame, facts: dict, code: str, packages: dict) -> list[str]:
    m = params.get("matrix", {})
    tr, kd, pr = params.get("train", {}), params.get("distill", {}), params.get("prune", {})
    qs = params.get("quantize", {}).get("schemes", {})
    ev = params.get("evaluate", {})
    lat = params.get("latency", {})
    seeds_run = sorted(int(s) for s in frame["seed"].unique()) if len(frame) else []
    lines = ["## What was run", "",
             f"- Datasets: {', '.join(m.get('datasets', []))}",
             f"- Seeds: {', '.join(str(s) for s in params.get('seeds', []))} "
             f"(results present for {len(seeds_run)} seed(s): {', '.join(map(str, seeds_run)) or 'none'})",
             f"- Metrics files: {len(frame)}",
             f"- Code version: `{code}`", ""]
    zoo = params.get("zoo", {})
    epochs = tr.get("epochs", {})
    rows = []
    for b in m.get("bases", []):
        info = matrix.BASES.get(b)
        row = {"base": b, "architecture": info.arch if info else DASH,
               "trained from": f"KD from {info.teacher}" if info and info.teacher else "labels"}
        for ds in m.get("datasets", []):
            layers = zoo.get(ds, {}).get(info.arch if info else b, [])
            row[f"{ds} layers"] = " → ".join(_settings(layer) for layer in layers) or DASH
            row[f"{ds} epochs"] = str(epochs.get(ds, {}).get(b, DASH))
        rows.append(row)
    lines += ["### Base models", "", table(pd.DataFrame(rows)), ""]
    derived = params.get("derived") or {}
    if derived:
        protocols = params.get("protocols") or {}
        rows = []
        for name, d in derived.items():
            changed = {**({"arch": d["arch"]} if "arch" in d else {}), **d.get("train", {}), **d.get("distill", {})}
            cells = (f"{', '.join(d.get('datasets', m.get('datasets', [])))}: prune {', '.join(d.get('prune', ['none']))}; "
                     f"quant {', '.join(d.get('quant', ['float32']))}")
            first = next((p[name] for p in protocols.values() if name in p), {})
            rows.append({"base": name, "trained like": d["like"], "teacher": d.get("teacher", DASH),
                         "changed": _settings(changed) or DASH, "epochs": str(first.get("epochs", DASH)),
                         "cells": cells})
        lines += ["### Derived base models (the study's protocols, sweeps)", "", table(pd.DataFrame(rows)), ""]
    if len(frame):
        runs = frame.groupby(["dataset", "variant"]).agg(seeds=("seed", "nunique"), fts=("ft_seed", "nunique"))
        counts = runs.value_counts().sort_index()
        lines += ["### Seeds per variant", "",
                  table([[str(s), str(f), str(n)] for (s, f), n in counts.items()],
                        ["training seeds", "fine-tune seeds", "variants"]), "",
                  "Replicates (`matrix.replicates`): " + ("; ".join(
                      _settings(r) for r in m.get("replicates") or []) or "none") + ".", ""]
    cl = params.get("cluster") or {}
    if [k for k in m.get("cluster", []) if k != "none"]:
        cft = cl.get("fine_tune", {})
        lines += ["### Cluster schemes", "", table(pd.DataFrame(
            [{"scheme": k, "settings": _settings(v)} for k, v in cl.get("schemes", {}).items()
             if k in m.get("cluster", [])])), "",
                  f"Fine-tune after clustering: {cft.get('epochs')} epochs, batch size {cft.get('batch_size')}, "
                  f"learning rate {cft.get('learning_rate')}; sparsity kept on pruned models.", ""]
    lines += ["### Pruning schemes", "",
              table(pd.DataFrame([{"scheme": k, "settings": _settings(v)} for k, v in pr.get("schemes", {}).items()
                                  if k in m.get("prune", [])] or [{"scheme": "none", "settings": ""}])),
              "", "`none` = the unpruned base model.", ""]
    lines += ["### Quantization schemes", "",
              table(pd.DataFrame([{"scheme": k, "settings": _settings(v)} for k, v in qs.items()
                                  if k in m.get("quant", [])] or [{"scheme": DASH, "settings": ""}])), ""]
    if m.get("only"):
        sweep_of = {e: name for name, entries in (params.get("sweeps") or {}).items() for e in entries}
        limits = {sweep_of.get(k, k): v for k, v in m["only"].items()}  # a sweep's entries share its limit
        lines += ["### Schemes limited to some cells (`matrix.only`)", "",
                  table(pd.DataFrame([{"scheme": k, "runs only on": "; ".join(
                      f"{axis} {', '.join(map(str, names))}" for axis, names in v.items())}
                      for k, v in limits.items()])), "",
                  "The other cells of these schemes are not in this run: `params.yaml` says why each is "
                  "limited (a control's pairing, the study's protocol, or the compute budget), and deleting "
                  "an entry from `matrix.only` runs them.", ""]
    ft = pr.get("fine_tune", {})
    qat = next((v for v in qs.values() if isinstance(v, dict) and v.get("method") == "qat"), {})
    lines += ["### Key parameters", "",
              f"- Training: optimizer {tr.get('optimizer')}, learning rate {tr.get('learning_rate')} "
              f"({tr.get('schedule', 'constant')}), batch size {tr.get('batch_size')}, data "
              f"{tr.get('data', 'train')}, augmentation {tr.get('augment')}, precision {tr.get('precision')}",
              f"- Knowledge distillation: alpha {kd.get('alpha')} (weight of the hard-label loss), "
              f"temperature T {kd.get('temperature')}, soft loss "
              + ("scaled by T²" if kd.get("t_squared", True) else "not scaled by T² (the study's loss)"),
              f"- Pruning fine-tune: {ft.get('epochs')} epochs, batch size {ft.get('batch_size')}, "
              f"learning rate {ft.get('learning_rate')}",
              f"- QAT: {qat.get('epochs', DASH)} epochs, batch size {qat.get('batch_size', DASH)}, "
              f"learning rate {qat.get('learning_rate', DASH)}",
              f"- Validation split: {params.get('val_size')} images (split seed {params.get('split_seed')})",
              f"- Evaluation: batch {ev.get('batch_size')}; latency in its own job with every core reserved: "
              f"the median of single-image runs (XNNPACK) at 1 thread and at all threads after "
              f"{lat.get('warmup_runs')} warm-up runs, timed until its 95 % CI is within "
              f"±{100 * lat.get('tolerance', 0):g} % (at most {lat.get('max_runs')} runs or "
              f"{lat.get('max_seconds')} s)", ""]
    lines += ["### Package versions", "",
              table(pd.DataFrame([{"package": k, "version": v} for k, v in packages.items()])), ""]
    if facts:
        counts = [{"dataset": ds, **{k: str(v) for k, v in f.get("counts", {}).items()}} for ds, f in facts.items()]
        sums = [{"dataset": ds, "array": k, "sha256 (first 16 hex)": str(v)[:16]}
                for ds, f in facts.items() for k, v in sorted(f.get("sha256", {}).items())]
        lines += ["### Datasets", "", table(pd.DataFrame(counts).fillna(DASH)), "", table(pd.DataFrame(sums)), ""]
    return lines


# ---- claims -----------------------------------------------------------------

def _claims(claims: list) -> list[str]:
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
    datasets = list(dict.fromkeys(ds for c in claims for ds in c.verdicts))
    overview = [{"claim": f"{c.id}: {c.statement}", **{ds: c.verdicts.get(ds, DASH) for ds in datasets}}
                for c in claims]
    if overview:
        lines += [table(pd.DataFrame(overview)), ""]
    for c in claims:
        lines += [f"### {c.id}: {c.statement}", "", f"Rule: {c.rule}", ""]
        for ds in datasets:
            lines += [f"**{ds}: {c.verdicts[ds]}.**", "", c.evidence[ds], ""]
            if c.cells(ds):
                lines += [f"Cells read ({len(c.cells(ds))} variants): "
                          + ", ".join(f"`{v}`" for v in c.cells(ds)) + ".", ""]
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


# ---- wall time --------------------------------------------------------------

def _wall_time(times: pd.DataFrame) -> list[str]:
    lines = ["## Wall time per rule", "",
             "Per Snakemake rule, from the `rule` field of every stage record and metrics file (`unknown` = a "
             "record without one). One job = one record: `convert` writes one per post-training export.", ""]
    if not len(times):
        return lines + ["No stage records.", ""]
    shown = times.copy()
    for c in ["total s", "mean s", "max s"]:
        shown[c] = [f"{v:.1f}" for v in shown[c]]
    shown["jobs"] = shown["jobs"].astype(str)
    return lines + [table(shown), ""]


def document(frame, stats, claims, reference, params, facts, times, *, code: str, packages: dict,
             figure: str, found: dict | None = None, tradeoff: dict[str, str] | None = None,
             sensitivity: str | None = None, temperature: str | None = None, pairs: list | None = None,
             chosen: pd.DataFrame | None = None) -> str:
    """report.md: the first screen (overview.py), then the details folded. code: the code
    version; packages: name -> version; figure, sensitivity: the figures' paths relative to
    report.md, with {dataset} (None: not drawn); tradeoff: dataset -> its trade-off figure's
    path, for the datasets where a pruning sweep ran; temperature: the KD-temperature
    figure's path; found, pairs: the reproduction rows and loss pairs (computed if None); chosen:
    the validation sweeps (selection.choices; None: none)."""
    datasets = list(dict.fromkeys(stats["dataset"]))
    lines = ["# compressbench report", "",
             "Knowledge distillation, pruning and quantization of the models of arXiv 2305.08075, every "
             "combination measured as a deployable .tflite with LiteRT.", ""]
    found = found if found is not None else R.rows(reference or {}, stats, params, {}, frame)
    lines += overview.run_summary(frame, params, code) + overview.verdicts(claims, R.counts(found, params))
    per_dataset = {ds: stats[stats["dataset"] == ds].reset_index(drop=True) for ds in datasets}
    for ds, st in per_dataset.items():
        lines += overview.dataset_screen(ds, st, orders(params), figure.format(dataset=ds),
                                         (tradeoff or {}).get(ds), overview.eight_bit(params, st), params)
    lines += ["## Details", ""]
    for ds, st in per_dataset.items():
        lines += overview.folded(f"All {len(st)} variants: {ds}",
                                 _all_variants(ds, st, frame["seed"].nunique() > 1, params))
    if sensitivity:
        lines += overview.folded("Per-layer sensitivity", [
            "## Per-layer sensitivity", "",
            "Each conv and dense layer pruned alone by magnitude, one-shot, no fine-tune (params `sensitivity`); "
            "tables in `reports/sensitivity/`.", "",
            *[f"![{ds}: per-layer sensitivity]({sensitivity.format(dataset=ds)})\n" for ds in per_dataset]])
    else:
        lines += [SENSITIVITY_NOT_RUN, ""]
    lines += overview.folded("Deployment: latency of pruned models, integer-only checks, tensor arenas",
                             deployment.section(frame, params, table))
    lines += overview.folded("Claims of the study: rules and evidence", _claims(claims))
    lines += overview.folded("Reproduction of arXiv 2305.08075", reproduction(
        found, stats, pairs if pairs is not None else R.loss_pairs(stats, params),
        (reference or {}).get("source", "arXiv 2305.08075"), temperature, chosen,
        R.architecture_notes(params.get("zoo", {}))))
    lines += overview.folded("What was run: models, schemes, parameters, versions, data",
                             _what_was_run(params, frame, facts, code, packages))
    lines += overview.folded("Wall time per rule", _wall_time(times))
    return "\n".join(lines).rstrip("\n") + "\n"
