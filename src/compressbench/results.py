"""The results table (one row per metrics JSON), its CSV, the Pareto front and
the summary for `dvc metrics diff`; also the fixed number formats every output
uses, so the same inputs always give the same bytes."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import matrix
from .claims import TEACHER
from .selection import selected_by

COLUMNS = ["dataset", "variant", "base", "prune", "cluster", "quant", "seed", "ft_seed", "accuracy", "val_accuracy",
           "accuracy_delta_pp",
           "tflite_bytes", "gzip_bytes", "compression_ratio", "params", "nonzero_params", "sparsity",
           "macs", "nonzero_macs", "speedup_theoretical", "latency_ms", "latency_ci_low_ms", "latency_ci_high_ms",
           "latency_iqr_ms", "latency_all_ms", "latency_all_iqr_ms", "latency_threads", "arena_bytes_estimate",
           "efficiency"]
# cpu: latencies depend on the machine, so every row names the one it ran on.
EXTRAS = ["input_dtype", "output_dtype", "int8io_agreement", "int8io_accuracy_delta_pp", "int8io_check",
          "wall_seconds", "cpu"]
# What runner.record adds to every record about the job that wrote it.
NOT_RESULTS = ["rule", "wildcards", "threads", "sha256"]
INT_COLUMNS = ["seed", "ft_seed", "tflite_bytes", "gzip_bytes", "params", "nonzero_params", "macs", "nonzero_macs",
               "latency_threads", "arena_bytes_estimate"]
FLOAT_DIGITS = {"accuracy": 6, "val_accuracy": 6, "accuracy_delta_pp": 4, "compression_ratio": 4, "sparsity": 6,
                "speedup_theoretical": 4,
                "latency_ms": 4, "latency_ci_low_ms": 4, "latency_ci_high_ms": 4, "latency_iqr_ms": 4,
                "latency_all_ms": 4, "latency_all_iqr_ms": 4, "efficiency": 6, "wall_seconds": 2}
WITHIN_PP = (0.5, 1.0)  # summary: the smallest variant within each of these many pp of the teacher
# Accuracy per gzip MB rewards a tiny model however inaccurate (a 27.57 % CIFAR-10 student
# pruned to 97 % had the highest): "best efficiency" counts variants within this of the teacher.
EFFICIENCY_WITHIN_PP = 5.0
DASH = "—"


# ---- number formats ---------------------------------------------------------

def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def fmt_num(v, digits: int) -> str:
    """Fixed digits, "" when missing; never "-0.00"."""
    if _missing(v):
        return ""
    text = f"{float(v):.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def fmt_int(v) -> str:
    return DASH if _missing(v) else f"{int(round(float(v)))}"


def fmt_pm(mean, std, n, digits: int, scale: float = 1.0) -> str:
    """mean ± std when there are >= 2 seeds, else the mean alone."""
    if _missing(mean):
        return DASH
    text = fmt_num(scale * float(mean), digits)
    if n >= 2 and std is not None and not math.isnan(float(std)):
        text += f" ± {fmt_num(scale * float(std), digits)}"
    return text


# ---- the table --------------------------------------------------------------

def orders(params: dict) -> dict[str, list]:
    """Matrix order of datasets, bases (then the other known bases), pruning and quantization."""
    m = params.get("matrix", {}) or {}
    bases = list(m.get("bases", []))
    return {"dataset": list(m.get("datasets", [])),
            "base": bases + [b for b in matrix.BASES if b not in bases],
            "prune": list(m.get("prune", [])), "quant": list(m.get("quant", []))}


def _sorted(df: pd.DataFrame, params: dict, with_seed: bool = True) -> pd.DataFrame:
    """Matrix order (datasets, bases, pruning, quantization), then seed; unknown names last, by name."""
    df = df.copy()
    keys = []
    for col, order in orders(params).items():
        rank = {v: i for i, v in enumerate(order)}
        df[f"_r_{col}"] = df[col].map(lambda v: rank.get(v, len(order)))
        keys += [f"_r_{col}", col]
    if with_seed:
        keys += ["seed", "ft_seed"]
    df = df.sort_values(keys, kind="mergesort")
    return df.drop(columns=[c for c in df if c.startswith("_r_")]).reset_index(drop=True)


def results_frame(records, params: dict) -> pd.DataFrame:
    """One row per metrics record in matrix order, with the comparisons against the
    same dataset's and seed's teacher+none+float32: accuracy_delta_pp and compression_ratio."""
    df = pd.DataFrame([{k: v for k, v in r.items() if k not in NOT_RESULTS} for r in records])
    if df.empty:
        return pd.DataFrame(columns=COLUMNS + EXTRAS)
    if "variant" not in df:
        clusters = df["cluster"] if "cluster" in df else [matrix.NO_CLUSTER] * len(df)
        df["variant"] = [matrix.variant(b, p, q, k) for b, p, q, k in zip(df["base"], df["prune"], df["quant"], clusters)]
    parts = df["variant"].map(matrix.parse_variant)
    for i, col in enumerate(["base", "prune", "cluster", "quant"]):
        df[col] = df[col].fillna(parts.str[i]) if col in df else parts.str[i]
    for col in COLUMNS + EXTRAS:
        if col not in df:
            df[col] = np.nan
    df["seed"] = df["seed"].astype(int)
    df["ft_seed"] = df["ft_seed"].fillna(0).astype(int)
    df = _sorted(df, params)
    # The teacher of the same seed, else the one of the first of `seeds` (the matrix's teacher
    # trains once: matrix.teacher_seed), else the dataset's first.
    teachers = df[df["variant"] == TEACHER]
    first_seed = (params.get("seeds") or [None])[0]
    preferred = teachers[teachers["seed"] == first_seed] if first_seed is not None else teachers.iloc[:0]
    first = pd.concat([preferred, teachers]).drop_duplicates("dataset").set_index("dataset")
    same = teachers.drop_duplicates(["dataset", "seed"]).set_index(["dataset", "seed"])
    key = pd.MultiIndex.from_frame(df[["dataset", "seed"]])

    def lookup(col):
        own = same[col].astype(float).reindex(key).to_numpy()
        fallback = first[col].astype(float).reindex(df["dataset"]).to_numpy()
        return np.where(np.isnan(own), fallback, own)
    t_acc, t_gz = lookup("accuracy"), lookup("gzip_bytes")
    df["accuracy_delta_pp"] = 100.0 * (df["accuracy"].astype(float).to_numpy() - t_acc)
    # ShrinkBench's theoretical speedup: the base model's dense MACs over the variant's
    # non-zero ones, so removed filters and zeroed weights count alike.
    unpruned = (df["prune"] == "none") & (df["cluster"] == matrix.NO_CLUSTER)
    dense = df[unpruned].drop_duplicates(["dataset", "base"]).set_index(["dataset", "base"])["macs"]
    base_macs = dense.astype(float).reindex(pd.MultiIndex.from_frame(df[["dataset", "base"]])).to_numpy()
    df["speedup_theoretical"] = base_macs / df["nonzero_macs"].astype(float).to_numpy()
    df["compression_ratio"] = t_gz / df["gzip_bytes"].astype(float).to_numpy()
    extras = [c for c in df if c not in COLUMNS + EXTRAS]
    return df[COLUMNS + EXTRAS + extras]


def within_of_teacher(st: pd.DataFrame, pp: float, by: str = "accuracy") -> pd.DataFrame:
    """One dataset's variants at most `pp` points below its teacher in the column `by`
    (all of them if it has no teacher row); the tolerance keeps a variant exactly `pp` below."""
    teacher = st[st["variant"] == TEACHER]
    if not len(teacher):
        return st
    return st[st[by].astype(float) >= float(teacher[by].iloc[0]) - pp / 100.0 - 1e-12]


def smallest_within(st: pd.DataFrame, pp: float, by: str = "accuracy"):
    """The row of one dataset's smallest variant (gzip bytes) within `pp` of its teacher
    (`by`: the accuracy it is chosen on)."""
    ok = within_of_teacher(st, pp, by)
    return ok.loc[ok["gzip_bytes"].astype(float).idxmin()]


def best_efficiency(st: pd.DataFrame, by: str = "accuracy"):
    """The index of one dataset's most efficient variant (`by` accuracy per gzip MB) of those
    within EFFICIENCY_WITHIN_PP of the teacher (of all if it has no teacher row); None if none has one."""
    ok = within_of_teacher(st, EFFICIENCY_WITHIN_PP, by)
    ok = ok[ok["efficiency"].notna() & ok[by].notna()]
    if by != "accuracy":
        ok = ok.assign(efficiency=ok[by].astype(float) / (ok["gzip_bytes"].astype(float) / 1e6))
    return ok["efficiency"].astype(float).idxmax() if len(ok) else None


def pareto(frame: pd.DataFrame, by: str = "accuracy") -> pd.Series:
    """True where no other row (of the same dataset, if the frame has several) is at
    least as accurate (column `by`) and at most as large in gzip bytes, and strictly better in one."""
    acc = frame[by].astype(float).to_numpy()
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


def csv_text(frame: pd.DataFrame) -> str:
    out = frame.copy()
    for col in out:
        if col in FLOAT_DIGITS:
            out[col] = [fmt_num(v, FLOAT_DIGITS[col]) for v in out[col]]
        elif col in INT_COLUMNS:
            out[col] = ["" if pd.isna(v) else str(int(v)) for v in out[col]]
    return out.to_csv(index=False, lineterminator="\n")


VARIANT_COLUMNS = ["dataset", "variant", "base", "prune", "cluster", "quant", "seeds", "ft_seeds", "n", "accuracy", "accuracy_std_pp",
                   "val_accuracy",
                   "delta_pp", "tflite_bytes", "gzip_bytes", "compression_ratio", "params", "nonzero_params",
                   "sparsity", "macs", "nonzero_macs", "speedup_theoretical", "latency_ms", "efficiency",
                   "val_seen", "agreement", "worst_class", "worst_class_drop_pp"]
VARIANT_DIGITS = {"accuracy": 6, "val_accuracy": 6, "accuracy_std_pp": 4, "delta_pp": 4, "compression_ratio": 4, "sparsity": 6,
                  "latency_ms": 4, "efficiency": 6, "tflite_bytes": 0, "gzip_bytes": 0, "params": 0,
                  "nonzero_params": 0, "macs": 0, "nonzero_macs": 0, "speedup_theoretical": 4,
                  "agreement": 6, "worst_class": 0, "worst_class_drop_pp": 4}


def variants_csv(stats: pd.DataFrame) -> str:
    """One row per variant (claims.variant_stats: the mean over its seeds, which seeds,
    how many, and the accuracy's std over them in pp; with the report's additions: whether its
    validation images were seen in training, and what it forgets, forgetting.py): what the
    report's tables show."""
    out = stats.assign(accuracy_std_pp=100.0 * stats["accuracy_std"]).reindex(columns=VARIANT_COLUMNS)
    for col, digits in VARIANT_DIGITS.items():
        out[col] = [fmt_num(v, digits) for v in out[col]]
    return out.to_csv(index=False, lineterminator="\n")


