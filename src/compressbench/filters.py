"""Filter pruning: remove the lowest-L1 filters of every conv layer and the inputs
they fed downstream, rebuilding a physically smaller model, Sequential or Functional.

The kept channels of each conv are followed through the layers that act on each
channel alone (BatchNorm, activations, pooling, dropout, a depthwise conv, global
pooling, Flatten) to the layers that sum over channels (a conv, a separable conv, a
dense layer), whose inputs are cut to match. Where removed channels would reach a
layer that joins branches (a residual Add, Concatenate, ...), the model output or a
layer this cannot follow, filter removal cannot apply: `plan` refuses naming the
conv and that layer, before anything trains.

>>> small = remove_filters(model, 0.5)       # doctest: +SKIP
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tf_keras as keras

from .refusal import Refused

L = keras.layers
# Layers without weights that act on each channel alone: the kept channels pass through.
CHANNELWISE = (L.ReLU, L.LeakyReLU, L.ELU, L.Activation, L.MaxPooling2D, L.AveragePooling2D, L.Dropout,
               L.SpatialDropout2D, L.GaussianNoise, L.GaussianDropout, L.ZeroPadding2D, L.Cropping2D,
               L.UpSampling2D, L.GlobalAveragePooling2D, L.GlobalMaxPooling2D, L.ActivityRegularization)


def keep_filters(kernel: np.ndarray, fraction: float) -> np.ndarray:
    """Indices (in order) of the filters with the largest L1 norms."""
    n_out = kernel.shape[-1]
    n_keep = max(1, n_out - int(math.floor(fraction * n_out)))
    norms = np.abs(kernel).reshape(-1, n_out).sum(axis=0)
    return np.sort(np.argsort(-norms, kind="stable")[:n_keep])


@dataclass(frozen=True)
class Channels:
    """The channels of a layer's output that survive (`keep`), from conv `origin`;
    `flat` is the (h, w, c) a Flatten unrolled them from."""
    keep: np.ndarray
    origin: str
    flat: tuple | None = None


def _inbound(model) -> dict[str, list[str]]:
    """Layer name -> the names of the layers feeding it (a Sequential is a chain)."""
    config = model.get_config()
    if isinstance(model, keras.Sequential):
        names = [l.name for l in model.layers]
        return {n: [names[i - 1] if i else "(input)"] for i, n in enumerate(names)}
    return {layer["config"]["name"]: [inp[0] for node in layer["inbound_nodes"] for inp in node]
            for layer in config["layers"]}


def _expand(keep: np.ndarray, multiplier: int) -> np.ndarray:
    """Channel indices after a depthwise multiplier: channel c becomes c*m ... c*m+m-1."""
    return (keep[:, None] * multiplier + np.arange(multiplier)).ravel()


def _sums_over(layer, state: Channels | None, weights: list) -> list:
    """The weights of a layer that sums over its input channels, cut to `state`'s."""
    if state is None:
        return weights
    if isinstance(layer, L.Dense) and state.flat is not None:  # rows are (h, w, c) in C order
        h, w, c = state.flat
        k = weights[0]
        return [k.reshape(h, w, c, -1)[:, :, state.keep, :].reshape(-1, k.shape[-1]), *weights[1:]]
    if isinstance(layer, L.Dense):
        return [weights[0][state.keep], *weights[1:]]
    if isinstance(layer, L.SeparableConv2D):
        depth, point, *rest = weights
        return [depth[:, :, state.keep, :], point[:, :, _expand(state.keep, layer.depth_multiplier), :], *rest]
    return [weights[0][:, :, state.keep, :], *weights[1:]]


def plan(model, fraction: float) -> tuple[dict[str, int], dict[str, list]]:
    """(filters kept per pruned conv, the new weights per layer with weights), or
    Refused naming the conv whose channels reach a layer this cannot follow."""
    inbound, outputs = _inbound(model), set(model.output_names)
    state: dict[str, Channels | None] = {}
    filters, weights = {}, {}
    for layer in model.layers:
        ins = [state.get(n) for n in inbound.get(layer.name, [])]
        cut = [s for s in ins if s is not None]
        old = layer.get_weights()
        if isinstance(layer, L.InputLayer) or not inbound.get(layer.name):
            state[layer.name] = None
            continue
        if len(ins) > 1 and cut:
            raise Refused(cut[0].origin, f"its output reaches {layer.name} ({type(layer).__name__}), which joins "
                          "it with another branch: removing its filters would misalign them (a residual add)")
        s = cut[0] if cut else None
        if isinstance(layer, (L.Conv2D, L.SeparableConv2D, L.Dense)) and not isinstance(layer, L.Conv2DTranspose) \
                and getattr(layer, "groups", 1) == 1:
            new = _sums_over(layer, s, old)
            out = None
            if not isinstance(layer, L.Dense) and layer.name not in outputs:
                kernel = new[1] if isinstance(layer, L.SeparableConv2D) else new[0]
                keep = keep_filters(kernel, fraction)
                filters[layer.name] = len(keep)
                new = [w[..., keep] for w in new]  # the kernels' last axis and the bias are the filters
                out = Channels(keep, layer.name)
            weights[layer.name], state[layer.name] = new, out
        elif isinstance(layer, L.DepthwiseConv2D):
            keep = None if s is None else _expand(s.keep, layer.depth_multiplier)
            weights[layer.name] = old if s is None else [old[0][:, :, s.keep, :], *(w[keep] for w in old[1:])]
            state[layer.name] = None if s is None else Channels(keep, s.origin)
        elif isinstance(layer, L.BatchNormalization) and s is not None and s.flat is None:
            weights[layer.name], state[layer.name] = [w[s.keep] for w in old], s
        elif isinstance(layer, L.Flatten) and s is not None:
            state[layer.name] = Channels(s.keep, s.origin, tuple(layer.input_shape[1:]))
        elif s is None or (isinstance(layer, CHANNELWISE) and not old):
            weights[layer.name], state[layer.name] = old, s
        else:
            raise Refused(s.origin, f"its output reaches {layer.name} ({type(layer).__name__}), which filter "
                          "removal cannot follow channel by channel")
    for name in outputs:
        if state.get(name) is not None:
            raise Refused(state[name].origin, f"its channels reach the model output {name}")
    return filters, weights


def remove_filters(model, fraction: float):
    """Drop the lowest-L1 `fraction` of the filters of every conv layer (and the inputs
    they fed); return the rebuilt, physically smaller model (same layer names)."""
    filters, weights = plan(model, fraction)
    config = model.get_config()
    for layer in config["layers"]:
        if layer["config"]["name"] in filters:
            layer["config"]["filters"] = filters[layer["config"]["name"]]
    small = type(model).from_config(config)
    for name, values in weights.items():
        if values:
            small.get_layer(name).set_weights(values)
    return small
