"""Per dataset: the accuracy-vs-size Pareto figure (PNG) and the CSV of the points it plots.

Deterministic: the PNG carries no software metadata, so the same data give the same bytes."""
from __future__ import annotations

import pandas as pd

from . import claims as C
from . import io
from .results import fmt_int, fmt_num, orders, pareto

MARKERS = ["o", "s", "^", "v", "D", "P", "X", "*", "<", ">", "h", "p"]


def plot_csv(st: pd.DataFrame) -> str:
    """The plotted points of one dataset's variant stats: variant, gzip bytes, accuracy."""
    plot = pd.DataFrame({"variant": st["variant"],
                         "gzip_bytes": [fmt_int(v) for v in st["gzip_bytes"]],
                         "accuracy": [fmt_num(v, 6) for v in st["accuracy"]]})
    return plot.to_csv(index=False, lineterminator="\n")


def figure(st: pd.DataFrame, dataset: str, params: dict, path) -> None:
    """Accuracy vs gzip size (log x); colour = quantization, marker = pruning; Pareto front as a step line."""
    from matplotlib import colormaps       # loaded only when a figure is drawn
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    order = orders(params)
    quants = order["quant"] + sorted(q for q in set(st["quant"]) if q not in order["quant"])
    prunes = order["prune"] + sorted(p for p in set(st["prune"]) if p not in order["prune"])
    cmap = colormaps["tab10"]
    colour = {q: cmap(i % 10) for i, q in enumerate(quants)}
    marker = {p: MARKERS[i % len(MARKERS)] for i, p in enumerate(prunes)}

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


# ---- trade-off curves (sweeps) ----------------------------------------------------

def curves(st: pd.DataFrame, params: dict) -> pd.DataFrame:
    """The points of the trade-off curves: for every pruning sweep (params `sweeps`) and
    each base and quantization it ran with, the unpruned variant then one point per
    value, in value order; method = the sweep's name. Columns as variant stats plus method."""
    schemes = set((params.get("prune") or {}).get("schemes", {}))
    parts = []
    for name, entries in (params.get("sweeps") or {}).items():
        if not set(entries) <= schemes:
            continue  # a sweep of another kind (derived bases, quantization)
        swept = st[st["prune"].isin(entries) & (st["cluster"] == "none")]
        for (base, quant), _ in swept.groupby(["base", "quant"], sort=False):
            names = [f"{base}+none+{quant}"] + [f"{base}+{e}+{quant}" for e in entries]
            pts = st.set_index("variant").reindex(names).dropna(subset=["accuracy"]).reset_index()
            parts.append(pts.assign(method=name, line=f"{base} {name} {quant}"))
    if not parts:
        return pd.DataFrame(columns=["line", "method", "variant", "quant", "compression_ratio", "speedup_theoretical",
                                     "accuracy", "accuracy_std", "n"])
    return pd.concat(parts, ignore_index=True)


def tradeoff_csv(points: pd.DataFrame) -> str:
    """The curves' points, for DVC plots: line, variant, compression, speedup, accuracy."""
    out = pd.DataFrame({"line": points["line"], "variant": points["variant"],
                        "compression_ratio": [fmt_num(v, 4) for v in points["compression_ratio"]],
                        "speedup_theoretical": [fmt_num(v, 4) for v in points["speedup_theoretical"]],
                        "accuracy": [fmt_num(v, 6) for v in points["accuracy"]]})
    return out.to_csv(index=False, lineterminator="\n")


