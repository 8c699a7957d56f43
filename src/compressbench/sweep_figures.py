"""The figures of the pruning sweeps, per dataset, each with the CSV of its points: the
trade-off curves (accuracy against weight compression and theoretical speedup, ShrinkBench's
axes) and the fine-tune budget figure (a pruned scheme and its control against epochs).
Deterministic, like figures.py, whose helpers they share."""
from __future__ import annotations

import math

import pandas as pd

from . import controls, matrix
from . import report_files as RF
from .catalog import methods as M
from .figures import _error_bars, _save, ci95
from .results import fmt_int, fmt_num


# ---- trade-off curves (sweeps) ----------------------------------------------------

def weight_compression(frame: pd.DataFrame) -> pd.Series:
    """ShrinkBench's compression: parameters / non-zero parameters (= 1 / (1 − sparsity))."""
    nonzero = frame["nonzero_params"].astype(float)
    by_count = frame["params"].astype(float) / nonzero.where(nonzero > 0)
    return by_count.fillna(1.0 / (1.0 - frame["sparsity"].astype(float)))


def curves(st: pd.DataFrame, params: dict) -> pd.DataFrame:
    """The points of the trade-off curves: for every sweep of how much a pruning method removes
    (report_files.tradeoff_sweeps) and each base and quantization it ran with, the unpruned
    variant then one point per value, in value order; method = the sweep's name. Columns as
    variant stats plus line, method, weight_compression and accuracy_ci (95 % CI half-width,
    fraction; NaN with one run)."""
    parts = []
    for name, entries in RF.tradeoff_sweeps(params).items():
        swept = st[st["prune"].isin(entries) & (st["cluster"] == "none")]
        for (base, quant), _ in swept.groupby(["base", "quant"], sort=False):
            names = [f"{base}+none+{quant}"] + [f"{base}+{e}+{quant}" for e in entries]
            pts = st.set_index("variant").reindex(names).dropna(subset=["accuracy"]).reset_index()
            parts.append(pts.assign(method=name, line=f"{base} {name} {quant}"))
    if not parts:
        return pd.DataFrame(columns=["line", "method", "variant", "quant", "compression_ratio", "weight_compression",
                                     "speedup_theoretical", "accuracy", "accuracy_std", "accuracy_ci", "n"])
    out = pd.concat(parts, ignore_index=True)
    return out.assign(weight_compression=weight_compression(out),
                      accuracy_ci=[ci95(s, n) for s, n in zip(out["accuracy_std"], out["n"])])


def tradeoff_csv(points: pd.DataFrame) -> str:
    """The curves' points, for DVC plots: line, variant, compression (gzip bytes, vs the teacher),
    weight compression, speedup, accuracy, its 95 % CI half-width and the number of runs."""
    out = pd.DataFrame({"line": points["line"], "variant": points["variant"],
                        "compression_ratio": [fmt_num(v, 4) for v in points["compression_ratio"]],
                        "weight_compression": [fmt_num(v, 4) for v in points["weight_compression"]],
                        "speedup_theoretical": [fmt_num(v, 4) for v in points["speedup_theoretical"]],
                        "accuracy": [fmt_num(v, 6) for v in points["accuracy"]],
                        "accuracy_ci95": [fmt_num(v, 6) for v in points["accuracy_ci"]],
                        "n": [fmt_int(v) for v in points["n"]]})
    return out.to_csv(index=False, lineterminator="\n")


def _log2_ticks(ax, values, sparsity: bool) -> None:
    """Ticks at the powers of two the values (some positive) span, labelled with the times and (sparsity) the
    share removed they mean (2× = 50 %): the high sparsities, 93.75 and 96.875 %, get their own
    ticks (16×, 32×)."""
    finite = [v for v in values if v > 0 and math.isfinite(v)]
    # a tenth of an octave of slack: 31 of 1000 weights left is the 32× tick, not a 64× one
    lo, hi = math.floor(math.log2(min(finite)) + 0.1), math.ceil(math.log2(max(finite)) - 0.1)
    ticks = [2.0 ** k for k in range(lo, hi + 1)]
    ax.set_xticks(ticks, [f"{t:g}×\n{100.0 * (1.0 - 1.0 / t):g} %" if sparsity and t >= 1 else f"{t:g}×"
                          for t in ticks])
    ax.set_xticks([], minor=True)
    ax.set_xlim(ticks[0] / 1.2, ticks[-1] * 1.2)


