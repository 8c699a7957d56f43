"""The LiteRT Quantizer schemes on a tiny conv / depthwise / dense model: the storage
type of every kernel, and that each runs and classifies like its float model."""
import numpy as np
import pytest

from compressbench import evaluate, litert_quantizer as lq, quantize, tflite_graph, training
from compressbench.catalog import methods
from test_distill import seed_everything

SCHEMES = {
    "aeq-int8-weights": {},
    "aeq-int4-weights": {"block_size": 32},
    "aeq-static-int8": {},
    "aeq-mixed": {"block_size": 32, "layers": [{"kind": "conv", "bits": 4}, {"kind": "dense", "bits": 8},
                                               {"match": "/logits/", "bits": None}]},
    "aeq-auto": {"block_size": 32, "keep_8bit": 0.5},
}
# conv, depthwise, dense (its 392 inputs: no 32-block, so per channel), logits (64 inputs: blockwise)
KERNELS = ("model/conv/Conv2D", "model/dw/depthwise", "model/dense/MatMul", "model/logits/MatMul")
EXPECTED = {
    "aeq-int8-weights": ("INT8", "INT8", "INT8", "INT8"),
    "aeq-int4-weights": ("INT4", "INT8", "INT4", "INT4"),  # depthwise stays 8-bit
    "aeq-static-int8": ("INT8", "INT8", "INT8", "INT8"),
    "aeq-mixed": ("INT4", "FLOAT32", "INT8", "FLOAT32"),   # no rule selects depthwise: float
}


@pytest.fixture(scope="module")
def float_model(tiny_data):
    import tf_keras as keras
    seed_everything(3)
    inp = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="conv")(inp)
    x = keras.layers.DepthwiseConv2D(3, strides=2, padding="same", activation="relu", name="dw")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(64, activation="relu", name="dense")(x)
    model = keras.Model(inp, keras.layers.Dense(10, name="logits")(x), name="model")
    training.train_supervised(model, tiny_data, epochs=2, batch_size=50, optimizer_name="adam",
                              learning_rate=3e-3, augment=False, seed=3, label="test")
    return quantize.convert(model, "float32")


@pytest.fixture(scope="module")
def exported(float_model, tiny_data):
    images = quantize.calibration_images(tiny_data["x_train"], 32, seed=0)
    return {m: lq.quantize(float_model, m, s, images) for m, s in SCHEMES.items()}


def logits(blob, tmp_path, name, x):
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(blob)
    return evaluate.predict(evaluate.interpreter(path), x, batch_size=50)


@pytest.mark.parametrize("method", list(EXPECTED))
def test_each_quantizer_scheme_stores_every_kernel_in_its_bits(exported, method):
    types = tflite_graph.weight_types(exported[method][0])
    assert tuple(types[k] for k in KERNELS) == EXPECTED[method]


def test_auto_keeps_the_layers_with_the_worst_trial_snr_at_8_bits(exported):
    blob, info = exported["aeq-auto"]
    trial = info["trial"]["layers"]
    int4_capable = [k for k in KERNELS if trial[k]["kind"] != "depthwise"]
    ranked = sorted(int4_capable, key=lambda k: trial[k]["weight"]["snr_db"])
    types = tflite_graph.weight_types(blob)
    assert [types[k] for k in ranked] == ["INT8", "INT8", "INT4"]  # half of 3, rounded up
    assert types["model/dw/depthwise"] == "INT8"


@pytest.mark.parametrize("method", list(SCHEMES))
def test_each_quantizer_scheme_runs_and_classifies_like_its_float_model(exported, float_model, tiny_data,
                                                                       tmp_path, method):
    x, y = tiny_data["x_test"], tiny_data["y_test"]
    ref = logits(float_model, tmp_path, "float", x).argmax(1)
    got = logits(exported[method][0], tmp_path, method, x).argmax(1)
    assert np.mean(got == ref) >= 0.95, method
    assert abs(np.mean(got == y) - np.mean(ref == y)) <= 0.03, method
    assert len(exported[method][0]) < len(float_model)


def test_the_validation_summary_has_the_output_and_every_weighted_layer(exported):
    _, info = exported["aeq-int4-weights"]
    v = info["validation"]
    assert set(v["layers"]) == set(KERNELS)
    assert v["output"]["cosine"] > 0.95 and v["output"]["snr_db"] > 10
    # int4 stores less faithfully than int8: its weights' SNR is lower
    v8 = exported["aeq-int8-weights"][1]["validation"]
    assert v["layers"]["model/conv/Conv2D"]["weight"]["snr_db"] < v8["layers"]["model/conv/Conv2D"]["weight"]["snr_db"]


def test_mixed_rules_select_by_kind_and_regex_the_last_winning():
    layers = [lq.Layer("conv", "c;", "model/conv0/Conv2D", 1), lq.Layer("dense", "d;", "model/dense3/MatMul", 96),
              lq.Layer("dense", "l;", "model/logits/MatMul", 64)]
    bits = lq.mixed_bits(layers, [{"kind": "dense", "bits": 4}, {"match": "logits", "bits": 8}])
    assert bits == {"c;": None, "d;": 4, "l;": 8}
    recipe = lq.recipe_from_bits(layers, bits, block=32)
    assert recipe[0]["algorithm_key"] == "no_quantize"
    assert recipe[1]["op_config"]["weight_tensor_config"]["granularity"] == "BLOCKWISE_32"  # 96 = 3 x 32
    assert recipe[2]["op_config"]["weight_tensor_config"]["num_bits"] == 8


def test_every_quantizer_method_is_registered_for_the_convert_job():
    for name in SCHEMES:
        m = methods.get(name, methods.QUANTIZE)
        assert m.job == methods.QUANTIZER and m.function() is lq.quantize