# ---- summary ----------------------------------------------------------------

def summary(stats: pd.DataFrame, frame: pd.DataFrame, claims=(), reproduced: dict | None = None,
            chosen_from: pd.Series | None = None) -> dict:
    """Per dataset, flat numbers, variant names, the claims' verdicts (strings) and the
    reproduction rows per verdict: the figures a reviewer looks at first, for `dvc metrics diff`.
    chosen_from: which rows of `stats` the recipes are chosen among (the first screen's:
    selection.in_matrix_family); None: all."""
    out = {}
    pool = stats if chosen_from is None else stats[chosen_from.to_numpy()]
    for ds in dict.fromkeys(stats["dataset"]):
        every = stats[stats["dataset"] == ds].reset_index(drop=True)
        st = pool[pool["dataset"] == ds].reset_index(drop=True)
        st = st if len(st) else every  # no variant of the matrix's family here: choose among all
        rows = frame[frame["dataset"] == ds]
        d = {"cells": int(len(rows)), "variants": int(len(every)), "most_runs": int(every["n"].max()),
             "seeds": int(rows["seed"].nunique()),
             "seed_list": " ".join(str(s) for s in sorted(rows["seed"].unique()))}
        t = st[st["variant"] == TEACHER]
        if len(t):
            d["teacher_float32_accuracy"] = round(float(t["accuracy"].iloc[0]), 6)
            d["teacher_float32_gzip_bytes"] = int(round(float(t["gzip_bytes"].iloc[0])))
        by = selected_by(st)  # chosen on validation accuracy, reported with test accuracy
        d["chosen_on"] = by
        best = st.loc[st[by].astype(float).idxmax()]
        d["best_accuracy_variant"], d["best_accuracy"] = best["variant"], round(float(best["accuracy"]), 6)
        if (i := best_efficiency(st, by)) is not None:
            eff = st.loc[i]
            d["best_efficiency_variant"] = eff["variant"]
            d["best_efficiency"] = round(float(eff["efficiency"]), 6)
        for pp in WITHIN_PP if len(t) else ():
            small, name = smallest_within(st, pp, by), f"smallest_within_{pp:g}pp"
            d[f"{name}_variant"] = small["variant"]
            d[f"{name}_accuracy"] = round(float(small["accuracy"]), 6)
            d[f"{name}_gzip_bytes"] = int(round(float(small["gzip_bytes"])))
            d[f"{name}_compression"] = round(float(small["compression_ratio"]), 4)
        d |= {f"claim_{c.id}" + (f"_{k.split(' · ', 1)[1]}" if " · " in k else ""): v
              for c in claims for k, v in c.verdicts.items() if k.split(" · ", 1)[0] == ds}
        d |= {f"reproduction_{k.replace(' ', '_')}": n for k, n in (reproduced or {}).get(ds, {}).items()}
        out[ds] = d
    return out
