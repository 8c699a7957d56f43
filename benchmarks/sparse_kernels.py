"""Does a sparse .tflite run faster on this CPU? One timing that settles whether
XNNPACK's sparse path or TFLite's sparse kernels engage here.

Two models, each dense and with 90 % of its prunable weights zeroed, each converted
plainly and with the converter's sparsity encoding
(`converter.optimizations = [tf.lite.Optimize.EXPERIMENTAL_SPARSITY]`), each timed
(single image, one thread, latency.measure's stopping rule) with XNNPACK (LiteRT's
default delegate) and without it (TFLite's builtin kernels):

- mlp: 3 dense layers of 1024 (TFLite's sparse FULLY_CONNECTED kernels),
- mobilenet: a 3x3 stride-2 convolution, then depthwise + 1x1 convolutions, global
  average pooling (the shape XNNPACK's sparse inference needs).

Usage: python benchmarks/sparse_kernels.py [--seconds S]   (prints a markdown table)
"""
from __future__ import annotations

import argparse
import platform
import sys

import numpy as np

import compressbench  # noqa: F401  (tf-keras before TensorFlow)
from compressbench import latency, machine


def mlp():
    import tf_keras as keras
    return keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Flatten(),
                             *[keras.layers.Dense(1024, activation="relu") for _ in range(3)],
                             keras.layers.Dense(10)])


def mobilenet():
    import tf_keras as keras
    layers = [keras.Input((64, 64, 3)), keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")]
    for width in (64, 128, 128, 256, 256):
        layers += [keras.layers.DepthwiseConv2D(3, padding="same", activation="relu"),
                   keras.layers.Conv2D(width, 1, activation="relu")]
    layers += [keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10)]
    return keras.Sequential(layers)


def sparsify(model, sparsity: float, seed: int = 0):
    """Zero the smallest-magnitude `sparsity` of every dense and 1x1 kernel."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Dense" or (kind == "Conv2D" and layer.kernel_size == (1, 1)):
            w, *rest = layer.get_weights()
            w = w + rng.normal(0, 1e-6, w.shape)  # break ties
            w[np.abs(w) < np.quantile(np.abs(w), sparsity)] = 0
            layer.set_weights([w, *rest])
    return model


def convert(model, encoded: bool) -> bytes:
    import tensorflow as tf
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if encoded:
        conv.optimizations = [tf.lite.Optimize.EXPERIMENTAL_SPARSITY]
    return conv.convert()


def ops(blob: bytes) -> str:
    from ai_edge_litert.tools import flatbuffer_utils as fb
    model = fb.convert_bytearray_to_object(bytearray(blob))
    names = [fb.opcode_to_name(model, op.opcodeIndex) for op in model.subgraphs[0].operators]
    sparse = sum(t.sparsity is not None for t in model.subgraphs[0].tensors)
    return f"{len(names)} ops ({names.count('DENSIFY')} DENSIFY), {sparse} sparse-encoded tensors"


def time_it(blob: bytes, shape, xnnpack: bool, seconds: float) -> dict:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    resolver = OpResolverType.BUILTIN if xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interp = Interpreter(model_content=blob, num_threads=1, experimental_op_resolver_type=resolver)
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], np.random.default_rng(0).random((1, *shape), np.float32))
    return latency.measure(interp.invoke, {"warmup_runs": 20, "min_runs": 50, "check_every": 25, "tolerance": 0.02,
                                           "max_runs": 20000, "max_seconds": seconds})


def paired(a: bytes, b: bytes, shape, xnnpack: bool, seconds: float) -> tuple[float, float, float, int]:
    """Invocations of a and b alternated (a drift in the machine's load hits both alike):
    (median ms of a, of b, median of the per-round ratio b/a, rounds)."""
    import time

    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    resolver = OpResolverType.BUILTIN if xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    x = np.random.default_rng(0).random((1, *shape), np.float32)
    interps = []
    for blob in (a, b):
        it = Interpreter(model_content=blob, num_threads=1, experimental_op_resolver_type=resolver)
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], x)
        for _ in range(20):
            it.invoke()
        interps.append(it)
    ta, tb, start = [], [], time.perf_counter()
    while time.perf_counter() - start < seconds and len(ta) < 20000:
        for it, times in zip(interps, (ta, tb)):
            t = time.perf_counter()
            it.invoke()
            times.append(time.perf_counter() - t)
    ta, tb = np.array(ta) * 1e3, np.array(tb) * 1e3
    return float(np.median(ta)), float(np.median(tb)), float(np.median(tb / ta)), len(ta)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="cap on timing per measurement")
    args = ap.parse_args(argv)
    print(f"CPU: {machine.cpu()} ({platform.machine()}); features: {' '.join(latency.cpu_features())}\n")
    print("| model | weights | encoding | kernels | median ms [95 % CI] | runs | graph |")
    print("|---|---|---|---|---|---|---|")
    for name, build in (("mlp", mlp), ("mobilenet", mobilenet)):
        for sparsity in (0.0, 0.9):
            import tf_keras as keras
            keras.utils.set_random_seed(0)
            model = sparsify(build(), sparsity) if sparsity else build()
            shape = model.input_shape[1:]
            for encoded in (False, True):
                blob = convert(model, encoded)
                for xnnpack in (True, False):
                    r = time_it(blob, shape, xnnpack, args.seconds)
                    print(f"| {name} | {'dense' if not sparsity else f'{sparsity:.0%} zeros'} | "
                          f"{'sparsity' if encoded else 'plain'} | {'XNNPACK' if xnnpack else 'builtin'} | "
                          f"{r['median_ms']:.4f} [{r['ci_low_ms']:.4f}, {r['ci_high_ms']:.4f}] | {r['runs']} | "
                          f"{ops(blob)}, {len(blob)} B |", flush=True)
    print("\nPaired (alternating invocations): 90 % zeros with the sparsity encoding against the dense "
          "model, plain\n")
    print("| model | kernels | dense ms | sparse-encoded ms | median ratio sparse/dense | rounds |")
    print("|---|---|---|---|---|---|")
    for name, build in (("mlp", mlp), ("mobilenet", mobilenet)):
        import tf_keras as keras
        keras.utils.set_random_seed(0)
        dense = build()
        shape = dense.input_shape[1:]
        a = convert(dense, False)
        b = convert(sparsify(dense, 0.9), True)
        for xnnpack in (True, False):
            ma, mb, ratio, n = paired(a, b, shape, xnnpack, args.seconds)
            print(f"| {name} | {'XNNPACK' if xnnpack else 'builtin'} | {ma:.4f} | {mb:.4f} | {ratio:.3f} | {n} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
