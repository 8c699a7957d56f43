"""report: results.csv, summary.json, report.md, Pareto figures and plot data
from every metrics JSON, the stage records, the dataset facts and the study's
published figures.

Deterministic: the same inputs give byte-identical files (stable ordering,
fixed float formats, no timestamps, PNGs without software metadata). Imports no
TensorFlow: package versions come from importlib.metadata."""
from __future__ import annotations

import math
import subprocess
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from . import claims as C
from . import io, matrix

# ---- output paths (relative to the workflow root; "reports" is out_dir) ------
RESULTS = "reports/results.csv"
SUMMARY = "reports/summary.json"
REPORT = "reports/report.md"
FIGURE = "reports/figures/{dataset}-pareto.png"
PLOT_DATA = "reports/plots/{dataset}.csv"

TEACHER = C.TEACHER
COLUMNS = ["dataset", "variant", "base", "prune", "quant", "seed", "accuracy", "accuracy_delta_pp",
           "tflite_bytes", "gzip_bytes", "compression_ratio", "params", "nonzero_params", "sparsity",
           "latency_ms", "efficiency"]
EXTRAS = ["input_dtype", "output_dtype", "wall_seconds"]
INT_COLUMNS = ["seed", "tflite_bytes", "gzip_bytes", "params", "nonzero_params"]
FLOAT_DIGITS = {"accuracy": 6, "accuracy_delta_pp": 4, "compression_ratio": 4, "sparsity": 6,
                "latency_ms": 4, "efficiency": 6, "wall_seconds": 2}

KB = 1000          # table sizes in kB (10^3 bytes)
MB = 1_000_000     # efficiency = accuracy / gzip MB (10^6 bytes), the study's "accuracy relative to size"
MIB = 2 ** 20      # the study reports .tflite sizes in MiB
WITHIN_PP = 1.0    # summary: the smallest variant within this many pp of the teacher

PACKAGES = ["tensorflow", "tf-keras", "tensorflow-model-optimization", "ai-edge-litert", "snakemake",
            "dvc", "numpy", "pandas"]
STAGE_KINDS = ["train", "distill", "prune", "convert", "qat", "evaluate"]
PARETO_MARK, EFFICIENCY_MARK = "◆", "★"
DASH = "—"

# The study's configurations (reports/reference/arxiv-2305.08075.yaml) -> our variant.
# None: the study ran it, our matrix has no counterpart.
REFERENCE_MAP = {
    ("quantization_notebook", "teacher_float32"): "teacher+none+float32",
    ("quantization_notebook", "teacher_qat_int8"): "teacher+none+qat",
    ("quantization_notebook", "teacher_ptq_dynamic"): "teacher+none+ptq-dynamic",
    ("quantization_notebook", "teacher_ptq_fp16"): "teacher+none+ptq-fp16",
    ("quantization_notebook", "student_kd_float32"): "student-kd+none+float32",
    ("quantization_notebook", "student_kd_qat"): "student-kd+none+qat",
    ("quantization_notebook", "student_kd_ptq_dynamic"): "student-kd+none+ptq-dynamic",
    ("quantization_notebook", "student_kd_ptq_fp16"): "student-kd+none+ptq-fp16",
    ("quantization_notebook", "student_scratch"): "student-scratch+none+float32",
    ("distillation_notebook", "teacher"): "teacher+none+float32",
    ("distillation_notebook", "ta"): "ta+none+float32",
    ("distillation_notebook", "student_takd"): "student-takd+none+float32",
    ("distillation_notebook", "student_kd"): "student-kd+none+float32",
    ("distillation_notebook", "student_scratch"): "student-scratch+none+float32",
    ("pruning_notebook", "teacher_before"): "teacher+none+float32",
    ("pruning_notebook", "teacher_pruned"): "teacher+local-all+float32",
    ("sequential_notebook", "teacher"): "teacher+none+float32",
    ("sequential_notebook", "teacher_pruned"): "teacher+local-all+float32",
    ("sequential_notebook", "student_kd"): "student-kd+none+float32",
    ("sequential_notebook", "student_kd_pruned"): "student-kd+local-all+float32",
}
# {temperature: accuracy} of the study's KD temperature sweep: the entry at our
# temperature is compared with student-kd+none+float32, the others were not run.
TEMPERATURE_SWEEPS = {("distillation_notebook", "temperature_sweep_student_kd"): "student-kd+none+float32"}

