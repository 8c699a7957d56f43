"""Architectures as data -> tf_keras models, and safe model files."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import tf_keras as keras

from . import io
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


# The weight tfmot prunes and clusters in each kind of layer (its prune and cluster
# registries): a depthwise conv has none there, a separable conv its pointwise kernel.
PRUNABLE_WEIGHT = {keras.layers.Conv2D: "kernel", keras.layers.SeparableConv2D: "pointwise_kernel",
                   keras.layers.Dense: "kernel"}
CONVS = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D)


def flat_layers(model) -> list:
    """Every layer of `model`, a nested model's layers in its place."""
    out = []
    for layer in model.layers:
        out += flat_layers(layer) if isinstance(layer, keras.Model) else [layer]
    return out


def prunable_weight(layer):
    """The variable pruning and clustering act on in `layer`, None where tfmot prunes none
    (depthwise convs, BatchNorm, layers without weights). Wrapped layers are read through."""
    inner = getattr(layer, "layer", layer)  # a tfmot wrapper holds its layer
    for kind, attr in PRUNABLE_WEIGHT.items():
        if isinstance(inner, kind) and not isinstance(inner, keras.layers.Conv2DTranspose):
            return getattr(inner, attr)
    return None


def prunable_kernels(model) -> dict[str, np.ndarray]:
    """The weights pruning acts on (conv, separable pointwise and dense kernels), by layer name."""
    return {l.name: prunable_weight(l).numpy() for l in flat_layers(model) if prunable_weight(l) is not None}


def layer_sparsity(model) -> dict[str, float]:
    """Share of exact zeros in each prunable kernel."""
    return {n: float(1 - np.count_nonzero(k) / k.size) for n, k in prunable_kernels(model).items()}


def kernel_sparsity(model) -> float:
    """Share of exact zeros over all prunable kernels together."""
    kernels = prunable_kernels(model).values()
    return float(1 - sum(np.count_nonzero(k) for k in kernels) / sum(k.size for k in kernels))


def macs(model) -> tuple[int, int]:
    """(multiply-accumulates of one inference, those whose weight is non-zero), over the
    conv, depthwise, separable and dense layers: every kernel weight is one multiply per
    output position (a conv kh*kw*c_in*c_out per pixel, a depthwise conv kh*kw*c_in, a
    separable conv both, a dense layer in*out). Pooling, activations, adds and biases add
    no multiplies; BatchNorm none either (the converter folds it into the conv before it).

    >>> macs(build([{"conv": 4}], (8, 8, 1)))    # 16 pixels x 9 x 1 x 4, then 64 x 10
    (1216, 1216)"""
    total = nonzero = 0
    for layer in flat_layers(model):
        if not isinstance(layer, (*CONVS, keras.layers.Dense)):
            continue
        kernels = [w for w in (layer.get_weights()) if w.ndim >= 2]  # kernels, not biases
        positions = int(np.prod(layer.output_shape[1:-1]))  # pixels; 1 for a dense layer on vectors
        total += positions * sum(k.size for k in kernels)
        nonzero += positions * sum(int(np.count_nonzero(k)) for k in kernels)
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
    io.verify(path, io.record_of(path))
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
    outputs = set(model.output_names)  # the logits layers, whatever the model calls them

    def recast(layer):
        config = layer.get_config()
        config["dtype"] = "float32" if layer.name in outputs else policy
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=recast)
    copy.set_weights(model.get_weights())
    return copy
