#!/usr/bin/env python
"""Training step time of one model, one precision, one kind of step, on one thread.

    python benchmarks/step_time.py --dataset mnist --arch teacher --precision mixed_bfloat16 --kind prune

Prints one markdown table row: ms per step (median of --repeats timed fits of
--steps batches after a warm-up fit, so tracing is excluded). Random images of
the dataset's shape: step time does not depend on the pixel values. Used to
decide train.precision (see benchmarks/README.md); each call is its own process
because TensorFlow's thread count and precision policy are per process.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", choices=["mnist", "cifar10"], required=True)
    ap.add_argument("--arch", choices=["teacher", "ta", "student"], required=True)
    ap.add_argument("--precision", choices=["float32", "mixed_bfloat16"], required=True)
    ap.add_argument("--kind", choices=["train", "prune", "qat"], default="train")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)

    import numpy as np
    import yaml

    from compressbench import models, prune, quantize, training

    cfg = yaml.safe_load(Path(args.params).read_text())
    training.configure(0, 1, args.precision)
    model = models.build_for(cfg, args.dataset, args.arch)
    callbacks = []
    if args.kind == "prune":
        plan, _ = prune.magnitude_plan(model, cfg["prune"]["schemes"]["local-all"], 10 * args.steps)
        model, callbacks = prune.wrap(model, plan), [prune.sparsity_api.UpdatePruningStep()]
    elif args.kind == "qat":
        model, _ = quantize.qat_model(model)  # float32 only: fake-quant ops reject bfloat16
    training.compile_supervised(model, "adam", 1e-3)
    batch = cfg["train"]["batch_size"]
    shape = models.INPUT_SHAPES[args.dataset]
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (batch * args.steps, *shape), dtype=np.uint8)
    y = rng.integers(0, 10, batch * args.steps)
    data = training.dataset(x, y, batch)
    model.fit(data.take(5), verbose=0, callbacks=callbacks)  # trace and warm up
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        model.fit(data, verbose=0, callbacks=callbacks)
        times.append((time.perf_counter() - start) / args.steps * 1000)
    print(f"| {args.dataset} | {args.arch} | {args.kind} | {args.precision} | {statistics.median(times):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
