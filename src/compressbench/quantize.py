"""TFLite export: float32, post-training quantization (dynamic, int8, float16)
and quantization-aware training (prune- and cluster-preserving where the model
is sparse or clustered), exported with float and with int8 input and output."""
from __future__ import annotations

import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot

from . import models
from .catalog import methods
from .refusal import Refused

# A kernel with this share of exact zeros was pruned (trained kernels have
# none); plain QAT would refill its zeros.
SPARSE = 0.05


def calibration_images(x_train: np.ndarray, samples: int, seed: int) -> np.ndarray:
    """`samples` images of the training split drawn with `seed`, as [0, 1] floats."""
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(x_train), size=min(samples, len(x_train)), replace=False)
    return x_train[np.sort(pick)].astype(np.float32) / 255.0


def representative_of(images: np.ndarray):
    """The converter's representative dataset: one image per call."""
    def gen():
        for i in range(len(images)):
            yield [images[i:i + 1]]
    return gen


def representative(x_train: np.ndarray, samples: int, seed: int):
    """Calibration images (one per call, [0, 1] floats) drawn from the training split."""
    return representative_of(calibration_images(x_train, samples, seed))


def convert(model, method: str, calibration=None, float_io: bool = False) -> bytes:
    """The .tflite bytes of `model` under a converter method (catalog.methods): its
    traits set the converter's flags (quantized weights, float16, integer-only);
    `float_io` keeps an integer method's input and output float (its twin for the
    integer-only check)."""
    m = methods.get(method, methods.QUANTIZE)
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if m.weight_bits != 32:  # every quantized export, QAT's too
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if m.weight_bits == 16:
        conv.target_spec.supported_types = [tf.float16]
    if m.integer_io:  # full integer: the converter calibrates activations (a QAT model's too)
        if calibration is None:
            raise ValueError(f"{method} conversion needs calibration data")
        conv.representative_dataset = calibration
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if not float_io:
            conv.inference_input_type = tf.int8
            conv.inference_output_type = tf.int8
    return conv.convert()


def qat_model(model, clustered: bool = False):
    """A quantization-aware copy of `model`; (model, scheme name).

    On a pruned model the prune-preserving scheme keeps its zeros; on a clustered
    one the cluster-preserving scheme keeps its shared values (and its zeros when
    it is also pruned)."""
    q, combine = tfmot.quantization.keras, tfmot.experimental.combine
    copy = models.clone(model)
    sparse = max(models.layer_sparsity(model).values()) > SPARSE
    if clustered:
        scheme = combine.Default8BitClusterPreserveQuantizeScheme(preserve_sparsity=sparse)
        kind = "cluster-and-prune-preserving" if sparse else "cluster-preserving"
    elif sparse:
        scheme, kind = combine.Default8BitPrunePreserveQuantizeScheme(), "prune-preserving"
    else:
        return q.quantize_model(copy), "default-8bit"
    return q.quantize_apply(q.quantize_annotate_model(copy), scheme), kind


def trainable_copy(model, method: str, clustered: bool = False):
    """(copy to train, its kind, the conversion method) for a scheme that trains before
    it exports: a QAT copy for qat; for its control, float32-ft, a plain float32 copy
    that trains the same epochs and exports as float32 (on a pruned model its zeros
    refill: the default matrix runs the control on unpruned models only); for
    qat-scratch, a QAT copy of the architecture with fresh weights (the study's QAT).
    Refused, naming the layer, where tfmot's scheme cannot wrap one (before training)."""
    m = methods.get(method, methods.QUANTIZE)
    if m.role == methods.CONTROL:
        return models.clone(model, "float32"), "float32", "float32"
    if m.from_scratch:
        return tfmot.quantization.keras.quantize_model(models.reinitialised(model)), "default-8bit, from scratch", "qat"
    try:
        copy, kind = qat_model(model, clustered)
    except (ValueError, RuntimeError) as exc:  # tfmot refuses a layer its scheme cannot wrap
        raise Refused(_layer_in(model, str(exc)), f"tfmot's QAT scheme for this model cannot wrap it ({exc})") \
            from exc
    return copy, kind, "qat"


def _layer_in(model, message: str) -> str:
    """The first layer `message` names by name or class (tfmot names the class), else '?'."""
    for layer in models.flat_layers(model):
        if layer.name in message or type(layer).__name__ in message:
            return layer.name
    return "?"


def describe(model) -> dict:
    n_params, nonzero = models.count_params(model)
    macs, nonzero_macs = models.macs(model)
    return {"params": n_params, "nonzero_params": nonzero, "kernel_sparsity": round(models.kernel_sparsity(model), 6),
            "macs": macs, "nonzero_macs": nonzero_macs}
