"""Latency as a benchmark: single-image invocations of a .tflite with LiteRT's
XNNPACK delegate, timed until the median is known to within a tolerance.

After `warmup` untimed invocations, invocations are timed one by one; every
`check_every` of them (from `min_runs` on) the median's 95 % confidence interval
is computed from order statistics (distribution-free: the ranks n/2 -+ z*sqrt(n)/2
of the sorted times), and timing stops once both ends are within `tolerance`
(2 %) of the median, or at `max_runs` or `max_seconds` (then `converged` is
false). The spread is reported as the interquartile range and the 10th and 90th
percentiles. Imports no TensorFlow.

>>> stopping = {"warmup_runs": 5, "min_runs": 30, "max_runs": 2000, "max_seconds": 30,
...             "tolerance": 0.02, "check_every": 10}
>>> measure(lambda: None, stopping)["converged"]                  # doctest: +SKIP
True
"""
from __future__ import annotations

import math
import os
import time

import numpy as np

Z95 = 1.959964  # two-sided 95 % normal quantile
# ai_edge_litert's Interpreter applies XNNPACK by default with the BUILTIN resolver
# (AUTO is the same); num_threads sets XNNPACK's thread pool.
DELEGATE = "XNNPACK (LiteRT's default delegate)"


def median_ci(times, z: float = Z95) -> tuple[float, float]:
    """The order-statistic confidence interval of the median of `times`.

    >>> median_ci(list(range(1, 101)))
    (40, 61)
    """
    s = sorted(times)
    n = len(s)
    half = z * math.sqrt(n) / 2
    lo = max(int(math.floor(n / 2 - half)), 1)
    hi = min(int(math.ceil(n / 2 + half)) + 1, n)
    return s[lo - 1], s[hi - 1]


def converged(times, tolerance: float) -> bool:
    """Both ends of the median's 95 % CI within `tolerance` (relative) of the median."""
    med = float(np.median(times))
    lo, hi = median_ci(times)
    return med > 0 and lo >= med * (1 - tolerance) and hi <= med * (1 + tolerance)


def measure(invoke, stopping: dict, clock=time.perf_counter) -> dict:
    """Time `invoke()` by the stopping rule (module doc); milliseconds."""
    for _ in range(stopping["warmup_runs"]):
        invoke()
    times, start, done = [], clock(), False
    while len(times) < stopping["max_runs"] and clock() - start < stopping["max_seconds"]:
        t = clock()
        invoke()
        times.append(clock() - t)
        n = len(times)
        if n >= stopping["min_runs"] and n % stopping["check_every"] == 0 and converged(times, stopping["tolerance"]):
            done = True
            break
    ms = np.asarray(times) * 1000.0
    lo, hi = median_ci(ms)
    q10, q25, q75, q90 = np.percentile(ms, [10, 25, 75, 90])

    def r(v):
        return round(float(v), 4)
    return {"median_ms": r(np.median(ms)), "ci_low_ms": r(lo), "ci_high_ms": r(hi), "iqr_ms": r(q75 - q25),
            "p10_ms": r(q10), "p90_ms": r(q90), "runs": len(times), "converged": done}


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity mask), not the machine's count."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# The CPU features that decide which XNNPACK kernels run (its sparse path is off on x86 with AVX).
FEATURES = ("sse4_1", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_tile")


def cpu_features(cpuinfo: str = "/proc/cpuinfo") -> list[str]:
    """Which of FEATURES the CPU has (empty where /proc/cpuinfo is absent)."""
    try:
        with open(cpuinfo) as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return []
    return [x for x in FEATURES if x in flags]


def benchmark(path, image: np.ndarray, stopping: dict, all_threads: int) -> dict:
    """Single-image latency of a .tflite at 1 thread and at `all_threads`, each by `measure`.

    Keys: latency_ms (the median at 1 thread), latency_ci_low_ms, latency_ci_high_ms,
    latency_iqr_ms, latency_p10_ms, latency_p90_ms, latency_runs, latency_converged, the
    same with latency_all_ for `all_threads`, latency_threads, latency_delegate."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from .evaluate import to_input
    out = {"latency_threads": all_threads, "latency_delegate": DELEGATE,
           "latency_cpu_features": " ".join(cpu_features())}
    for prefix, threads in (("latency_", 1), ("latency_all_", all_threads)):
        interp = Interpreter(model_path=str(path), num_threads=threads,
                             experimental_op_resolver_type=OpResolverType.BUILTIN)
        interp.allocate_tensors()
        inp = interp.get_input_details()[0]
        interp.set_tensor(inp["index"], to_input(image[None], inp))
        result = measure(interp.invoke, stopping)
        out |= {prefix + ("ms" if k == "median_ms" else k): v for k, v in result.items()}
    return out