STUDY_BUGS = [
    "its KD loss lacks the T² factor on the soft term (we use alpha·CE + (1 − alpha)·T²·KL, Hinton et al.);",
    "its \"conv-only\" pruning wrapped the whole model, so it pruned the dense layers too (our `local-conv` "
    "prunes only Conv2D kernels, `local-dense` only Dense kernels);",
    "it never chained KD → pruning → quantization (its sequential notebook stops after pruning; "
    "\"Distill\" and \"Quant→Distill\" are the same model object) — our matrix runs every combination;",
    "it ran one seed, so differences of a few tenths of a point were read as effects — we report the noise "
    "and run as many seeds as `seeds` lists;",
    "it trained with Keras' default batch size 32 (ours is `train.batch_size`).",
]


# ---- results ----------------------------------------------------------------

def _orders(params: dict) -> dict[str, list]:
    m = params.get("matrix", {}) or {}
    bases = list(m.get("bases", []))
    return {"dataset": list(m.get("datasets", [])),
            "base": bases + [b for b in matrix.BASES if b not in bases],
            "prune": list(m.get("prune", [])), "quant": list(m.get("quant", []))}


def _sorted(df: pd.DataFrame, params: dict, with_seed: bool = True) -> pd.DataFrame:
    """Matrix order (datasets, bases, pruning, quantization), then seed; unknown names last, by name."""
    df = df.copy()
    keys = []
    for col, order in _orders(params).items():
        rank = {v: i for i, v in enumerate(order)}
        df[f"_r_{col}"] = df[col].map(lambda v: rank.get(v, len(order)))
        keys += [f"_r_{col}", col]
    if with_seed:
        keys.append("seed")
    df = df.sort_values(keys, kind="mergesort")
    return df.drop(columns=[c for c in df if c.startswith("_r_")]).reset_index(drop=True)


def results_frame(records, params: dict) -> pd.DataFrame:
    """One row per metrics record in matrix order, with the comparisons against the
    same dataset's and seed's teacher+none+float32: accuracy_delta_pp and compression_ratio."""
    df = pd.DataFrame([dict(r) for r in records])
    if df.empty:
        return pd.DataFrame(columns=COLUMNS + EXTRAS)
    if "variant" not in df:
        df["variant"] = [matrix.variant(b, p, q) for b, p, q in zip(df["base"], df["prune"], df["quant"])]
    parts = df["variant"].map(matrix.parse_variant)
    for i, col in enumerate(["base", "prune", "quant"]):
        df[col] = df[col].fillna(parts.str[i]) if col in df else parts.str[i]
    for col in COLUMNS + EXTRAS:
        if col not in df:
            df[col] = np.nan
    df["seed"] = df["seed"].astype(int)
    df = _sorted(df, params)
    teacher = df[df["variant"] == TEACHER].drop_duplicates(["dataset", "seed"]).set_index(["dataset", "seed"])
    key = pd.MultiIndex.from_frame(df[["dataset", "seed"]])
    t_acc = teacher["accuracy"].astype(float).reindex(key).to_numpy()
    t_gz = teacher["gzip_bytes"].astype(float).reindex(key).to_numpy()
    df["accuracy_delta_pp"] = 100.0 * (df["accuracy"].astype(float).to_numpy() - t_acc)
    df["compression_ratio"] = t_gz / df["gzip_bytes"].astype(float).to_numpy()
    extras = [c for c in df if c not in COLUMNS + EXTRAS]
    return df[COLUMNS + EXTRAS + extras]


def pareto(frame: pd.DataFrame) -> pd.Series:
    """True where no other row (of the same dataset, if the frame has several) is at
    least as accurate and at most as large in gzip bytes, and strictly better in one."""
    acc = frame["accuracy"].astype(float).to_numpy()
    gz = frame["gzip_bytes"].astype(float).to_numpy()
    groups = frame["dataset"].to_numpy() if "dataset" in frame else np.zeros(len(frame))
    out = np.zeros(len(frame), dtype=bool)
    for g in pd.unique(groups):
        idx = np.flatnonzero(groups == g)
        a, s = acc[idx], gz[idx]
        for k, i in enumerate(idx):
            if math.isnan(a[k]) or math.isnan(s[k]):
                continue
            dominated = (a >= a[k]) & (s <= s[k]) & ((a > a[k]) | (s < s[k]))
            out[i] = not dominated.any()
    return pd.Series(out, index=frame.index, name="pareto")


