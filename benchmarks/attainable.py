#!/usr/bin/env python
"""The attainable GFLOP/s of this machine with TensorFlow: a large 3x3 convolution
(forward), float32 and bfloat16, on 1 thread and on all threads.

    python benchmarks/attainable.py [--csv reports/attainable.csv]

Prints one markdown table (and with --csv writes it with the CPU it ran on,
compressbench.machine.cpu()): the ceiling each training rule's achieved GFLOP/s
is judged against (issue 32's target: >= 70 % of float32 at the job's threads).
TensorFlow fixes its thread count per process, so each configuration runs in a
child process. Run it with the machine otherwise idle.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

# NHWC input and a 3x3 kernel large enough that oneDNN runs at its best: FLOPs per call.
SHAPE, FILTERS = (64, 32, 32, 128), 128
FLOPS = 2 * SHAPE[0] * SHAPE[1] * SHAPE[2] * 9 * SHAPE[3] * FILTERS


def measure(dtype: str, threads: int, repeats: int = 20) -> float:
    """GFLOP/s of the convolution in `dtype` on `threads` threads (this process)."""
    import compressbench  # noqa: F401  (the package's TensorFlow environment)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    x = tf.random.uniform(SHAPE, dtype=tf.float32)
    k = tf.random.uniform((3, 3, SHAPE[3], FILTERS), dtype=tf.float32)
    x, k = tf.cast(x, dtype), tf.cast(k, dtype)
    conv = tf.function(lambda a, b: tf.nn.conv2d(a, b, 1, "SAME"))
    for _ in range(3):  # warm-up: tracing, oneDNN primitive creation
        conv(x, k).numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        conv(x, k).numpy()
        times.append(time.perf_counter() - start)
    return FLOPS / statistics.median(times) / 1e9


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--csv", type=Path)
    ap.add_argument("--child", nargs=2, metavar=("DTYPE", "THREADS"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps({"gflops": measure(a.child[0], int(a.child[1]))}))
        return
    from compressbench import machine

    rows = []
    for dtype in ("float32", "bfloat16"):
        for threads in dict.fromkeys((1, os.cpu_count() or 1)):
            out = subprocess.run([sys.executable, __file__, "--child", dtype, str(threads)],
                                 capture_output=True, text=True, check=True).stdout
            rows.append({"dtype": dtype, "threads": threads,
                         "gflops": round(json.loads(out.strip().splitlines()[-1])["gflops"], 1),
                         "cpu": machine.cpu()})
    print("| dtype | threads | GFLOP/s |\n|---|---|---|")
    for r in rows:
        print(f"| {r['dtype']} | {r['threads']} | {r['gflops']} |")
    print(f"\nCPU: {rows[0]['cpu']}")
    if a.csv:
        a.csv.parent.mkdir(parents=True, exist_ok=True)
        with open(a.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
            w.writeheader()
            w.writerows(rows)


if __name__ == "__main__":
    main()