def tradeoff(points: pd.DataFrame, st: pd.DataFrame, dataset: str, path) -> None:
    """Accuracy vs compression (×, vs the teacher's gzip bytes) and vs theoretical speedup
    (dense / non-zero MACs), log x: one line per sweep, base and quantization, mean ±
    std bands where there are several runs; the other variants of the swept bases as dots."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 5), dpi=100)
    axes = [fig.add_axes((0.06, 0.12, 0.36, 0.78)), fig.add_axes((0.48, 0.12, 0.36, 0.78))]
    cmap = colormaps["tab10"]
    others = st[st["base"].isin(set(points["variant"].str.split("+").str[0])) & ~st["variant"].isin(points["variant"])]
    for ax, x, label in zip(axes, ("compression_ratio", "speedup_theoretical"),
                            ("compression × (teacher gzip bytes / variant's, log)",
                             "theoretical speedup × (dense / non-zero MACs, log)")):
        ax.scatter(others[x].astype(float), 100.0 * others["accuracy"].astype(float), s=10, color="lightgrey",
                   edgecolors="grey", linewidths=0.3, label="other variants of these bases")
        for i, (line, g) in enumerate(points.groupby("line", sort=False)):
            xs, ys = g[x].to_numpy(float), 100.0 * g["accuracy"].to_numpy(float)
            ax.plot(xs, ys, marker="o", markersize=3, color=cmap(i % 10), label=line)
            if (g["n"] >= 2).any():
                sd = 100.0 * g["accuracy_std"].fillna(0).to_numpy(float)
                ax.fill_between(xs, ys - sd, ys + sd, color=cmap(i % 10), alpha=0.2)
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("test accuracy (%)")
        ax.grid(True, which="both", linewidth=0.3, alpha=0.5)
    axes[0].set_title(f"{dataset}: accuracy vs compression")
    axes[1].set_title(f"{dataset}: accuracy vs theoretical speedup")
    if points.empty:  # the file is the rule's output on every dataset; say why it is blank
        fig.text(0.45, 0.5, f"no pruning sweep ran on {dataset} (params matrix.only)", ha="center")
    else:
        axes[1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7)
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})


# ---- per-layer sensitivity ----------------------------------------------------------

SENSITIVITY_BLANK = "no per-layer sensitivity ran on {dataset} (params sensitivity.bases)"


def sensitivity(tables: dict[str, pd.DataFrame], dataset: str, path) -> None:
    """Accuracy vs the sparsity of one layer pruned alone, one panel per base model."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5 * max(1, len(tables)), 4.5), dpi=100)
    cmap = colormaps["tab10"]
    width = 0.84 / max(1, len(tables))
    for k, (base, t) in enumerate(tables.items()):
        ax = fig.add_axes((0.07 + k * width + 0.02 * k, 0.12, width - 0.05, 0.78))
        for i, (layer, g) in enumerate(t.groupby("layer", sort=False)):
            ax.plot(g["sparsity"].astype(float), 100.0 * g["accuracy"].astype(float), marker="o", markersize=3,
                    color=cmap(i % 10), label=f"{layer} ({int(g['weights'].iloc[0])} weights)")
        ax.set_xlabel("sparsity of the one pruned layer (magnitude, no fine-tune)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{dataset} {base}")
        ax.grid(True, linewidth=0.3, alpha=0.5)
        ax.legend(fontsize=7, loc="lower left")
    if not tables:  # the file is the rule's output on every dataset; say why it is blank
        fig.text(0.5, 0.5, SENSITIVITY_BLANK.format(dataset=dataset), ha="center")
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})


# ---- KD temperature: the study's loss and ours ----------------------------------------

OURS_LOSS, STUDY_LOSS, STUDY_RUN = "ours, T² (Hinton)", "ours, no T² (the study's loss)", "the study's notebook"
SWEEP_KEY = ("distillation_notebook", "temperature_sweep_student_kd")  # where the study's sweep is published


