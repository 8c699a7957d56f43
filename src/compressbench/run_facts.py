"""The report's folded record of the run: what was run (models, schemes, parameters,
versions, data) and the wall time per rule."""
from __future__ import annotations

import pandas as pd

from . import matrix
from . import protocol_frames as PF
from .results import DASH
from .tables import table


def _settings(d: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in d.items()) if isinstance(d, dict) else str(d)


def what_was_run(params: dict, frame: pd.DataFrame, facts: dict, code: str, packages: dict) -> list[str]:
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
    protocols = params.get("protocols") or {}
    rows = []
    for b in m.get("bases", []):
        info = matrix.BASES.get(b)
        row = {"base": b, "architecture": info.arch if info else DASH,
               "trained from": f"KD from {info.teacher}" if info and info.teacher else "labels"}
        for ds in m.get("datasets", []):
            layers = zoo.get(ds, {}).get(info.arch if info else b, [])
            row[f"{ds} layers"] = " → ".join(_settings(layer) for layer in layers) or DASH
            # the epochs of its protocol (the matrix's family), else train's (older params)
            p = (protocols.get(ds) or {}).get(b) or {}
            row[f"{ds} epochs"] = str(p.get("epochs", (tr.get("epochs") or {}).get(ds, {}).get(b, DASH)))
        rows.append(row)
    lines += ["### Base models", "", f"The matrix's bases, trained under the `{PF.matrix_family(params)}` "
              "protocol (the protocol families' table on the first screen has every family's settings).", "",
              table(pd.DataFrame(rows)), ""]
    derived = params.get("derived") or {}
    if derived:
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
              f"- Training: each base model by its protocol family (the first screen's table); `train`, the "
              f"study's: optimizer {tr.get('optimizer')}, learning rate {tr.get('learning_rate')} "
              f"({tr.get('schedule', 'constant')}), batch size {tr.get('batch_size')}, data "
              f"{tr.get('data', 'train')}, augmentation {tr.get('augment')}, precision {tr.get('precision')}",
              f"- Knowledge distillation: alpha {kd.get('alpha')} (weight of the hard-label loss), "
              f"temperature T {kd.get('temperature')}, soft loss "
              + ("scaled by T²" if kd.get("t_squared", True) else "not scaled by T² (the study's loss)"),
              f"- Pruning fine-tune: {ft.get('epochs')} epochs (a scheme's own `epochs` instead), batch size "
              f"{ft.get('batch_size')}, learning rate {ft.get('learning_rate')}, scheduled and augmented as its "
              "model's protocol family says (`fine_tune`)",
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


def wall_time(times: pd.DataFrame) -> list[str]:
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
