"""Per dataset: the accuracy-vs-size Pareto figure (PNG) and the CSV of the points it plots.

Deterministic: the PNG carries no software metadata, so the same data give the same bytes."""
from __future__ import annotations

import pandas as pd

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
