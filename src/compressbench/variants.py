"""Per-variant statistics of the results frame (`results.results_frame`: one row per
metrics JSON with at least dataset, variant, base, prune, quant, seed, accuracy as a
fraction, tflite_bytes and gzip_bytes): the mean over runs and its spread, and the
simple noise rule the report's context tables use (the claims themselves use stats.py).

Noise: a difference between two variants counts only when it exceeds
    noise = NOISE_SIGMAS * sqrt(se_a^2 + se_b^2)
where se is the standard error of a variant's mean accuracy: the standard
deviation over its runs / sqrt(n) with n >= 2 runs, else the larger of the
binomial standard error sqrt(p (1 - p) / n_test) of one evaluation on n_test
test images and the dataset's measured seed spread (variant_stats).
"""
from __future__ import annotations

import math

import pandas as pd

from . import matrix

TEACHER = "teacher+none+float32"   # the uncompressed original every claim compares with
NOISE_SIGMAS = 2.0          # ~95 % two-sided: differences within 2 standard errors are noise
DEFAULT_N_TEST = 10_000     # MNIST and CIFAR-10 test sets, when the facts do not say


def _listed(values) -> str:
    """The distinct seeds of a variant's runs, e.g. "0 1 2"."""
    return " ".join(str(int(v)) for v in sorted(set(values)))


def variant_stats(frame: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, variant), in the frame's order: means over seeds, the spread
    (std over seeds, NaN with one seed) and comparisons with the teacher's means."""
    cols = ["dataset", "variant", "base", "prune", "cluster", "quant", "n", "seeds", "ft_seeds", "accuracy", "accuracy_std",
            "val_accuracy",
            "delta_pp", "delta_pp_std", "tflite_bytes", "gzip_bytes", "compression_ratio", "params",
            "nonzero_params", "sparsity", "macs", "nonzero_macs", "speedup_theoretical", "latency_ms", "latency_ms_std",
            "efficiency", "efficiency_std"]
    if frame.empty:
        return pd.DataFrame(columns=cols)
    f = frame.copy()
    if "ft_seed" not in f:
        f["ft_seed"] = 0
    if "cluster" not in f:
        f["cluster"] = "none"
    for c in ["val_accuracy", "tflite_bytes", "gzip_bytes", "params", "nonzero_params", "sparsity", "latency_ms",
              "efficiency", "accuracy_delta_pp", "macs", "nonzero_macs", "speedup_theoretical"]:
        if c not in f:
            f[c] = float("nan")
    g = f.groupby(["dataset", "variant"], sort=False)
    s = g.agg(base=("base", "first"), prune=("prune", "first"), cluster=("cluster", "first"), quant=("quant", "first"),
              n=("accuracy", "size"), seeds=("seed", _listed), ft_seeds=("ft_seed", _listed),
              accuracy=("accuracy", "mean"), accuracy_std=("accuracy", "std"),
              val_accuracy=("val_accuracy", "mean"),
              delta_pp_std=("accuracy_delta_pp", "std"),
              tflite_bytes=("tflite_bytes", "mean"), gzip_bytes=("gzip_bytes", "mean"),
              params=("params", "mean"), nonzero_params=("nonzero_params", "mean"),
              sparsity=("sparsity", "mean"), macs=("macs", "mean"), nonzero_macs=("nonzero_macs", "mean"),
              speedup_theoretical=("speedup_theoretical", "mean"), latency_ms=("latency_ms", "mean"),
              latency_ms_std=("latency_ms", "std"), efficiency=("efficiency", "mean"),
              efficiency_std=("efficiency", "std")).reset_index()
    # The measured seed spread of the dataset (root mean square of the stds of its
    # variants with several runs): a one-run variant's noise is at least this. The
    # matrix's bases only: a derived base's protocol (a 3-epoch student) may vary more.
    several = s[(s["n"] >= 2) & s["base"].isin(set(matrix.BASES))]
    pooled = several.groupby("dataset")["accuracy_std"].apply(lambda x: math.sqrt(float((x ** 2).mean())))
    s["spread"] = s["dataset"].map(pooled).astype(float)
    teacher = s[s["variant"] == TEACHER].set_index("dataset")
    t_acc = s["dataset"].map(teacher["accuracy"])
    t_gz = s["dataset"].map(teacher["gzip_bytes"])
    s["delta_pp"] = 100.0 * (s["accuracy"] - t_acc)
    s["compression_ratio"] = t_gz / s["gzip_bytes"]
    return s[cols + ["spread"]].reset_index(drop=True)


def standard_error(row, n_test: int) -> float:
    """Standard error (fraction) of a variant's mean accuracy: over its runs when it
    has several, else the larger of one evaluation's binomial error and the dataset's
    measured seed spread (a single run varies with its seed as much as the others did)."""
    n, p = int(row["n"]), float(row["accuracy"])
    if n >= 2 and not math.isnan(float(row["accuracy_std"])):
        return float(row["accuracy_std"]) / math.sqrt(n)
    binomial = math.sqrt(max(p * (1.0 - p), 0.0) / max(int(n_test), 1))
    spread = float(row.get("spread", math.nan))  # a Series or a dict
    return binomial if math.isnan(spread) else max(binomial, spread)


def compare(a, b, n_test: int) -> tuple[float, float, int]:
    """(a - b in pp, noise in pp, sign): sign +1 / -1 when the difference exceeds the noise, else 0."""
    diff = 100.0 * (float(a["accuracy"]) - float(b["accuracy"]))
    noise = 100.0 * NOISE_SIGMAS * math.hypot(standard_error(a, n_test), standard_error(b, n_test))
    sign = 1 if diff > noise else -1 if diff < -noise else 0
    return diff, noise, sign


def fmt_acc(row) -> str:
    """Accuracy in %, with ± std over seeds when there is more than one."""
    text = f"{100.0 * float(row['accuracy']):.2f}"
    if int(row["n"]) >= 2 and not math.isnan(float(row["accuracy_std"])):
        text += f" ± {100.0 * float(row['accuracy_std']):.2f}"
    return text
