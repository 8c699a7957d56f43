"""TFLite export and LiteRT evaluation: what a phone would run."""
import gzip

import numpy as np
import pytest

from compressbench import evaluate, models, prune, quantize, training
from test_distill import seed_everything


@pytest.fixture(scope="module")
def trained(tiny_data):
    seed_everything(1)
    model = models.build([{"conv": 8}, {"dense": 64}], (28, 28, 1))  # dense-heavy
    training.train_supervised(model, tiny_data, epochs=1, batch_size=50, optimizer_name="adam",
                              learning_rate=1e-3, augment=False, seed=1, label="test")
    return model


def write(tmp_path, name, blob):
    path = tmp_path / name
    path.write_bytes(blob)
    return path


def test_float32_tflite_classifies_a_batch_exactly_as_keras(trained, tiny_data, tmp_path):
    path = write(tmp_path, "f32.tflite", quantize.convert(trained, "float32"))
    x = tiny_data["x_test"][:64]
    lite = evaluate.predict(evaluate.interpreter(path), x, batch_size=20)  # 20, 20, 20, 4
    keras_logits = training.predict_logits(trained, x)
    np.testing.assert_array_equal(lite.argmax(1), keras_logits.argmax(1))
    np.testing.assert_allclose(lite, keras_logits, rtol=1e-4, atol=1e-4)


def test_ptq_int8_has_int8_input_and_output_and_keeps_accuracy(trained, tiny_data, tmp_path):
    calib = quantize.representative(tiny_data["x_train"], 50, seed=0)
    path = write(tmp_path, "int8.tflite", quantize.convert(trained, "int8", calib))
    interp = evaluate.interpreter(path)
    assert interp.get_input_details()[0]["dtype"] == np.int8
    assert interp.get_output_details()[0]["dtype"] == np.int8
    f32 = write(tmp_path, "f32.tflite", quantize.convert(trained, "float32"))
    args = dict(batch_size=100)
    a8 = evaluate.evaluate(path, tiny_data["x_test"], tiny_data["y_test"], **args)
    a32 = evaluate.evaluate(f32, tiny_data["x_test"], tiny_data["y_test"], **args)
    # Correctly quantized inputs: int8 accuracy stays within a few points of float32.
    assert abs(a8["accuracy"] - a32["accuracy"]) < 0.05
    assert a8["input_dtype"] == "int8"


def test_int8_files_are_about_four_times_smaller_than_float32(trained, tiny_data):
    calib = quantize.representative(tiny_data["x_train"], 20, seed=0)
    f32 = len(quantize.convert(trained, "float32"))
    for method in ("int8", "dynamic"):
        ratio = f32 / len(quantize.convert(trained, method, calib))
        assert 3.3 < ratio < 4.2, (method, ratio)
    assert 1.8 < f32 / len(quantize.convert(trained, "float16")) < 2.1


def test_prune_preserving_qat_keeps_the_pruned_zeros(trained, tiny_data):
    scheme = {"method": "magnitude", "layers": "all", "sparsity": 0.7, "initial_sparsity": 0.5,
              "end_fraction": 0.75, "frequency": 10}
    pruned, _, _ = prune.prune(trained, tiny_data, scheme, {"epochs": 1, "batch_size": 50,
                                                            "learning_rate": 1e-3}, seed=0, label="t")
    zeros = {n: k == 0 for n, k in models.prunable_kernels(pruned).items()}
    qmodel, name = quantize.qat_model(pruned)
    assert name == "prune-preserving"
    training.train_supervised(qmodel, tiny_data, epochs=1, batch_size=50, optimizer_name="adam",
                              learning_rate=1e-3, augment=False, seed=0, label="qat")
    kept = total = 0
    for layer in qmodel.layers:
        inner = getattr(layer, "layer", None)
        if inner is not None and inner.name in zeros:
            k = next(w for w in layer.weights if w.name == f"{inner.name}/kernel:0").numpy()
            kept += np.count_nonzero((k == 0) & zeros[inner.name])
            total += zeros[inner.name].sum()
    assert total > 0 and kept / total >= 0.99


def test_plain_qat_is_used_for_dense_models(trained):
    _, name = quantize.qat_model(trained)
    assert name == "default-8bit"