def tradeoff(points: pd.DataFrame, st: pd.DataFrame, dataset: str, path):
    """ShrinkBench's curves: accuracy vs weight compression (parameters / non-zero ones, log₂,
    ticked with the sparsity too) and vs theoretical speedup (dense / non-zero MACs, log₂): one
    line per sweep, base and quantization (colour per sweep, line style per quantization), the
    mean with its 95 % CI where a point has several runs; the other variants of the swept bases
    as grey dots."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 5.5), dpi=100)
    axes = [fig.add_axes((0.06, 0.16, 0.34, 0.74)), fig.add_axes((0.46, 0.16, 0.34, 0.74))]
    cmap = colormaps["tab10"]
    colour = {m: cmap(i % 10) for i, m in enumerate(dict.fromkeys(points["method"]))}
    styles = ["-", "--", ":", "-."]
    style = {q: styles[i % len(styles)] for i, q in enumerate(dict.fromkeys(points["quant"]))}
    bases = set(points["variant"].str.split("+").str[0])
    others = st[st["base"].isin(bases) & ~st["variant"].isin(points["variant"])]
    others = others.assign(weight_compression=weight_compression(others)) if len(others) else others
    for ax, x, label in zip(axes, ("weight_compression", "speedup_theoretical"),
                            ("weight compression × (parameters / non-zero parameters; sparsity), log₂",
                             "theoretical speedup × (dense / non-zero MACs), log₂")):
        if len(others):
            ax.scatter(others[x].astype(float), 100.0 * others["accuracy"].astype(float), s=10, color="lightgrey",
                       edgecolors="grey", linewidths=0.3, label="other variants of these bases")
        for line, g in points.groupby("line", sort=False):
            xs, ys = g[x].to_numpy(float), 100.0 * g["accuracy"].to_numpy(float)
            c = colour[g["method"].iloc[0]]
            ax.plot(xs, ys, marker="o", markersize=3, color=c, linestyle=style[g["quant"].iloc[0]], label=line)
            _error_bars(ax, xs, ys, 100.0 * g["accuracy_ci"].to_numpy(float), c)
        if len(points):  # the curves set the range: a chance-level grey dot would flatten them
            acc = 100.0 * points["accuracy"].astype(float)
            low = float((acc - 100.0 * points["accuracy_ci"].astype(float).fillna(0.0)).min())
            high = max(float(acc.max()), float(100.0 * others["accuracy"].astype(float).max()) if len(others) else 0.0)
            ax.set_ylim(low - 2.0, high + 1.0)
        measured = [v for v in list(points[x].astype(float)) + list(others[x].astype(float) if len(others) else [])
                    if v > 0 and math.isfinite(v)]
        if measured:
            ax.set_xscale("log", base=2)
            _log2_ticks(ax, measured, sparsity=x == "weight_compression")
        else:  # metrics without parameter or MAC counts (older ones): nothing to place on a log axis
            ax.text(0.5, 0.5, "not in these metrics", transform=ax.transAxes, ha="center")
        ax.set_xlabel(label, fontsize=8)
        ax.set_ylabel("test accuracy (%)")
        ax.grid(True, which="major", linewidth=0.3, alpha=0.5)
        ax.tick_params(axis="x", labelsize=7)
    axes[0].set_title(f"{dataset}: accuracy vs weight compression")
    axes[1].set_title(f"{dataset}: accuracy vs theoretical speedup")
    if points.empty:  # drawn only where params run a sweep: the metrics lack its variants
        fig.text(0.45, 0.5, f"no variant of a pruning sweep in the metrics of {dataset}", ha="center")
    else:
        axes[1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7,
                       title="mean ± 95 % CI (t) over runs\n(fine-tune seeds) where n > 1", title_fontsize=7)
    return _save(fig, path)


# ---- fine-tune budget ----------------------------------------------------------------

PRUNED, CONTROL, UNPRUNED_ROLE = "pruned", "control", "unpruned"
BUDGET_COLUMNS = ["line", "role", "scheme", "variant", "base", "quant", "epochs", "accuracy", "accuracy_ci", "n"]


def budget_points(st: pd.DataFrame, params: dict) -> pd.DataFrame:
    """The fine-tune budget figure's points: for every budget sweep (report_files.budget_sweeps)
    and each base and quantization its pruned schemes ran with at two budgets or more
    (unclustered, as report_files.budget_datasets counts them), its pruned variants
    and those of its control by fine-tune epochs, and the unpruned variant (0 epochs, the
    reference). Columns BUDGET_COLUMNS; accuracy_ci: 95 % CI half-width (fraction; NaN with
    one run); in sweep, base, role and epochs order."""
    plain = st[st["cluster"] == "none"]
    by = plain.set_index("variant")
    rows = []
    for sweep in RF.budget_sweeps(params):
        ran = plain[plain["prune"].isin(set(sweep.pruned.values()))]
        control = (controls.method(params, M.PRUNE, next(iter(sweep.control.values()))).name
                   if sweep.control else None)
        budgets = ran.assign(_epochs=ran["prune"].map({n: e for e, n in sweep.pruned.items()}))
        for (base, quant), g in budgets.groupby(["base", "quant"], sort=False):
            if g["_epochs"].nunique() < 2:
                continue  # one budget of the sweep (global on every base): no line to draw
            lines = [(PRUNED, f"{base} {sweep.label} {quant}", sweep.pruned),
                     (CONTROL, f"{base} {control} (control) {quant}", sweep.control),
                     (UNPRUNED_ROLE, f"{base} unpruned {quant}", {0: "none"})]
            for role, line, schemes in lines:
                for epochs, scheme in schemes.items():
                    v = matrix.variant(base, scheme, quant)
                    if v in by.index:
                        r = by.loc[v]
                        rows.append({"line": line, "role": role, "scheme": scheme, "variant": v, "base": base,
                                     "quant": quant, "epochs": epochs, "accuracy": float(r["accuracy"]),
                                     "accuracy_ci": ci95(r["accuracy_std"], r["n"]), "n": int(r["n"])})
    out = pd.DataFrame(rows, columns=BUDGET_COLUMNS)
    # two sweeps with one control (magnitude and global at one sparsity) share its line
    return out.drop_duplicates(["line", "variant"]).reset_index(drop=True)


def budget_csv(points: pd.DataFrame) -> str:
    """The budget figure's points: line, role, scheme, variant, epochs, accuracy, its 95 % CI, runs."""
    out = pd.DataFrame({"line": points["line"], "role": points["role"], "scheme": points["scheme"],
                        "variant": points["variant"], "epochs": [fmt_int(v) for v in points["epochs"]],
                        "accuracy": [fmt_num(v, 6) for v in points["accuracy"]],
                        "accuracy_ci95": [fmt_num(v, 6) for v in points["accuracy_ci"]],
                        "n": [fmt_int(v) for v in points["n"]]})
    return out.to_csv(index=False, lineterminator="\n")


