"""Learning-curve pilots of the converged protocol (outside the default run).

One model, one seed, one protocol: trains on the `train` split of a prepared
dataset, validates every epoch on `val`, and writes the per-epoch history and
a summary (best of the last three validation epochs, test accuracy, seconds)
under --out. "Converged" (issue 29) means the pilot at twice the epochs adds
< 0.5 pp to the best of its last three validation epochs.

Example (one thread, the CIFAR-10 student, 40 epochs):
    python benchmarks/pilot.py --dataset cifar10 --arch student --epochs 40 \
        --out reports/pilots/cifar10-student-e40
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import compressbench  # noqa: F401  (the package's TensorFlow environment first)
from compressbench import data, machine, models, params, training
from compressbench.catalog import datasets


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--arch", required=True, help="a zoo key of params.yaml")
    ap.add_argument("--epochs", type=int, required=True)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--learning-rate", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--shift", type=int, default=4, help="random shift in pixels (0: no augmentation)")
    ap.add_argument("--precision", default="float32")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--prepared", default="data/prepared")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    # The epoch lines in the pilot's folder too: an interrupted pilot still leaves its curve.
    epochs_log = logging.FileHandler(out / "epochs.log", mode="w")
    epochs_log.setFormatter(logging.Formatter("%(asctime)s INFO %(message)s", datefmt="%H:%M:%S"))
    logging.getLogger("compressbench").addHandler(epochs_log)
    training.configure(a.seed, a.threads, a.precision)
    arrays = data.load_prepared(Path(a.prepared) / f"{a.dataset}.npz")
    cfg = params.load()
    model = models.build_for(cfg, a.dataset, a.arch)
    start = time.perf_counter()
    history = training.train_supervised(
        model, arrays, epochs=a.epochs, batch_size=a.batch_size, optimizer_name="adam",
        learning_rate=a.learning_rate, schedule="cosine", split="train", augment=a.shift > 0,
        flip=datasets.get(a.dataset, cfg).flip,
        shift=max(a.shift, 1), weight_decay=a.weight_decay, seed=a.seed,
        label=f"pilot {a.dataset}/{a.arch} e{a.epochs}")
    seconds = time.perf_counter() - start
    training.write_history(history, out / "history.csv")
    test = training.accuracy(model, arrays["x_test"], arrays["y_test"])
    summary = {"dataset": a.dataset, "arch": a.arch, "epochs": a.epochs, "batch_size": a.batch_size,
               "learning_rate": a.learning_rate, "schedule": "cosine", "weight_decay": a.weight_decay,
               "shift": a.shift, "precision": a.precision, "seed": a.seed, "threads": a.threads,
               "best_last3_val": float(history["val_accuracy"].tail(3).max()),
               "test_accuracy": test, "seconds": round(seconds, 1),
               "cpu": machine.cpu()}
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