def test_qats_control_trains_a_plain_float32_copy_and_exports_float32(trained):
    copy, kind, conversion = quantize.trainable_copy(trained, "float32-ft")
    assert (kind, conversion) == ("float32", "float32") and copy is not trained
    assert not any("quant" in layer.name for layer in copy.layers)
    _, kind, conversion = quantize.trainable_copy(trained, "qat")
    assert (kind, conversion) == ("default-8bit", "qat")


def test_evaluating_a_corrupted_tflite_fails_with_a_clear_error(tmp_path, tiny_data):
    bad = write(tmp_path, "bad.tflite", b"TFL3" + bytes(100))
    with pytest.raises(evaluate.TFLiteError, match="bad.tflite.*not a valid .tflite"):
        evaluate.evaluate(bad, tiny_data["x_test"], tiny_data["y_test"], batch_size=10)
    with pytest.raises(evaluate.TFLiteError, match="missing"):
        evaluate.interpreter(tmp_path / "absent.tflite")


def test_gzip_size_is_deterministic_and_shrinks_zeros():
    blob = bytes(10_000)
    assert evaluate.gzip_size(blob) == evaluate.gzip_size(blob) < 100
    assert evaluate.gzip_size(blob) == len(gzip.compress(blob, 9, mtime=0))


def test_evaluate_imports_no_tensorflow():
    import subprocess
    import sys
    code = ("import sys, compressbench.evaluate, compressbench.data; "
            "sys.exit(1 if 'tensorflow' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_qat_models_export_integer_only_with_int8_io_from_the_same_training(trained, tiny_data, tmp_path):
    qmodel, _, conversion = quantize.trainable_copy(trained, "qat")
    training.train_supervised(qmodel, tiny_data, epochs=1, batch_size=50, optimizer_name="adam", learning_rate=1e-4,
                              seed=0, label="test")
    args = dict(batch_size=100)
    float_io = write(tmp_path, "qat.tflite", quantize.convert(qmodel, conversion))
    calib = quantize.representative(tiny_data["x_train"], 20, seed=0)
    int_io = write(tmp_path, "qat-int8io.tflite", quantize.convert(qmodel, "int8io", calib))
    interp = evaluate.interpreter(int_io)
    assert interp.get_input_details()[0]["dtype"] == np.int8 and interp.get_output_details()[0]["dtype"] == np.int8
    assert evaluate.interpreter(float_io).get_input_details()[0]["dtype"] == np.float32
    a_int = evaluate.evaluate(int_io, tiny_data["x_test"], tiny_data["y_test"], **args)["accuracy"]
    a_float = evaluate.evaluate(float_io, tiny_data["x_test"], tiny_data["y_test"], **args)["accuracy"]
    assert abs(a_int - a_float) < 0.03   # the input quantized with the model's own scale and zero point


def test_a_clustered_model_gets_the_cluster_preserving_qat(trained):
    assert quantize.qat_model(trained, clustered=True)[1] == "cluster-preserving"
    copy, kind, _ = quantize.trainable_copy(trained, "qat-scratch")
    assert kind == "default-8bit, from scratch"
    assert not np.allclose(models.prunable_kernels(trained)["dense1"],
                           [w for w in copy.get_weights() if w.shape == models.prunable_kernels(trained)["dense1"].shape][0])


def test_evaluation_measures_validation_accuracy_and_keeps_the_predicted_labels(trained, tiny_data, tmp_path):
    path = write(tmp_path, "f32.tflite", quantize.convert(trained, "float32"))
    metrics, labels = evaluate.evaluate_with_labels(
        path, tiny_data["x_test"], tiny_data["y_test"], x_val=tiny_data["x_val"], y_val=tiny_data["y_val"],
        batch_size=100)
    assert labels["test"].dtype == np.uint8 and len(labels["test"]) == len(tiny_data["y_test"])
    assert metrics["accuracy"] == pytest.approx(np.mean(labels["test"] == tiny_data["y_test"]), abs=1e-6)
    assert metrics["val_accuracy"] == pytest.approx(np.mean(labels["val"] == tiny_data["y_val"]), abs=1e-6)
    per_class = labels["test_class_accuracy"]
    assert np.nanmin(per_class) >= 0 and per_class.shape == (10,)
    evaluate.save_labels(tmp_path / "f32.labels.npz", labels)
    with np.load(tmp_path / "f32.labels.npz") as npz:
        np.testing.assert_array_equal(npz["test"], labels["test"])
    # without validation images: no validation accuracy, as before
    assert "val_accuracy" not in evaluate.evaluate(path, tiny_data["x_test"], tiny_data["y_test"], batch_size=100)