def _num(v, digits: int) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    text = f"{float(v):.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def csv_text(frame: pd.DataFrame) -> str:
    out = frame.copy()
    for col in out:
        if col in FLOAT_DIGITS:
            out[col] = [_num(v, FLOAT_DIGITS[col]) for v in out[col]]
        elif col in INT_COLUMNS:
            out[col] = ["" if pd.isna(v) else str(int(v)) for v in out[col]]
    return out.to_csv(index=False, lineterminator="\n")


# ---- summary ----------------------------------------------------------------

def summary(stats: pd.DataFrame, frame: pd.DataFrame) -> dict:
    """Per dataset, flat numbers (and variant names) for `dvc metrics diff`."""
    out = {}
    for ds in dict.fromkeys(stats["dataset"]):
        st = stats[stats["dataset"] == ds].reset_index(drop=True)
        rows = frame[frame["dataset"] == ds]
        d = {"cells": int(len(rows)), "variants": int(len(st)), "seeds": int(rows["seed"].nunique()),
             "seed_list": " ".join(str(s) for s in sorted(rows["seed"].unique()))}
        t = st[st["variant"] == TEACHER]
        if len(t):
            d["teacher_float32_accuracy"] = round(float(t["accuracy"].iloc[0]), 6)
            d["teacher_float32_gzip_bytes"] = int(round(float(t["gzip_bytes"].iloc[0])))
        best = st.loc[st["accuracy"].idxmax()]
        d["best_accuracy_variant"], d["best_accuracy"] = best["variant"], round(float(best["accuracy"]), 6)
        if st["efficiency"].notna().any():
            eff = st.loc[st["efficiency"].idxmax()]
            d["best_efficiency_variant"] = eff["variant"]
            d["best_efficiency"] = round(float(eff["efficiency"]), 6)
        if len(t):
            ok = st[st["accuracy"] >= float(t["accuracy"].iloc[0]) - WITHIN_PP / 100.0 - 1e-12]
            small = ok.loc[ok["gzip_bytes"].idxmin()]
            d["smallest_within_1pp_variant"] = small["variant"]
            d["smallest_within_1pp_accuracy"] = round(float(small["accuracy"]), 6)
            d["smallest_within_1pp_gzip_bytes"] = int(round(float(small["gzip_bytes"])))
            d["smallest_within_1pp_compression"] = round(float(small["compression_ratio"]), 4)
        out[ds] = d
    return out


# ---- figure -----------------------------------------------------------------

