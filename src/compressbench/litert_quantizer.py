"""The LiteRT Quantizer (ai-edge-quantizer) schemes: weight-only int8 and int4,
full-integer static int8, a mixed-precision recipe by layer, and one chosen per
model from the quantizer's own per-tensor validation.

A scheme takes a float32 `.tflite` (bytes), builds an explicit recipe with one
entry per weighted op (its output tensor name, anchored, is the quantizer's
"scope"), quantizes it and validates every tensor of the result against the float
model on the given images (MSE, SNR, cosine). Imports no TensorFlow.

>>> blob, summary = quantize(float_tflite, "aeq-int4-weights", {"block_size": 32}, images)                                  # doctest: +SKIP
>>> summary["output"]["snr_db"]                                       # doctest: +SKIP
31.2
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

MIN_MAX = "min_max_uniform_quantize"  # the quantizer's algorithm_key for uniform min/max ranges
# Layer kinds a recipe names, and the TFLite ops they become.
KINDS = {"dense": "FULLY_CONNECTED", "conv": "CONV_2D", "depthwise": "DEPTHWISE_CONV_2D"}
FLOAT = None  # a layer's bits when it stays float32
SIGNATURE = "serving_default"


@dataclass(frozen=True)
class Layer:
    """One weighted op of a float .tflite: its kind, its output tensor (the scope a
    recipe entry matches), its weight tensor (holds the Keras layer name, e.g.
    "model/fc1/MatMul") and the size of the weight's input dimension."""
    kind: str
    scope: str
    weight: str
    in_dim: int


def layers(float_tflite: bytes) -> list[Layer]:
    """The weighted ops (dense, conv, depthwise) of a float .tflite, in execution order."""
    from ai_edge_litert.tools import flatbuffer_utils as fb
    model = fb.convert_bytearray_to_object(bytearray(float_tflite))
    graph = model.subgraphs[0]
    op_kind = {v: k for k, v in KINDS.items()}
    out = []
    for op in graph.operators:
        kind = op_kind.get(fb.opcode_to_name(model, op.opcodeIndex))
        if kind is None:
            continue
        weight = graph.tensors[op.inputs[1]]
        # FULLY_CONNECTED weights are [out, in]; conv [out, h, w, in]; depthwise [1, h, w, out]
        out.append(Layer(kind, _name(graph.tensors[op.outputs[0]]), _name(weight), int(weight.shape[-1])))
    return out


def _name(tensor) -> str:
    return tensor.name.decode() if isinstance(tensor.name, bytes) else str(tensor.name)


# ---- recipe entries -------------------------------------------------------------

def weight_only(bits: int) -> dict:
    """Weights stored in `bits` per output channel, dequantized to float before the op."""
    return {"weight_tensor_config": {"num_bits": bits, "symmetric": True, "granularity": "CHANNELWISE",
                                     "dtype": "INT"},
            "compute_precision": "FLOAT", "explicit_dequantize": True}


def blockwise(bits: int, block: int) -> dict:
    """Weights in `bits` with one scale per `block` input values; the quantizer's policy
    allows blockwise only for dense layers, computed as dynamic-range (activations
    quantized on the fly by the runtime kernel)."""
    return {"weight_tensor_config": {"num_bits": bits, "symmetric": True, "granularity": f"BLOCKWISE_{block}",
                                     "dtype": "INT"},
            "compute_precision": "INTEGER", "explicit_dequantize": False}


def static_int8() -> dict:
    """Full-integer static quantization: int8 weights per channel, int8 activations
    calibrated per tensor (asymmetric), integer kernels."""
    return {"activation_tensor_config": {"num_bits": 8, "symmetric": False, "granularity": "TENSORWISE",
                                         "dtype": "INT"},
            "weight_tensor_config": {"num_bits": 8, "symmetric": True, "granularity": "CHANNELWISE", "dtype": "INT"},
            "compute_precision": "INTEGER", "explicit_dequantize": False}


def layer_config(layer: Layer, bits: int | None, block: int) -> dict | None:
    """The op config of one layer at `bits` (None: stays float). int4 is blockwise on
    dense layers whose input size `block` divides, channelwise elsewhere; depthwise
    convolutions stay at 8 bits (the quantizer's policy has no int4 for them)."""
    if bits is FLOAT:
        return None
    if layer.kind == "depthwise":
        return weight_only(8)
    if bits == 4 and layer.kind == "dense" and block and layer.in_dim % block == 0:
        return blockwise(4, block)
    return weight_only(bits)


def recipe_from_bits(layers_: list[Layer], bits: dict[str, int | None], block: int) -> list[dict]:
    """One recipe entry per layer: its scope anchored (the quantizer's scope is the op's
    output names, each followed by ';'), its kind's op, its config."""
    recipe = []
    for layer in layers_:
        config = layer_config(layer, bits[layer.scope], block)
        entry = {"regex": f"^{re.escape(layer.scope)};$", "operation": KINDS[layer.kind]}
        recipe.append(entry | ({"algorithm_key": MIN_MAX, "op_config": config} if config
                               else {"algorithm_key": "no_quantize"}))
    return recipe