def budget(points: pd.DataFrame, dataset: str, path):
    """Accuracy vs fine-tune epochs: per base and quantization (one colour) the pruned schemes
    (solid) and their equal-budget control (dashed, nothing pruned), the mean with its 95 % CI
    where a point has several runs (fine-tune seeds), and the unpruned model as a dotted level:
    whether more fine-tuning closes the gap to the control or only trains both."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 5), dpi=100)
    ax = fig.add_axes((0.08, 0.12, 0.55, 0.78))
    cmap = colormaps["tab10"]
    pairs = list(dict.fromkeys(zip(points["base"], points["quant"])))
    style = {PRUNED: ("-", "o"), CONTROL: ("--", "s")}
    for i, (base, quant) in enumerate(pairs):
        c = cmap(i % 10)
        mine = points[(points["base"] == base) & (points["quant"] == quant)]
        for line, g in mine[mine["role"] != UNPRUNED_ROLE].groupby("line", sort=False):
            linestyle, marker = style[g["role"].iloc[0]]
            xs, ys = g["epochs"].to_numpy(float), 100.0 * g["accuracy"].to_numpy(float)
            ax.plot(xs, ys, linestyle=linestyle, marker=marker, markersize=4, color=c, label=line)
            _error_bars(ax, xs, ys, 100.0 * g["accuracy_ci"].to_numpy(float), c)
        for _, r in mine[mine["role"] == UNPRUNED_ROLE].iterrows():
            ax.axhline(100.0 * r["accuracy"], color=c, linestyle=":", linewidth=1.0, label=r["line"])
    epochs = sorted(set(points.loc[points["role"] != UNPRUNED_ROLE, "epochs"].astype(int)))
    if epochs:
        ax.set_xticks(epochs, [str(e) for e in epochs])
        ax.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
    ax.set_xlabel("fine-tune epochs (the scheme's own, else prune.fine_tune.epochs)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{dataset}: accuracy vs fine-tune budget, pruned and its control")
    ax.grid(True, linewidth=0.3, alpha=0.5)
    if points.empty:  # drawn only where params run a budget sweep: the metrics lack its variants
        fig.text(0.35, 0.5, f"no variant of a fine-tune budget sweep in the metrics of {dataset}", ha="center")
    else:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7,
                  title="mean ± 95 % CI (t) over runs\n(fine-tune seeds) where n > 1", title_fontsize=7)
    return _save(fig, path)
