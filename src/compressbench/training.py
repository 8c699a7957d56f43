"""Fit-loop pieces shared by every trainer: seeds, threads, input pipelines,
progress lines, history and metrics files."""
from __future__ import annotations

import logging
import math
import time

import numpy as np
import pandas as pd
import tensorflow as tf
import tf_keras as keras

from . import io
from .progress import format_epoch  # the epoch line's format lives with its parser

log = logging.getLogger("compressbench")


PRECISIONS = ("float32", "mixed_bfloat16")


def start_fine_tune(seed: int, threads: int, precision: str, data_path, model_path) -> tuple[dict, object]:
    """A job that goes on training a trained model (prune, cluster, qat): TensorFlow
    configured for it, then the prepared data and the model."""
    from . import data, models  # they import TensorFlow's pieces themselves
    configure(seed, threads, precision)
    return data.load_prepared(data_path), models.load(model_path)


def configure(seed: int, threads: int, precision: str = "float32") -> None:
    """Bit-identical reruns on one machine, no more CPU threads than the job owns,
    and the compute precision of the models built (or cloned) afterwards.

    mixed_bfloat16 keeps float32 weights and runs convolutions and matmuls in
    bfloat16 (oneDNN's AVX-512-BF16 kernels). Must run before TensorFlow
    executes its first op."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: allowed {', '.join(PRECISIONS)}")
    tf.config.threading.set_intra_op_parallelism_threads(max(1, threads))
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    keras.mixed_precision.set_global_policy(precision)


def _augment(image, flip: bool, shift: int):
    # Random shifts of up to `shift` px (and horizontal flips for natural images).
    h, w, c = image.shape
    image = tf.image.pad_to_bounding_box(image, shift, shift, h + 2 * shift, w + 2 * shift)
    image = tf.image.random_crop(image, (h, w, c))
    return tf.image.random_flip_left_right(image) if flip else image


def dataset(x: np.ndarray, y: np.ndarray, batch_size: int, *, shuffle: bool = False,
            augment: bool = False, shift: int = 2, flip: bool = False, seed: int = 0) -> tf.data.Dataset:
    """uint8 images -> batches of [0, 1] floats; images stay uint8 in memory. `augment`
    shifts them, and flips them too when `flip` (the dataset's catalog entry says whether a
    flip keeps the label)."""
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    if augment:
        ds = ds.map(lambda a, b: (_augment(a, flip, shift), b), num_parallel_calls=1, deterministic=True)
    ds = ds.batch(batch_size).map(lambda a, b: (tf.cast(a, tf.float32) / 255.0, b))
    # No autotuning: its model thread makes every iterator's destructor (once per
    # epoch, evaluate and predict) wait up to its optimisation period, tens of
    # seconds when another job holds the other core. A fixed prefetch of 2 batches
    # keeps the single compute thread fed.
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.prefetch(2).with_options(options)


def scale(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) / 255.0


SCHEDULES = ("constant", "cosine")
SPLITS = ("train", "train+val")


def optimizer(name: str, learning_rate: float, schedule: str = "constant", total_steps: int = 1,
              weight_decay: float = 0.0):
    """The optimizer; `cosine` decays the learning rate to 0 over `total_steps`; a
    `weight_decay` > 0 makes Adam AdamW (decoupled decay, scaled by the rate)."""
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule {schedule!r}: allowed: {', '.join(SCHEDULES)}")
    lr = learning_rate if schedule == "constant" else \
        keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=max(1, total_steps), alpha=0.0)
    if weight_decay:
        if name != "adam":
            raise ValueError(f"weight_decay with optimizer {name!r}: only adam (as AdamW)")
        return keras.optimizers.AdamW(learning_rate=lr, weight_decay=weight_decay)
    return {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD,
            "rmsprop": keras.optimizers.RMSprop}[name](learning_rate=lr)


def training_split(data: dict, y_train, y_val, split: str):
    """(x, y) to fit on and the validation pair: `train+val` fits on the whole
    training split, as the study's students did, and then has nothing to validate on."""
    if split not in SPLITS:
        raise ValueError(f"training data {split!r}: allowed: {', '.join(SPLITS)}")
    if split == "train+val":
        return np.concatenate([data["x_train"], data["x_val"]]), np.concatenate([y_train, y_val]), None
    return data["x_train"], y_train, ((data["x_val"], y_val) if len(data["x_val"]) else None)


