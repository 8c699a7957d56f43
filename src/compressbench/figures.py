"""Per dataset: the accuracy-vs-size Pareto figure (PNG) and the CSV of the points it plots;
the per-layer sensitivity with its data; the KD-temperature figure (the sweeps' figures:
sweep_figures.py).

Deterministic: the PNG carries no software metadata, so the same data give the same bytes.
Each drawing function returns its matplotlib Figure after saving it (the tests read it)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import claims as C
from . import controls, io, matrix
from . import stats as S
from .catalog import methods as M
from .results import TEACHER, fmt_int, fmt_num, orders, pareto


def ci95(std, n) -> float:
    """The half-width of the t-based 95 % confidence interval of a mean over n runs with this
    standard deviation (same unit); NaN with one run (no spread measured: no interval drawn)."""
    n = int(n)
    if n < 2 or std is None or pd.isna(std):
        return float("nan")
    return S.t_quantile(n - 1) * float(std) / math.sqrt(n)


def _save(fig, path):
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    return fig


def _error_bars(ax, xs, ys, half, colour) -> None:
    """95 % CI bars at the points that have one, and a band over each run of two or more
    neighbours that all have one: a band through a one-run point would claim it is exact."""
    has = ~np.isnan(half)
    if not has.any():
        return
    ax.errorbar(xs[has], ys[has], yerr=half[has], fmt="none", ecolor=colour, elinewidth=0.9, capsize=3)
    start = None
    for i, ok in enumerate(list(has) + [False]):
        if ok and start is None:
            start = i
        elif not ok and start is not None:
            if i - start >= 2:
                sl = slice(start, i)
                ax.fill_between(xs[sl], ys[sl] - half[sl], ys[sl] + half[sl], color=colour, alpha=0.2, linewidth=0)
            start = None


def plot_csv(st: pd.DataFrame) -> str:
    """The plotted points of one dataset's variant stats: variant, gzip bytes, accuracy."""
    plot = pd.DataFrame({"variant": st["variant"],
                         "gzip_bytes": [fmt_int(v) for v in st["gzip_bytes"]],
                         "accuracy": [fmt_num(v, 6) for v in st["accuracy"]]})
    return plot.to_csv(index=False, lineterminator="\n")


# ---- the Pareto figure ---------------------------------------------------------------

WINDOW_PP = 10.0        # the figure shows what is within this many pp of the teacher...
WINDOW_MARGIN_PP = 2.0  # ...and a little below it; a chance-level model would flatten the rest

# Pruning families (from the methods' traits), each one marker: a marker per scheme ran out
# of distinguishable shapes at ~10 of the default's 25 schemes.
UNPRUNED, MAGNITUDE, RANDOM, STRUCTURED, OTHER = "unpruned", "magnitude", "random", "structured", "other"
FAMILIES = {UNPRUNED: ("o", "not pruned (none, or its fine-tune control)"),
            MAGNITUDE: ("^", "unstructured magnitude (local or global)"),
            RANDOM: ("v", "random (the baseline)"),
            STRUCTURED: ("s", "structured (N:M, filters)"),
            OTHER: ("D", "other pruning")}


def prune_family(cfg: dict, prune: str) -> str:
    """The pruning family of a scheme, from its method's traits (FAMILIES)."""
    m = controls.method(cfg, M.PRUNE, prune)
    if m is None:
        return OTHER
    if m.role != M.COMPRESS:
        return UNPRUNED
    if m.random:
        return RANDOM
    if m.structured or m.removes == "filters":
        return STRUCTURED
    return MAGNITUDE if m.removes == "weights" else OTHER


def base_colour_key(cfg: dict, base: str) -> str:
    """The base whose colour a base has: itself for the matrix's bases, the one it is trained
    like for a derived base (params `derived`; drawn hollow): the default has ~25 bases, more
    than any palette tells apart."""
    try:
        return matrix.root(cfg, base)
    except KeyError:
        return base


@dataclass(frozen=True)
class Window:
    """The accuracy range of a Pareto figure, %: floor at the bottom of the axes, top at its
    top; hidden: the variants below the floor (not drawn); lowest: the lowest accuracy."""
    floor: float
    top: float
    hidden: int
    lowest: float

    @property
    def note(self) -> str:
        """What the window leaves out, for the legend ("" when nothing)."""
        if not self.hidden:
            return ""
        return (f"not shown: {self.hidden} variant{'s' if self.hidden > 1 else ''}\n"
                f"below {self.floor:.1f} % (lowest {self.lowest:.1f} %)")


def accuracy_window(st: pd.DataFrame) -> Window:
    """From WINDOW_MARGIN_PP below the teacher − WINDOW_PP line (the best variant's, without a
    teacher) to the top, tightened to the data when every variant is inside it."""
    acc = 100.0 * st["accuracy"].astype(float).dropna()
    if acc.empty:
        return Window(0.0, 100.0, 0, float("nan"))
    teacher = st.loc[st["variant"] == TEACHER, "accuracy"].astype(float)
    reference = 100.0 * float(teacher.iloc[0]) if len(teacher) else float(acc.max())
    floor = max(reference - WINDOW_PP - WINDOW_MARGIN_PP, float(acc.min()) - 1.0)
    top = max(float(acc.max()), reference) + 1.0
    return Window(floor, top, int((acc < floor).sum()), float(acc.min()))


