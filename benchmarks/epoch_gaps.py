#!/usr/bin/env python
"""Time lost between training epochs, with and without tf.data autotuning.

    python benchmarks/epoch_gaps.py --dataset mnist --arch teacher --epochs 3 --busy [--autotune]

Trains one architecture on the prepared data exactly as training.train_supervised
does (one thread, params.yaml) and prints, per epoch, the seconds inside the
epoch and the gap before the next one begins. With --autotune the input
pipelines get tf.data autotuning back (as before the fix); with --busy a second
process keeps the other core busy, as the second job of a workflow run does.
Keras destroys the epoch's iterator in that gap, and with autotuning the
destructor waits for the autotuner's thread (seen with gdb).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

BUSY = "import time\nend = time.time() + 3600\nwhile time.time() < end: pass\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", required=True, help="a dataset of the catalog (catalog/datasets.py)")
    ap.add_argument("--arch", choices=["teacher", "ta", "student"], required=True)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--autotune", action="store_true", help="re-enable tf.data autotuning")
    ap.add_argument("--busy", action="store_true", help="keep the other core busy meanwhile")
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args(argv)

    import yaml

    from compressbench import data, matrix, models, training  # first: it sets TensorFlow's environment

    import tensorflow as tf
    import tf_keras as keras

    cfg = yaml.safe_load(Path(args.params).read_text())
    t = cfg["train"]
    training.configure(0, 1, t["precision"])
    arrays = data.load_prepared(matrix.prepared(args.dataset))
    model = models.build_for(cfg, args.dataset, args.arch)
    training.compile_supervised(model, t["optimizer"], t["learning_rate"])
    train = training.dataset(arrays["x_train"], arrays["y_train"], t["batch_size"], shuffle=True)
    val = training.dataset(arrays["x_val"], arrays["y_val"], 1024)
    if args.autotune:
        options = tf.data.Options()
        options.autotune.enabled = True
        train, val = train.with_options(options), val.with_options(options)

    marks: list[tuple[str, float]] = []

    class Marks(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            marks.append(("begin", time.perf_counter()))

        def on_epoch_end(self, epoch, logs=None):
            marks.append(("end", time.perf_counter()))

    busy = subprocess.Popen([sys.executable, "-c", BUSY]) if args.busy else None
    try:
        model.fit(train, validation_data=val, epochs=args.epochs, verbose=0, callbacks=[Marks()])
    finally:
        if busy:
            busy.kill()
    begins = [t for k, t in marks if k == "begin"]
    ends = [t for k, t in marks if k == "end"]
    label = f"{args.dataset} {args.arch}, autotune {'on' if args.autotune else 'off'}, " \
            f"other core {'busy' if args.busy else 'idle'}"
    for i, (b, e) in enumerate(zip(begins, ends)):
        gap = begins[i + 1] - e if i + 1 < len(begins) else None
        print(f"| {label} | {i + 1} | {e - b:.1f} | {'—' if gap is None else f'{gap:.1f}'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