def figure(st: pd.DataFrame, dataset: str, params: dict, path) -> None:
    """Accuracy vs gzip size (log x); colour = quantization, marker = pruning; Pareto front as a step line."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    orders = _orders(params)
    quants = orders["quant"] + sorted(q for q in set(st["quant"]) if q not in orders["quant"])
    prunes = orders["prune"] + sorted(p for p in set(st["prune"]) if p not in orders["prune"])
    cmap = colormaps["tab10"]
    colour = {q: cmap(i % 10) for i, q in enumerate(quants)}
    markers = ["o", "s", "^", "v", "D", "P", "X", "*", "<", ">", "h", "p"]
    marker = {p: markers[i % len(markers)] for i, p in enumerate(prunes)}

    fig = Figure(figsize=(10, 6), dpi=100)
    ax = fig.add_axes((0.08, 0.1, 0.62, 0.82))
    for (q, p), g in st.groupby(["quant", "prune"], sort=False):
        x, y = g["gzip_bytes"].to_numpy(float), 100.0 * g["accuracy"].to_numpy(float)
        if (g["n"] >= 2).any():
            ax.errorbar(x, y, yerr=100.0 * g["accuracy_std"].fillna(0).to_numpy(float), fmt="none",
                        ecolor=colour[q], elinewidth=0.8, alpha=0.6)
        ax.scatter(x, y, c=[colour[q]], marker=marker[p], s=36, edgecolors="black", linewidths=0.4)
    front = st[pareto(st).to_numpy()].sort_values(["gzip_bytes", "accuracy"], kind="mergesort")
    if len(front):
        ax.step(front["gzip_bytes"].to_numpy(float), 100.0 * front["accuracy"].to_numpy(float), where="post",
                color="black", linewidth=1.0)
        for _, r in front.iterrows():
            ax.annotate(r["base"], (float(r["gzip_bytes"]), 100.0 * float(r["accuracy"])), fontsize=6,
                        xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("gzip-compressed .tflite size (bytes, log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{dataset}: accuracy vs size")
    ax.grid(True, which="both", linewidth=0.3, alpha=0.5)
    q_handles = [Line2D([], [], linestyle="", marker="o", color=colour[q], label=q) for q in quants
                 if q in set(st["quant"])]
    p_handles = [Line2D([], [], linestyle="", marker=marker[p], color="grey", label=p) for p in prunes
                 if p in set(st["prune"])]
    front_handle = [Line2D([], [], color="black", linewidth=1.0, label="Pareto front")]
    first = ax.legend(handles=q_handles, title="quantization", loc="upper left", bbox_to_anchor=(1.02, 1.0),
                      fontsize=8, title_fontsize=8)
    ax.add_artist(first)
    ax.legend(handles=p_handles + front_handle, title="pruning", loc="upper left", bbox_to_anchor=(1.02, 0.55),
              fontsize=8, title_fontsize=8)
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})


# ---- provenance -------------------------------------------------------------

def code_version(root=".") -> str:
    """Short commit of the workflow root, "+ uncommitted changes" when the code differs from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=30)
        if head.returncode != 0 or not head.stdout.strip():
            return "unknown"
        status = subprocess.run(["git", "status", "--porcelain", "--", "src", "workflow", "Snakefile",
                                 "params.yaml"], cwd=root, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    dirty = status.returncode != 0 or status.stdout.strip()
    return head.stdout.strip() + (" + uncommitted changes" if dirty else "")


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def stage_kind(path, record: dict) -> str:
    """train, distill, prune, convert or qat for a stage record (models/… or tflite/… JSON)."""
    parts = Path(path).parts
    if "quant" in record or "tflite" in parts:
        scheme = record.get("scheme") or {}
        return "qat" if scheme.get("method") == "qat" or "qat_scheme" in record else "convert"
    if "prune" in record or "pruned" in parts:
        return "prune"
    if record.get("distilled_from") or "ta" in parts or "distill" in parts:
        return "distill"
    return "train"


def stage_times(stages: list[tuple[str, dict]], metrics: list[dict]) -> pd.DataFrame:
    rows = [(stage_kind(p, r), float(r.get("wall_seconds", float("nan")))) for p, r in stages]
    rows += [("evaluate", float(r.get("wall_seconds", float("nan")))) for r in metrics]
    df = pd.DataFrame(rows, columns=["stage", "seconds"])
    out = []
    for kind in STAGE_KINDS + sorted(set(df["stage"]) - set(STAGE_KINDS)):
        s = df.loc[df["stage"] == kind, "seconds"].dropna()
        if len(s):
            out.append({"stage": kind, "jobs": len(s), "total s": s.sum(), "mean s": s.mean(), "max s": s.max()})
    return pd.DataFrame(out, columns=["stage", "jobs", "total s", "mean s", "max s"])


# ---- markdown ---------------------------------------------------------------

def _md(df: pd.DataFrame) -> str:
    return df.to_markdown(index=False, tablefmt="github", disable_numparse=True)


def _settings(d: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in d.items()) if isinstance(d, dict) else str(d)


def _pm(mean, std, n, digits: int, scale: float = 1.0) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return DASH
    text = _num(scale * float(mean), digits)
    if n >= 2 and std is not None and not math.isnan(float(std)):
        text += f" ± {_num(scale * float(std), digits)}"
    return text


def _int(v) -> str:
    return DASH if v is None or (isinstance(v, float) and math.isnan(v)) else f"{int(round(float(v)))}"


def variant_table(st: pd.DataFrame) -> pd.DataFrame:
    """The per-dataset table of every variant: means (± std over seeds), marks."""
    front = pareto(st).to_numpy()
    best_eff = st["efficiency"].astype(float).idxmax() if st["efficiency"].notna().any() else None
    rows = []
    for i, (_, r) in enumerate(st.iterrows()):
        n = int(r["n"])
        mark = (PARETO_MARK if front[i] else "") + (EFFICIENCY_MARK if r.name == best_eff else "")
        rows.append({
            "variant": f"`{r['variant']}`", "mark": mark,
            "accuracy %": _pm(r["accuracy"], r["accuracy_std"], n, 2, 100.0),
            "Δ pp": _pm(r["delta_pp"], r["delta_pp_std"], n, 2),
            ".tflite KB": _num(float(r["tflite_bytes"]) / KB, 1) or DASH,
            "gzip KB": _num(float(r["gzip_bytes"]) / KB, 1) or DASH,
            "compression ×": _num(r["compression_ratio"], 2) or DASH,
            "params": _int(r["params"]), "non-zero": _int(r["nonzero_params"]),
            "sparsity %": _num(100.0 * float(r["sparsity"]), 2) or DASH,
            "latency ms": _pm(r["latency_ms"], r["latency_ms_std"], n, 3),
            "efficiency": _pm(r["efficiency"], r["efficiency_std"], n, 2),
        })
    return pd.DataFrame(rows)


def _what_was_run(params: dict, frame: pd.DataFrame, facts: dict, root) -> list[str]:
    m = params.get("matrix", {})
    tr, kd, pr = params.get("train", {}), params.get("distill", {}), params.get("prune", {})
    qs = params.get("quantize", {}).get("schemes", {})
    ev = params.get("evaluate", {})
    seeds_run = sorted(int(s) for s in frame["seed"].unique()) if len(frame) else []
    lines = ["## What was run", "",
             f"- Datasets: {', '.join(m.get('datasets', []))}",
             f"- Seeds: {', '.join(str(s) for s in params.get('seeds', []))} "
             f"(results present for {len(seeds_run)} seed(s): {', '.join(map(str, seeds_run)) or 'none'})",
             f"- Metrics files: {len(frame)}",
             f"- Code version: `{code_version(root)}`", ""]
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
    lines += ["### Base models", "", _md(pd.DataFrame(rows)), ""]
    lines += ["### Pruning schemes", "",
              _md(pd.DataFrame([{"scheme": k, "settings": _settings(v)} for k, v in pr.get("schemes", {}).items()
                                if k in m.get("prune", [])] or [{"scheme": "none", "settings": ""}])),
              "", "`none` = the unpruned base model.", ""]
    lines += ["### Quantization schemes", "",
              _md(pd.DataFrame([{"scheme": k, "settings": _settings(v)} for k, v in qs.items()
                                if k in m.get("quant", [])] or [{"scheme": DASH, "settings": ""}])), ""]
    ft = pr.get("fine_tune", {})
    qat = next((v for v in qs.values() if isinstance(v, dict) and v.get("method") == "qat"), {})
    lines += ["### Key parameters", "",
              f"- Training: optimizer {tr.get('optimizer')}, learning rate {tr.get('learning_rate')}, "
              f"batch size {tr.get('batch_size')}, augmentation {tr.get('augment')}",
              f"- Knowledge distillation: alpha {kd.get('alpha')} (weight of the hard-label loss), "
              f"temperature T {kd.get('temperature')}, soft loss scaled by T²",
              f"- Pruning fine-tune: {ft.get('epochs')} epochs, batch size {ft.get('batch_size')}, "
              f"learning rate {ft.get('learning_rate')}",
              f"- QAT: {qat.get('epochs', DASH)} epochs, batch size {qat.get('batch_size', DASH)}, "
              f"learning rate {qat.get('learning_rate', DASH)}",
              f"- Validation split: {params.get('data.val_size')} images (split seed {params.get('data.split_seed')})",
              f"- Evaluation: batch {ev.get('batch_size')}, latency = median of {ev.get('latency_runs')} "
              f"single-image runs on one thread after {ev.get('warmup_runs')} warm-up runs", ""]
    lines += ["### Package versions", "",
              _md(pd.DataFrame([{"package": k, "version": v} for k, v in package_versions().items()])), ""]
    if facts:
        counts = [{"dataset": ds, **{k: str(v) for k, v in f.get("counts", {}).items()}} for ds, f in facts.items()]
        sums = [{"dataset": ds, "array": k, "sha256 (first 16 hex)": str(v)[:16]}
                for ds, f in facts.items() for k, v in sorted(f.get("sha256", {}).items())]
        lines += ["### Datasets", "", _md(pd.DataFrame(counts).fillna(DASH)), "", _md(pd.DataFrame(sums)), ""]
    return lines


def _claims_md(claims: list) -> list[str]:
    lines = ["## Claims of the study", "",
             "Each claim of arXiv 2305.08075 is tested on our numbers by the rule stated with it. A difference "
             f"counts only if it exceeds the noise = {C.NOISE_SIGMAS:g}·sqrt(se_a² + se_b²), with se the std over "
             "seeds / sqrt(n) when there are ≥ 2 seeds, else the binomial standard error sqrt(p(1 − p)/n_test) "
             "of one test-set evaluation. A difference within the noise is \"not shown\", never \"confirmed\"; "
             "\"not run\" means the variants the claim needs are not in the matrix.", ""]
    datasets = list(dict.fromkeys(ds for c in claims for ds in c.verdicts))
    overview = [{"claim": f"{c.id}: {c.statement}", **{ds: c.verdicts.get(ds, DASH) for ds in datasets}}
                for c in claims]
    if overview:
        lines += [_md(pd.DataFrame(overview)), ""]
    for c in claims:
        lines += [f"### {c.id}: {c.statement}", "", f"Rule: {c.rule}", ""]
        for ds in datasets:
            lines += [f"**{ds}: {c.verdicts[ds]}.**", "", c.evidence[ds], ""]
    return lines


def _study_value(value) -> dict:
    return value if isinstance(value, dict) else {"accuracy": value}


def reproduction(reference: dict, stats: pd.DataFrame, params: dict) -> list[str]:
    lines = ["## Reproduction of arXiv 2305.08075", "",
             f"Source: {reference.get('source', 'arXiv 2305.08075')}. For every configuration of the study, its "
             "number next to ours (mean over seeds) and ours − study. Accuracy in %, differences in percentage "
             "points; .tflite sizes in MiB (2^20 bytes). The study's `gzip_h5_bytes` is a gzip-compressed Keras "
             ".h5 file, ours a gzip-compressed .tflite: the formats differ, so only the order of magnitude is "
             f"comparable. {DASH} = not in our matrix (or no number).", ""]
    temperature = params.get("distill", {}).get("temperature")
    for ds, notebooks in reference.items():
        if not isinstance(notebooks, dict):
            continue
        ours = stats[stats["dataset"] == ds].set_index("variant")
        rows = []

        def add(notebook, config, variant, quantity, study, get):
            have = variant is not None and variant in ours.index
            mine = get(ours.loc[variant]) if have else None
            if mine is not None and math.isnan(mine):
                mine = None
            o = d = None
            if quantity == "accuracy %":
                s = f"{100 * study:.2f}"
                if mine is not None:
                    o, d = f"{100 * mine:.2f}", f"{100 * (mine - study):+.2f}"
            elif quantity == ".tflite MiB":
                s = f"{study:.4f}"
                if mine is not None:
                    o, d = f"{mine / MIB:.4f}", f"{mine / MIB - study:+.4f}"
            else:
                s = f"{int(study)}"
                if mine is not None:
                    o, d = f"{int(round(mine))}", f"{int(round(mine - study)):+d}"
            rows.append({"notebook": notebook, "configuration": config,
                         "our variant": f"`{variant}`" if variant else DASH, "quantity": quantity,
                         "study": s, "ours": o or DASH, "ours − study": d or DASH})

        for notebook, configs in notebooks.items():
            if not isinstance(configs, dict):
                continue
            for config, value in configs.items():
                if (notebook, config) in TEMPERATURE_SWEEPS:
                    for t, acc in value.items():
                        same = temperature is not None and float(t) == float(temperature)
                        variant = TEMPERATURE_SWEEPS[(notebook, config)] if same else None
                        if same:
                            add(notebook, f"{config} T={t}", variant, "accuracy %", acc, lambda r: r["accuracy"])
                        else:
                            rows.append({"notebook": notebook, "configuration": f"{config} T={t}",
                                         "our variant": "not run", "quantity": "accuracy %",
                                         "study": f"{100 * acc:.2f}", "ours": DASH, "ours − study": DASH})
                    continue
                variant = REFERENCE_MAP.get((notebook, config))
                v = _study_value(value)
                if "accuracy" in v:
                    add(notebook, config, variant, "accuracy %", float(v["accuracy"]), lambda r: float(r["accuracy"]))
                if "tflite_mib" in v:
                    add(notebook, config, variant, ".tflite MiB", float(v["tflite_mib"]),
                        lambda r: float(r["tflite_bytes"]))
                if "gzip_h5_bytes" in v:
                    add(notebook, config, variant, "gzip bytes (study .h5, ours .tflite)", float(v["gzip_h5_bytes"]),
                        lambda r: float(r["gzip_bytes"]))
        lines += [f"### {ds}", "", _md(pd.DataFrame(rows)) if rows else "No configurations.", ""]
    lines += ["Known problems of the study's code that this benchmark corrects:", ""]
    lines += [f"- {b}" for b in STUDY_BUGS] + [""]
    return lines


def _path(pattern: str, out_dir: Path, **kw) -> Path:
    return out_dir / pattern.format(**kw).removeprefix("reports/")


def markdown(frame, stats, claims, reference, params, facts, times, root, out_dir) -> str:
    datasets = list(dict.fromkeys(stats["dataset"]))
    lines = ["# compressbench report", "",
             "Knowledge distillation, pruning and quantization of the models of arXiv 2305.08075 on "
             f"{', '.join(datasets) or 'no dataset'}, every combination measured as a deployable .tflite with LiteRT.",
             ""]
    lines += _what_was_run(params, frame, facts, root)
    lines += ["## Results", "",
              "Efficiency is the study's \"accuracy relative to size\": accuracy (fraction) / gzip MB, with "
              "MB = 10^6 bytes of the gzip -9 compressed .tflite. KB = 10^3 bytes. Δ pp = accuracy − accuracy of "
              f"`{TEACHER}` (same dataset) in percentage points; compression × = teacher's gzip bytes / the "
              "variant's. Sparsity = share of zero weights. Latency = median single-image invocation on one "
              f"thread. {PARETO_MARK} = Pareto-optimal (no other variant is at least as accurate and at most as "
              f"large in gzip bytes, and strictly better in one); {EFFICIENCY_MARK} = best efficiency.", ""]
    if frame["seed"].nunique() > 1:
        lines += ["With several seeds every number is the mean over seeds (± the standard deviation across "
                  "seeds); Pareto marks, comparisons and claims use the means.", ""]
    for ds in datasets:
        st = stats[stats["dataset"] == ds].reset_index(drop=True)
        fig = _path(FIGURE, Path("."), dataset=ds).as_posix()
        lines += [f"### {ds}", "", f"![{ds}: accuracy vs gzip size]({fig})", "", _md(variant_table(st)), ""]
    lines += _claims_md(claims)
    lines += reproduction(reference or {}, stats, params)
    lines += ["## Wall time per stage", "",
              "From the stage records (train = baseline teacher and scratch student; distill = TA and KD "
              "students; convert = one post-training export each) and the metrics files (evaluate).", ""]
    if len(times):
        shown = times.copy()
        for c in ["total s", "mean s", "max s"]:
            shown[c] = [f"{v:.1f}" for v in shown[c]]
        shown["jobs"] = shown["jobs"].astype(str)
        lines += [_md(shown), ""]
    else:
        lines += ["No stage records.", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def build(metrics_paths, stage_paths, facts_paths, reference_path, params: dict, out_dir="reports",
          root=".") -> None:
    """Write results.csv, summary.json, report.md, the Pareto figures and plot data under out_dir."""
    root = Path(root)
    out = root / out_dir
    metrics = [io.read_json(root / p) for p in metrics_paths]
    stages = [(str(p), io.read_json(root / p)) for p in stage_paths]
    facts = {}
    for p in facts_paths:
        f = io.read_json(root / p)
        facts[f.get("dataset", Path(p).stem)] = f
    reference = {}
    if reference_path:
        with open(root / reference_path) as fh:
            reference = yaml.safe_load(fh) or {}
    frame = results_frame(metrics, params)
    stats = C.variant_stats(frame)
    n_test = {ds: int(f.get("counts", {}).get("test", C.DEFAULT_N_TEST)) for ds, f in facts.items()}
    claims = C.evaluate_claims(frame, n_test)

    io.write_text(_path(RESULTS, out), csv_text(frame))
    io.write_json(_path(SUMMARY, out), summary(stats, frame))
    for ds in dict.fromkeys(stats["dataset"]):
        st = stats[stats["dataset"] == ds].reset_index(drop=True)
        plot = pd.DataFrame({"variant": st["variant"],
                             "gzip_bytes": [_int(v) for v in st["gzip_bytes"]],
                             "accuracy": [_num(v, 6) for v in st["accuracy"]]})
        io.write_text(_path(PLOT_DATA, out, dataset=ds), plot.to_csv(index=False, lineterminator="\n"))
        figure(st, ds, params, _path(FIGURE, out, dataset=ds))
    times = stage_times(stages, metrics)
    io.write_text(_path(REPORT, out), markdown(frame, stats, claims, reference, params, facts, times, root, out))