def mixed_bits(layers_: list[Layer], rules: list[dict]) -> dict[str, int | None]:
    """Each layer's bits from a scheme's `layers` rules, the last matching rule winning.

    A rule selects by `kind` (dense, conv, depthwise) and/or `match`, a regex searched
    in the weight tensor's name (it holds the Keras layer name); `bits` is 4, 8 or
    null (float). A layer no rule selects stays float.

    >>> mixed_bits([Layer("dense", "d", "model/fc1/MatMul", 64)],
    ...            [{"kind": "dense", "bits": 4}, {"match": "fc1", "bits": 8}])
    {'d': 8}
    """
    bits = {}
    for layer in layers_:
        bits[layer.scope] = FLOAT
        for rule in rules:
            if rule.get("kind", layer.kind) == layer.kind and re.search(rule.get("match", ""), layer.weight):
                bits[layer.scope] = rule["bits"]
    return bits


# ---- quantize and validate -------------------------------------------------------

def _signature_data(float_tflite: bytes, images: np.ndarray) -> dict:
    """Images ([0, 1] floats, one per invocation) as the quantizer's signature inputs."""
    from ai_edge_litert.interpreter import Interpreter
    (name,) = Interpreter(model_content=bytes(float_tflite)).get_signature_list()[SIGNATURE]["inputs"]
    return {SIGNATURE: [{name: images[i:i + 1].astype(np.float32)} for i in range(len(images))]}


def _run(float_tflite: bytes, recipe: list[dict], data: dict | None, threads: int):
    from ai_edge_quantizer import quantizer
    from ai_edge_quantizer.utils import validation_utils as vu
    q = quantizer.Quantizer(bytearray(float_tflite), recipe)
    calibration = q.calibrate(data, num_threads=threads) if q.need_calibration else None
    blob = bytes(q.quantize(calibration, enable_progress_report=False).quantized_model)
    metrics = [vu.ValidationErrorMetric.MSE, vu.ValidationErrorMetric.SNR, vu.ValidationErrorMetric.COSINE_SIMILARITY]
    result = q.validate(data, error_metrics=metrics, num_threads=threads).get_signature_comparison_result()
    return blob, result


def _metrics(values: dict) -> dict:
    snr = values["snr"]
    return {"mse": float(f"{values['mse']:.6g}"), "snr_db": round(10 * math.log10(snr), 3) if snr > 0 else None,
            "cosine": round(values["cosine_similarity"], 6)}


def summary(result, layers_: list[Layer]) -> dict:
    """The validation in a record: the output's metrics, and per weighted layer its
    weight's (the storage error) and its output's (the error so far)."""
    (output,) = result.output_tensors.values()
    per_layer = {}
    for layer in layers_:
        per_layer[layer.weight] = {
            "kind": layer.kind,
            "weight": _metrics(result.constant_tensors[layer.weight]) if layer.weight in result.constant_tensors else None,
            "output": (_metrics(result.intermediate_tensors[layer.scope])
                       if layer.scope in result.intermediate_tensors else None)}
    return {"output": _metrics(output), "layers": per_layer,
            "note": "ai-edge-quantizer validate(): quantized vs float tensors on the calibration images; "
                    "snr_db = 10 log10(signal power / MSE)"}


def auto_bits(layers_: list[Layer], trial, keep_8bit: float) -> dict[str, int | None]:
    """All layers at 4 bits except the `keep_8bit` share (rounded up) of the int4 layers
    with the lowest weight SNR in the all-int4 `trial` validation, kept at 8 bits
    (depthwise layers are 8-bit in the trial already)."""
    int4 = [l for l in layers_ if l.kind != "depthwise"]
    ranked = sorted(int4, key=lambda l: trial.constant_tensors[l.weight]["snr"])
    keep = {l.scope for l in ranked[:math.ceil(keep_8bit * len(int4))]}
    return {l.scope: 8 if l.scope in keep else 4 for l in layers_}


def quantize(float_tflite: bytes, method: str, settings: dict, images: np.ndarray,
             threads: int = 1) -> tuple[bytes, dict]:
    """(quantized .tflite bytes, {"recipe": ..., "validation": ...}) of one scheme.

    method: aeq-int8-weights, aeq-int4-weights (settings: block_size), aeq-static-int8,
    aeq-mixed (settings: layers, block_size), aeq-auto (settings: keep_8bit, block_size). `images` ([0, 1] floats) calibrate the static scheme and validate all."""
    layers_ = layers(float_tflite)
    block = settings.get("block_size", 0)
    data = _signature_data(float_tflite, images)
    chosen = {}
    if method == "aeq-static-int8":
        recipe = [{"regex": ".*", "operation": "*", "algorithm_key": MIN_MAX, "op_config": static_int8()}]
    else:
        bits = RECIPES[method](layers_, settings)
        if method == "aeq-auto":  # the all-int4 trial decides which layers keep 8 bits
            _, trial = _run(float_tflite, recipe_from_bits(layers_, bits, block), data, threads)
            bits = auto_bits(layers_, trial, settings["keep_8bit"])
            chosen = {"trial": summary(trial, layers_)}
        recipe = recipe_from_bits(layers_, bits, block)
    blob, result = _run(float_tflite, recipe, data, threads)
    return blob, {"recipe": recipe, "validation": summary(result, layers_), **chosen}


# Per method, each layer's bits before any trial (the static scheme has one recipe entry).
RECIPES = {
    "aeq-int8-weights": lambda ls, s: {l.scope: 8 for l in ls},
    "aeq-int4-weights": lambda ls, s: {l.scope: 4 for l in ls},
    "aeq-mixed": lambda ls, s: mixed_bits(ls, s["layers"]),
    "aeq-auto": lambda ls, s: {l.scope: 4 for l in ls},
}