class ProgressLog(keras.callbacks.Callback):
    """One log line per epoch (progress.format_epoch), so long runs can be followed with
    `tail -f` and the benchmarks can sum the seconds inside epochs (progress.parse_epochs)."""

    def __init__(self, epochs: int, label: str):
        super().__init__()
        self.epochs, self.label = epochs, label

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):

        log.info("%s", format_epoch(self.label, epoch + 1, self.epochs, logs or {},
                                    time.perf_counter() - self.start))


def fit(model, train: tf.data.Dataset, val: tf.data.Dataset | None, *, epochs: int,
        label: str, callbacks=()) -> pd.DataFrame:
    """Run model.fit (already compiled); return the per-epoch history."""
    hist = model.fit(train, validation_data=val, epochs=epochs, verbose=0,
                     callbacks=[ProgressLog(epochs, label), *callbacks])
    frame = pd.DataFrame(hist.history)
    frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
    return frame


def predict_logits(model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    return model.predict(dataset(x, np.zeros(len(x)), batch_size), verbose=0).astype(np.float32)


def accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(predict_logits(model, x), axis=1) == y))


def write_history(frame: pd.DataFrame, path) -> None:
    io.write_text(path, frame.to_csv(index=False, float_format="%.6f"))


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = round(time.perf_counter() - self.start, 2)


# Training steps per call of the compiled train function: the per-step Python and
# dispatch overhead, large for small models at batch 32, is paid once per 16 steps
# (measured: benchmarks/README.md). The same batches and updates, so the same weights
# bit for bit; a fit with per-batch callbacks (UpdatePruningStep, weight masks) keeps 1,
# as Keras calls them once per execution.
STEPS_PER_EXECUTION = 16


def fit_model(model, data: dict, y_train, y_val, *, loss, metrics, epochs: int, batch_size: int,
              optimizer_name: str, learning_rate: float, schedule: str = "constant", split: str = "train",
              augment: bool = False, shift: int = 2, flip: bool = False, weight_decay: float = 0.0, seed: int,
              label: str, callbacks=()) -> pd.DataFrame:
    """Compile and fit on the split `split` names (y_* the targets of x_train, x_val) under
    one protocol; return the per-epoch history."""
    x, y, val = training_split(data, y_train, y_val, split)
    steps = epochs * math.ceil(len(x) / batch_size)
    model.compile(optimizer=optimizer(optimizer_name, learning_rate, schedule, steps, weight_decay),
                  loss=loss, metrics=metrics,
                  steps_per_execution=1 if callbacks else STEPS_PER_EXECUTION)
    train = dataset(x, y, batch_size, shuffle=True, augment=augment, shift=shift, flip=flip, seed=seed)
    return fit(model, train, dataset(*val, 1024) if val else None, epochs=epochs, label=label, callbacks=callbacks)


# What a protocol family may change in every fine-tune after its models' training
# (pruning, clustering, QAT and its control): how it trains, not how long.
FINE_TUNE_STYLE = ("learning_rate", "schedule", "augment", "shift", "weight_decay")


def fine_tune_keywords(settings: dict, style: dict | None = None) -> dict:
    """fit_model's protocol keywords of a fine-tune: its `settings` (epochs, batch_size,
    learning_rate) in the family's `style` (FINE_TUNE_STYLE keys; none: the study's
    constant-rate Adam without augmentation).

    >>> fine_tune_keywords({"epochs": 2, "batch_size": 128, "learning_rate": 1e-3}, {"augment": True})["augment"]
    True"""
    out = dict(epochs=settings["epochs"], batch_size=settings["batch_size"], optimizer_name="adam",
               learning_rate=settings["learning_rate"])
    return out | {k: v for k, v in (style or {}).items() if k in FINE_TUNE_STYLE}


def _supervised() -> dict:
    return dict(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])


def compile_supervised(model, optimizer_name: str, learning_rate: float) -> None:
    """Compile for label training at a constant rate (the benchmarks time its steps)."""
    model.compile(optimizer=optimizer(optimizer_name, learning_rate), **_supervised())


def fit_keywords(protocol: dict) -> dict:
    """fit_model's protocol keywords from a base model's protocol (params.protocol)."""
    return dict(epochs=protocol["epochs"], batch_size=protocol["batch_size"], optimizer_name=protocol["optimizer"],
                learning_rate=protocol["learning_rate"], schedule=protocol["schedule"], split=protocol["data"],
                augment=protocol["augment"], shift=protocol["shift"], weight_decay=protocol["weight_decay"],
                flip=protocol["flip"])


def train_supervised(model, data: dict, **protocol) -> pd.DataFrame:
    """Train on the hard labels (fit_model's protocol keywords); return the per-epoch history."""
    return fit_model(model, data, data["y_train"], data["y_val"], **_supervised(), **protocol)
