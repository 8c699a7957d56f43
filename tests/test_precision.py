"""Mixed bfloat16 training: faster steps, but every saved, converted and
evaluated model is float32, and pruning keeps its exact sparsity."""
import numpy as np
import pytest
import tf_keras as keras

from compressbench import evaluate, models, prune, quantize, training


SPEC = [{"conv": 8}, {"conv": 16}, {"dense": 24}]


@pytest.fixture
def bf16():
    """The global policy a job with `train.precision: mixed_bfloat16` runs under."""
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    yield
    keras.mixed_precision.set_global_policy("float32")


def compute_dtypes(model):
    return {l.name: l.compute_dtype for l in model.layers if l.weights}


def test_models_built_under_bf16_compute_in_bf16_but_emit_float32_logits(bf16):
    model = models.build(SPEC, (28, 28, 1))
    dtypes = compute_dtypes(model)
    assert dtypes.pop("logits") == "float32"
    assert set(dtypes.values()) == {"bfloat16"}
    assert all(w.dtype == "float32" for w in model.weights)  # master weights stay float32
    assert model(np.zeros((2, 28, 28, 1), np.float32)).dtype == "float32"


def test_clone_switches_precision_and_keeps_weights_exactly(bf16):
    model = models.build(SPEC, (28, 28, 1))
    f32 = models.clone(model, "float32")
    assert set(compute_dtypes(f32).values()) == {"float32"}
    back = models.clone(f32)  # default: the global policy
    assert compute_dtypes(back) == compute_dtypes(model)
    for a, b, c in zip(model.get_weights(), f32.get_weights(), back.get_weights()):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_a_bf16_trained_model_is_saved_as_float32_and_converts(bf16, tiny_data, tmp_path):
    keras.utils.set_random_seed(0)
    model = models.build(SPEC, (28, 28, 1))
    training.train_supervised(model, tiny_data, epochs=1, batch_size=50, optimizer_name="adam",
                              learning_rate=1e-3, augment=False, seed=0, label="test")
    models.save(model, tmp_path / "m.keras")
    keras.mixed_precision.set_global_policy("float32")  # as in a convert or QAT job
    loaded = models.load(tmp_path / "m.keras")
    assert set(compute_dtypes(loaded).values()) == {"float32"}
    path = tmp_path / "m.tflite"
    path.write_bytes(quantize.convert(loaded, "float32"))
    interp = evaluate.interpreter(path)
    assert interp.get_input_details()[0]["dtype"] == np.float32
    x = tiny_data["x_test"][:20]
    np.testing.assert_allclose(evaluate.predict(interp, x, 20), training.predict_logits(loaded, x),
                               rtol=1e-4, atol=1e-4)


def test_magnitude_pruning_under_bf16_reaches_the_exact_target_sparsity(bf16, tiny_data):
    keras.utils.set_random_seed(0)
    model = models.build(SPEC, (28, 28, 1))
    scheme = {"method": "magnitude", "layers": "all", "sparsity": 0.8, "initial_sparsity": 0.5,
              "end_fraction": 0.75, "frequency": 50}
    pruned, _, _ = prune.prune(model, tiny_data, scheme, {"epochs": 1, "batch_size": 50, "learning_rate": 1e-3},
                               seed=0, label="test")
    assert set(compute_dtypes(pruned).values()) - {"float32"} == {"bfloat16"}
    saved = models.clone(pruned, "float32")
    for name, kernel in models.prunable_kernels(saved).items():
        assert np.isclose(1 - np.count_nonzero(kernel) / kernel.size, 0.8, atol=0.01), name


def test_unknown_precision_is_rejected():
    with pytest.raises(ValueError, match="float16.*allowed float32, mixed_bfloat16"):
        training.configure(0, 1, "float16")