def temperature_points(stats: pd.DataFrame, pairs: list[dict], reference: dict,
                       n_test: dict | None = None) -> pd.DataFrame:
    """Accuracy against T per dataset and loss: each loss pair (reproduction.loss_pairs)
    gives a point of ours with T² and one of the study's loss as we ran it, with its
    standard error (claims.standard_error: over its seeds, else binomial or the pooled
    seed spread); the study's published sweep is a third series (no error known).
    Columns: dataset, series, temperature, variant, accuracy, accuracy_se, n; in T order."""
    by = stats.set_index(["dataset", "variant"])
    rows = []
    for p in pairs:
        for series, base in ((OURS_LOSS, p["ours"]), (STUDY_LOSS, p["study"])):
            r = by.loc[(p["dataset"], f"{base}+none+float32")]
            se = C.standard_error(r, (n_test or {}).get(p["dataset"], C.DEFAULT_N_TEST))
            rows.append({"dataset": p["dataset"], "series": series, "temperature": float(p["temperature"]),
                         "variant": f"{base}+none+float32", "accuracy": float(r["accuracy"]),
                         "accuracy_se": se, "n": int(r["n"])})
    for ds in dict.fromkeys(p["dataset"] for p in pairs):
        published = (reference.get(ds) or {}).get(SWEEP_KEY[0], {}).get(SWEEP_KEY[1]) or {}
        rows += [{"dataset": ds, "series": STUDY_RUN, "temperature": float(t), "variant": "", "accuracy": float(a),
                  "accuracy_se": float("nan"), "n": 1} for t, a in published.items()]
    cols = ["dataset", "series", "temperature", "variant", "accuracy", "accuracy_se", "n"]
    # a variant in two pairs (one study-loss student against two of ours) is one point
    out = pd.DataFrame(rows, columns=cols).drop_duplicates(["dataset", "series", "temperature", "variant"])
    return out.sort_values(["dataset", "series", "temperature"], kind="mergesort").reset_index(drop=True)


def temperature_csv(points: pd.DataFrame) -> str:
    out = pd.DataFrame({"dataset": points["dataset"], "series": points["series"],
                        "temperature": [fmt_num(v, 4) for v in points["temperature"]],
                        "variant": points["variant"], "accuracy": [fmt_num(v, 6) for v in points["accuracy"]],
                        "accuracy_se": [fmt_num(v, 6) for v in points["accuracy_se"]], "n": points["n"]})
    return out.to_csv(index=False, lineterminator="\n")


def temperature(points: pd.DataFrame, path) -> None:
    """Accuracy vs the KD temperature (log x), one panel per dataset: our loss and the
    study's loss as we ran it (± one standard error) and the study's numbers."""
    from matplotlib.figure import Figure

    datasets = list(dict.fromkeys(points["dataset"]))
    fig = Figure(figsize=(6.5 * max(1, len(datasets)), 4.5), dpi=100)
    style = {OURS_LOSS: ("tab:blue", "o", "-"), STUDY_LOSS: ("tab:orange", "s", "-"), STUDY_RUN: ("black", "x", ":")}
    width = 1.0 / max(1, len(datasets))
    for k, ds in enumerate(datasets):
        ax = fig.add_axes(((k + 0.13) * width, 0.12, 0.83 * width, 0.78))
        for series, (colour, marker, line) in style.items():
            g = points[(points["dataset"] == ds) & (points["series"] == series)]
            if g.empty:
                continue
            ax.errorbar(g["temperature"].to_numpy(float), 100.0 * g["accuracy"].to_numpy(float),
                        yerr=100.0 * g["accuracy_se"].fillna(0).to_numpy(float), color=colour, marker=marker,
                        linestyle=line, markersize=4, capsize=2, label=series)
        ax.set_xscale("log")
        temps = sorted(set(points.loc[points["dataset"] == ds, "temperature"]))
        ax.set_xticks(temps, [f"{t:g}" for t in temps])
        ax.minorticks_off()
        ax.set_xlabel("KD temperature T (log scale)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{ds}: KD student against T")
        ax.grid(True, which="both", linewidth=0.3, alpha=0.5)
        ax.legend(fontsize=8, loc="lower left")
    if not datasets:
        fig.text(0.5, 0.5, "no pair of KD students differing only in T² in this run", ha="center")
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