def figure(st: pd.DataFrame, dataset: str, params: dict, path):
    """Accuracy vs gzip size (log x); colour = base model (derived bases hollow, in the colour of
    the base they are trained like), marker = pruning family; ± 95 % CI where a variant has
    several runs; Pareto front as a step line; the teacher − 10 pp line; the y axis limited to
    accuracy_window, the legend says what it cuts off."""
    from matplotlib import colormaps       # loaded only when a figure is drawn
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    keys = {b: base_colour_key(params, b) for b in dict.fromkeys(st["base"])}
    order = [b for b in orders(params)["base"] if b in set(keys.values())]
    order += sorted(set(keys.values()) - set(order))
    cmap = colormaps["tab10"]
    colour = {b: cmap(i % 10) for i, b in enumerate(order)}
    family = {p: prune_family(params, p) for p in dict.fromkeys(st["prune"])}
    window = accuracy_window(st)

    fig = Figure(figsize=(10, 6), dpi=100)
    ax = fig.add_axes((0.08, 0.1, 0.6, 0.82))
    shown = st[100.0 * st["accuracy"].astype(float) >= window.floor]
    groups = shown.assign(_key=shown["base"].map(keys), _family=shown["prune"].map(family))
    for (base, fam), g in groups.groupby(["base", "_family"], sort=False):
        c, derived = colour[keys[base]], keys[base] != base
        x, y = g["gzip_bytes"].to_numpy(float), 100.0 * g["accuracy"].to_numpy(float)
        half = np.array([100.0 * ci95(s, n) for s, n in zip(g["accuracy_std"], g["n"])], dtype=float)
        if (~np.isnan(half)).any():
            ax.errorbar(x, y, yerr=np.nan_to_num(half), fmt="none", ecolor=c, elinewidth=0.8, alpha=0.6)
        ax.scatter(x, y, marker=FAMILIES[fam][0], s=36, linewidths=0.8 if derived else 0.4,
                   facecolors="none" if derived else [c], edgecolors=[c] if derived else "black")
    front = st[pareto(st).to_numpy()].sort_values(["gzip_bytes", "accuracy"], kind="mergesort")
    if len(front):
        ax.step(front["gzip_bytes"].to_numpy(float), 100.0 * front["accuracy"].to_numpy(float), where="post",
                color="black", linewidth=1.0)
        for _, r in front[100.0 * front["accuracy"].astype(float) >= window.floor].iterrows():
            ax.annotate(r["base"], (float(r["gzip_bytes"]), 100.0 * float(r["accuracy"])), fontsize=6,
                        xytext=(3, 3), textcoords="offset points")
    teacher = st.loc[st["variant"] == TEACHER, "accuracy"].astype(float)
    extra = [Line2D([], [], color="black", linewidth=1.0, label="Pareto front")]
    if len(teacher):
        ax.axhline(100.0 * float(teacher.iloc[0]) - WINDOW_PP, color="grey", linestyle=":", linewidth=1.0)
        extra.append(Line2D([], [], color="grey", linestyle=":", label=f"teacher − {WINDOW_PP:g} pp"))
    if window.note:
        extra.append(Line2D([], [], linestyle="", label=window.note))
    ax.set_ylim(window.floor - 0.5, window.top)  # a point at the floor is drawn whole
    ax.set_xscale("log")
    ax.set_xlabel("gzip-compressed .tflite size (bytes, log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{dataset}: accuracy vs size")
    ax.grid(True, which="both", linewidth=0.3, alpha=0.5)
    b_handles = [Line2D([], [], linestyle="", marker="o", color=colour[b], label=b) for b in order]
    if any(k != b for b, k in keys.items()):
        b_handles.append(Line2D([], [], linestyle="", marker="o", markerfacecolor="none", color="grey",
                                label="hollow: derived base,\nas the base it is trained like"))
    p_handles = [Line2D([], [], linestyle="", marker=FAMILIES[f][0], color="grey", label=FAMILIES[f][1])
                 for f in FAMILIES if f in set(groups["_family"])]
    first = ax.legend(handles=b_handles, title="base model", loc="upper left", bbox_to_anchor=(1.02, 1.0),
                      fontsize=8, title_fontsize=8)
    ax.add_artist(first)
    ax.legend(handles=p_handles + extra, title="pruning", loc="lower left", bbox_to_anchor=(1.02, 0.0),
              fontsize=8, title_fontsize=8)
    return _save(fig, path)


# ---- per-layer sensitivity ----------------------------------------------------------

SENSITIVITY_BLANK = "no per-layer sensitivity table of {dataset} among the report's inputs"


def sensitivity(tables: dict[str, pd.DataFrame], dataset: str, path):
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
    if not tables:  # drawn only where params analyse a base: the inputs lack its table
        fig.text(0.5, 0.5, SENSITIVITY_BLANK.format(dataset=dataset), ha="center")
    return _save(fig, path)


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
