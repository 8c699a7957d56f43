"""Architectures as data -> tf_keras models, and safe model files."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import tf_keras as keras

from . import io, matrix
from .catalog import datasets


class ModelFileError(RuntimeError):
    """A model file is missing or unreadable."""


LAYER_KINDS = ("conv", "lrelu", "pool", "dense", "dropout")


def build(spec: list[dict], input_shape, num_classes: int = 10, name: str = "model") -> keras.Sequential:
    """Build a layer stack from a list like [{conv: 16}, {lrelu: 0.2}, {pool: 2}, {dense: 50}],
    the study's notebooks layer for layer (each layer named kind + its index in the list):

    conv f: Conv2D(f, 3x3, stride 2, same); lrelu a: LeakyReLU(a); pool k: MaxPool(k x k,
    stride 1, same); dense n: Dense(n), linear as in the notebooks; dropout r: Dropout(r).
    A Flatten precedes the first dense layer and the output layer of `num_classes` logits,
    always appended."""
    layers = [keras.Input(shape=tuple(input_shape))]
    flat = False
    for i, layer in enumerate(spec):
        (kind, value), = layer.items()
        if kind in ("conv", "pool") and flat:
            raise ValueError(f"layer {i}: {kind} after a dense layer")
        if kind == "dense" and not flat:
            layers.append(keras.layers.Flatten(name="flatten"))
            flat = True
        if kind == "conv":
            layers.append(keras.layers.Conv2D(value, 3, strides=2, padding="same", name=f"conv{i}"))
        elif kind == "lrelu":
            layers.append(keras.layers.LeakyReLU(value, name=f"lrelu{i}"))
        elif kind == "pool":
            layers.append(keras.layers.MaxPooling2D(value, strides=1, padding="same", name=f"pool{i}"))
        elif kind == "dense":
            layers.append(keras.layers.Dense(value, name=f"dense{i}"))
        elif kind == "dropout":
            layers.append(keras.layers.Dropout(value, name=f"dropout{i}"))
        else:
            raise ValueError(f"layer {i}: unknown kind {kind!r}; allowed: {', '.join(LAYER_KINDS)}")
    if not flat:
        layers.append(keras.layers.Flatten(name="flatten"))
    # Logits stay float32 under mixed precision: softmax and the losses need the range.
    layers.append(keras.layers.Dense(num_classes, name="logits", dtype="float32"))
    return keras.Sequential(layers, name=name)


def spec_of(model) -> list[dict]:
    """The spec a model was built from: build(spec_of(m)) has m's layers and names."""
    spec = []
    for l in model.layers:
        if isinstance(l, keras.layers.Conv2D):
            spec.append({"conv": l.filters})
        elif isinstance(l, keras.layers.LeakyReLU):
            spec.append({"lrelu": round(float(l.alpha), 6)})
        elif isinstance(l, keras.layers.MaxPooling2D):
            spec.append({"pool": l.pool_size[0]})
        elif isinstance(l, keras.layers.Dense) and l.name != "logits":
            spec.append({"dense": l.units})
        elif isinstance(l, keras.layers.Dropout):
            spec.append({"dropout": l.rate})
    return spec


def build_for(cfg: dict, dataset: str, arch: str) -> keras.Sequential:
    ds = datasets.get(dataset, cfg)
    return build(cfg["zoo"][dataset][arch], ds.input_shape, ds.num_classes, name=arch)


def prunable_kernels(model) -> dict[str, np.ndarray]:
    """Conv and dense kernels by layer name: the weights pruning acts on."""
    return {l.name: l.get_weights()[0] for l in model.layers
            if isinstance(l, (keras.layers.Conv2D, keras.layers.Dense))}


def layer_sparsity(model) -> dict[str, float]:
    """Share of exact zeros in each prunable kernel."""
    return {n: float(1 - np.count_nonzero(k) / k.size) for n, k in prunable_kernels(model).items()}


def kernel_sparsity(model) -> float:
    """Share of exact zeros over all prunable kernels together."""
    kernels = prunable_kernels(model).values()
    return float(1 - sum(np.count_nonzero(k) for k in kernels) / sum(k.size for k in kernels))


def macs(model) -> tuple[int, int]:
    """(multiply-accumulates of one inference, those whose weight is non-zero), over the
    conv and dense layers (pooling, activations and biases add no multiplies): a conv
    does kh*kw*c_in*c_out per output pixel, a dense layer in*out."""
    total = nonzero = 0
    for layer in model.layers:
        if not isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
            continue
        kernel = layer.get_weights()[0]
        pixels = int(np.prod(layer.output_shape[1:-1])) if isinstance(layer, keras.layers.Conv2D) else 1
        total += pixels * kernel.size
        nonzero += pixels * int(np.count_nonzero(kernel))
    return int(total), int(nonzero)


def count_params(model) -> tuple[int, int]:
    """(parameters, non-zero parameters) over every weight of the model."""
    weights = model.get_weights()
    return int(sum(w.size for w in weights)), int(sum(np.count_nonzero(w) for w in weights))


def save(model, path) -> None:
    """Save weights and architecture only, in float32: an uncompiled float32 copy
    carries no optimizer state and converts and loads the same whatever precision trained it."""
    with io.atomic_path(path) as tmp:
        clone(model, "float32").save(tmp)


def load(path):
    """Load a model for inference or fine-tuning, checked against its record's
    sha256; a bad file fails naming it."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: model file is missing")
    io.verify(path, matrix.record(str(path)))
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many kinds for a damaged zip/h5
        raise ModelFileError(f"{path}: not a readable Keras model ({type(exc).__name__}: {exc})") from exc


def reinitialised(model):
    """The same architecture with fresh weights, in float32: what the study's
    `quantize_model(keras.models.clone_model(model))` trained (clone_model draws
    new initial weights)."""
    copy = clone(model, "float32")
    fresh = keras.models.clone_model(copy)
    return fresh


def clone(model, policy: str | None = None):
    """A copy with the same weights, computing in `policy` (default: the global
    precision policy); the logits stay float32. tfmot wrappers mutate the model
    they get, and a loaded model keeps the policy it was saved with, so every
    fine-tune starts from a clone."""
    policy = policy or keras.mixed_precision.global_policy().name

    def recast(layer):
        config = layer.get_config()
        config["dtype"] = "float32" if layer.name == "logits" else policy
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=recast)
    copy.set_weights(model.get_weights())
    return copy
