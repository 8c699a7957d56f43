"""Measure a deployable .tflite with LiteRT: accuracy, size and the tensor-arena
estimate (latency is its own job: latency.py).

Imports no TensorFlow: evaluation is what a device does, and skipping the
import saves seconds per job."""
from __future__ import annotations

import gzip
import time
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from . import tflite_graph
from .io import atomic_path

MB = 1_000_000  # efficiency = accuracy per gzip megabyte (10^6 bytes)


class TFLiteError(RuntimeError):
    """A .tflite file is missing or not a model LiteRT can run."""


def interpreter(path, threads: int = 1) -> Interpreter:
    path = Path(path)
    if not path.is_file():
        raise TFLiteError(f"{path}: .tflite file is missing")
    try:
        interp = Interpreter(model_path=str(path), num_threads=threads)
        interp.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise TFLiteError(f"{path}: not a valid .tflite model ({exc})") from exc
    return interp


def to_input(images: np.ndarray, detail: dict) -> np.ndarray:
    """uint8 images -> the model's input: [0, 1] floats, or quantized with the
    input tensor's own scale and zero point for integer models."""
    x = images.astype(np.float32) / 255.0
    dtype = detail["dtype"]
    if np.issubdtype(dtype, np.integer):
        scale, zero = detail["quantization"]
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)
    return x.astype(dtype)


def from_output(values: np.ndarray, detail: dict) -> np.ndarray:
    if np.issubdtype(detail["dtype"], np.integer):
        scale, zero = detail["quantization"]
        return (values.astype(np.float32) - zero) * scale
    return values.astype(np.float32)


def predict(interp: Interpreter, images: np.ndarray, batch_size: int) -> np.ndarray:
    """Logits for every image, batched by resizing the input tensor."""
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    logits, size = [], None
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size]
        if len(batch) != size:
            size = len(batch)
            interp.resize_tensor_input(inp["index"], [size, *images.shape[1:]])
            interp.allocate_tensors()
            inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
        interp.set_tensor(inp["index"], to_input(batch, inp))
        interp.invoke()
        logits.append(from_output(interp.get_tensor(out["index"]), out))
    return np.concatenate(logits)


def gzip_size(blob: bytes) -> int:
    """Size after gzip -9: what sparsity saves on disk and over the air."""
    return len(gzip.compress(blob, compresslevel=9, mtime=0))


def labels(logits: np.ndarray) -> np.ndarray:
    """Predicted classes as uint8: 1 byte an image, kept beside the metrics so that
    agreement with the uncompressed model is computed later without inference."""
    return np.argmax(logits, axis=1).astype(np.uint8)


def class_accuracy(predicted: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Accuracy per class (index = label; NaN for a class without images).

    >>> class_accuracy(np.array([0, 1, 1]), np.array([0, 1, 0])).tolist()
    [0.5, 1.0]"""
    y = np.asarray(y).astype(int)
    hits = np.bincount(y, weights=(np.asarray(predicted) == y).astype(float), minlength=y.max() + 1)
    counts = np.bincount(y, minlength=y.max() + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return hits / counts


def evaluate(path, x_test: np.ndarray, y_test: np.ndarray, *, batch_size: int,
             x_val: np.ndarray | None = None, y_val: np.ndarray | None = None) -> dict:
    """The metrics of one .tflite (see evaluate_with_labels)."""
    return evaluate_with_labels(path, x_test, y_test, batch_size=batch_size, x_val=x_val, y_val=y_val)[0]


def evaluate_with_labels(path, x_test: np.ndarray, y_test: np.ndarray, *, batch_size: int,
                         x_val: np.ndarray | None = None,
                         y_val: np.ndarray | None = None) -> tuple[dict, dict[str, np.ndarray]]:
    """(metrics, predicted labels per split): test accuracy, and with x_val the validation
    accuracy (what recipes are chosen by; the test split only reports them); size, gzip
    size and the tensor-arena estimate."""
    start = time.perf_counter()
    path = Path(path)
    interp = interpreter(path)
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    predicted = {"test": labels(predict(interp, x_test, batch_size))}
    predicted["test_class_accuracy"] = class_accuracy(predicted["test"], y_test)
    if x_val is not None and len(x_val):
        predicted["val"] = labels(predict(interp, x_val, batch_size))
    accuracy = float(np.mean(predicted["test"] == y_test))
    blob = path.read_bytes()
    gz = gzip_size(blob)
    val = {"val_accuracy": round(float(np.mean(predicted["val"] == y_val)), 6)} if "val" in predicted else {}
    return {
        "accuracy": round(accuracy, 6),
        **val,
        "tflite_bytes": len(blob),
        "gzip_bytes": gz,
        "arena_bytes_estimate": tflite_graph.arena_bytes(blob),
        "efficiency": round(accuracy / (gz / MB), 6),
        "input_dtype": np.dtype(inp["dtype"]).name,
        "output_dtype": np.dtype(out["dtype"]).name,
        "wall_seconds": round(time.perf_counter() - start, 2),
    }, predicted


def save_labels(path, predicted: dict[str, np.ndarray]) -> None:
    """The predicted labels per split (uint8 arrays named by split) and the test accuracy per
    class, one compressed npz."""
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **predicted)
