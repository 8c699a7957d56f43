#!/usr/bin/env python
"""Training step time of one model, one precision, one kind of step, on one thread.

    python benchmarks/step_time.py --dataset mnist --arch teacher --precision mixed_bfloat16 --kind prune \
        [--onednn 0|1] [--csv reports/step-times.csv]

Prints one markdown table row: ms per step (median of --repeats timed fits of
--steps batches after a warm-up fit, so tracing is excluded); with --csv also
appends it to that CSV (the step-time table of benchmarks/measure.py), with the
CPU it ran on (compressbench.machine.cpu(): model, flags, oneDNN setting).
Random images of the dataset's shape: step time does not depend on the pixel
values. TensorFlow fixes its thread count, precision policy and oneDNN use per
process, so each call is its own process, and --onednn reruns this script in a
child process with TF_ENABLE_ONEDNN_OPTS set (read once, at TensorFlow import).
"""
from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

COLUMNS = ["dataset", "arch", "kind", "precision", "onednn", "ms_per_step", "steps", "repeats", "batch_size",
           "cpu", "date"]


def parse(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", required=True, help="a dataset of the catalog (catalog/datasets.py)")
    ap.add_argument("--arch", required=True, help="a zoo key (teacher, ta, student) or an `architectures` name")
    ap.add_argument("--precision", choices=["float32", "mixed_bfloat16"], required=True)
    ap.add_argument("--kind", choices=["train", "prune", "qat"], default="train")
    ap.add_argument("--onednn", choices=["0", "1"], help="TF_ENABLE_ONEDNN_OPTS for this measurement "
                    "(default: the package's setting, compressbench/__init__.py)")
    ap.add_argument("--csv", type=Path, help="append the result to this CSV (created with a header)")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--batch-size", type=int, help="images per step (default: params train.batch_size)")
    ap.add_argument("--repeats", type=int, default=3)
    return ap.parse_args(argv)


def in_child(args) -> bool:
    """True when oneDNN must be set before TensorFlow loads: this process cannot measure."""
    return args.onednn is not None and (os.environ.get("TF_ENABLE_ONEDNN_OPTS") != args.onednn
                                        or "tensorflow" in sys.modules)


def append_csv(path: Path, row: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists() or path.stat().st_size == 0
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        if new:
            w.writeheader()
        w.writerow(row)


def step_ms(args, cfg: dict) -> float:
    """Median ms per step of `args.repeats` fits of `args.steps` batches, after a warm-up."""
    import numpy as np

    from compressbench import models, prune, quantize, training
    from compressbench.catalog import architectures
    from compressbench.catalog import datasets

    training.configure(0, 1, args.precision)
    ds = datasets.get(args.dataset, cfg)
    model = architectures.build(architectures.value(cfg, args.dataset, args.arch), ds.input_shape, ds.num_classes,
                                name=args.arch)
    callbacks = []
    if args.kind == "prune":
        plan, _ = prune.magnitude_plan(model, cfg["prune"]["schemes"]["local-all"], 10 * args.steps)
        model, callbacks = prune.wrap(model, plan), [prune.sparsity_api.UpdatePruningStep()]
    elif args.kind == "qat":
        model, _ = quantize.qat_model(model)  # float32 only: fake-quant ops reject bfloat16
    training.compile_supervised(model, "adam", 1e-3)
    batch = args.batch_size or cfg["train"]["batch_size"]
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (batch * args.steps, *ds.input_shape), dtype=np.uint8)
    data = training.dataset(x, rng.integers(0, ds.num_classes, batch * args.steps), batch)
    model.fit(data.take(min(5, args.steps)), verbose=0, callbacks=callbacks)  # trace and warm up
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        model.fit(data, verbose=0, callbacks=callbacks)
        times.append((time.perf_counter() - start) / args.steps * 1000)
    return statistics.median(times)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse(argv)
    if in_child(args):
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": args.onednn}
        return subprocess.run([sys.executable, str(Path(__file__).resolve()), *argv], env=env).returncode

    import yaml

    from compressbench import machine

    cfg = yaml.safe_load(Path(args.params).read_text())
    ms = step_ms(args, cfg)
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset")
    print(f"| {args.dataset} | {args.arch} | {args.kind} | {args.precision} | {onednn} | {ms:.1f} |")
    if args.csv:
        append_csv(args.csv, {"dataset": args.dataset, "arch": args.arch, "kind": args.kind,
                              "precision": args.precision, "onednn": onednn, "ms_per_step": f"{ms:.2f}",
                              "steps": args.steps, "repeats": args.repeats, "batch_size": args.batch_size or cfg["train"]["batch_size"],
                              "cpu": machine.cpu(), "date": date.today().isoformat()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
