"""The tensor-arena estimate and kernel storage types, read from a .tflite's flatbuffer."""
import numpy as np
import pytest

from compressbench import quantize, tflite_graph


@pytest.fixture(scope="module")
def tiny():
    """input 4x4x1 -> conv 2 filters (same) -> flatten -> dense 3: three ops whose tensors
    can be counted by hand."""
    import tf_keras as keras
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(2, 3, padding="same", name="conv"),
                             keras.layers.Flatten(name="flatten"), keras.layers.Dense(3, name="fc")])


def test_arena_estimate_is_the_peak_of_live_activation_bytes_in_execution_order(tiny):
    blob = quantize.convert(tiny, "float32")
    # op 0 conv: input 16 floats + conv output 32 floats = 192 bytes
    # op 1 reshape: conv output 32 + flattened 32 = 256 bytes (the peak)
    # op 2 dense: flattened 32 + logits 3 = 140 bytes; weights and biases are constants, not counted
    assert tflite_graph.arena_bytes(blob) == 256
    spans = tflite_graph.lifetimes(blob)
    assert sorted(spans.values()) == [(0, 0), (0, 1), (1, 2), (2, 2)]


def test_arena_estimate_of_the_int8_export_is_a_quarter(tiny):
    images = np.random.default_rng(0).random((8, 4, 4, 1)).astype(np.float32)
    blob = quantize.convert(tiny, "int8", quantize.representative_of(images))
    assert tflite_graph.arena_bytes(blob) == 64  # the same tensors, one byte per value (int8 I/O)
    assert set(tflite_graph.weight_types(blob).values()) == {"INT8"}


def test_weight_types_name_every_kernel_with_its_storage(tiny):
    types = tflite_graph.weight_types(quantize.convert(tiny, "float32"))
    assert len(types) == 2 and set(types.values()) == {"FLOAT32"}
    assert any("conv" in name for name in types) and any("fc" in name for name in types)
