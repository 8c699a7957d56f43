"""What a deployment needs to know, from the results table: whether pruned models run
faster than their dense model (measured, against the theoretical speedup), the
integer-only checks, and the tensor-arena estimates.

"Measurably faster" means the pruned model's median latency has a 95 % CI wholly
below its dense model's (same dataset, seed, base and export scheme), so a
difference inside the measurement's own spread is never called a speedup. One row
per timed cell: a cell's other seeds carry its one timing (matrix.timed).
"""
from __future__ import annotations

import pandas as pd

from . import matrix
from .catalog import methods

KEY = ["dataset", "seed", "base", "quant"]


def _removes(params: dict, prune: str) -> str:
    try:
        return methods.of_scheme(params, methods.PRUNE, prune).removes
    except (KeyError, methods.UnknownMethod):
        return "none"


def latency_vs_dense(frame: pd.DataFrame, params: dict) -> pd.DataFrame:
    """One row per pruned cell (weights or filters removed, no cluster step) with a dense
    twin: measured speedups at 1 and all threads, the theoretical one, and whether the
    1-thread difference is outside both CIs."""
    need = {"latency_ci_low_ms", "latency_ci_high_ms", "latency_all_ms"}
    if frame.empty or not need <= set(frame.columns):
        return pd.DataFrame()
    # Each cell is timed once (matrix.timed: the first seed's export without a repeated fine-tune),
    # its other runs carry that timing: one row per cell, not one per copy.
    timed = [matrix.timed(params, r) for r in frame[["seed", "ft_seed"]].rename(columns={"ft_seed": "ft"})
             .itertuples(index=False)] if params.get("seeds") else [True] * len(frame)
    flat = frame[(frame["cluster"] == matrix.NO_CLUSTER).to_numpy() & pd.Series(timed, dtype=bool).to_numpy()]
    dense = flat[flat["prune"] == "none"].drop_duplicates(KEY).set_index(KEY)
    pruned = flat[[_removes(params, p) != "none" for p in flat["prune"]]]
    rows = []
    for _, r in pruned.iterrows():
        key = tuple(r[k] for k in KEY)
        if key not in dense.index:
            continue
        d = dense.loc[key]
        rows.append({"dataset": r["dataset"], "variant": r["variant"], "seed": r["seed"], "ft_seed": r["ft_seed"],
                     "removes": _removes(params, r["prune"]),
                     "speedup_theoretical": round(float(r["speedup_theoretical"]), 2),
                     "speedup_1_thread": round(float(d["latency_ms"]) / float(r["latency_ms"]), 3),
                     "speedup_all_threads": round(float(d["latency_all_ms"]) / float(r["latency_all_ms"]), 3),
                     "measurably_faster": bool(float(r["latency_ci_high_ms"]) < float(d["latency_ci_low_ms"]))})
    return pd.DataFrame(rows)


def section(frame: pd.DataFrame, params: dict, table) -> list[str]:
    """The report's deployment lines (`table`: the report's markdown table writer)."""
    lines = []
    lat = latency_vs_dense(frame, params)
    if lat.empty:
        lines += ["No latency with confidence intervals in this run (an older run's metrics).", ""]
    else:
        fast = lat[lat["measurably_faster"]]
        cpu = frame["latency_cpu"].dropna().iloc[0] if "latency_cpu" in frame and frame["latency_cpu"].notna().any() \
            else "this CPU"
        lines += [f"**Does pruning run faster?** On {cpu}, {len(fast)} of {len(lat)} pruned cells run measurably "
                  "faster than their dense model at 1 thread (95 % CIs apart)"
                  + (f"; the largest measured speedup is {lat['speedup_1_thread'].max():.2f}x "
                     f"({lat.loc[lat['speedup_1_thread'].idxmax(), 'variant']})" if len(lat) else "")
                  + ". Zeroed weights are stored and multiplied like any other (XNNPACK's sparse path is "
                  "off on x86; benchmarks/sparse_kernels.py), so only removed filters can show up here.", "",
                  table(lat.sort_values(["dataset", "removes", "variant", "seed", "ft_seed"])), ""]
    if "int8io_check" in frame and frame["int8io_check"].notna().any():
        io_rows = frame[frame["int8io_check"].notna()][["dataset", "variant", "seed", "ft_seed", "int8io_agreement",
                                                        "int8io_accuracy_delta_pp", "int8io_check"]]
        lines += [f"**Integer-only exports** against their float-I/O twins (pass: ≥ 99.5 % argmax agreement, "
                  f"within 0.1 pp): {int((io_rows['int8io_check'] == 'pass').sum())} of {len(io_rows)} pass.", "",
                  table(io_rows), ""]
    if "arena_bytes_estimate" in frame and frame["arena_bytes_estimate"].notna().any():
        arena = (frame.groupby(["dataset", "variant"], sort=False)[["tflite_bytes", "arena_bytes_estimate"]]
                 .first().reset_index())
        lines += ["**What a microcontroller needs**: the file (flash) and the tensor arena (RAM), an estimate: the "
                  "peak of the activation tensors live at once in execution order, read from the `.tflite` "
                  "(a weight-only scheme's dequantized kernels count: the runtime allocates them).", "",
                  table(arena), ""]
    return lines
