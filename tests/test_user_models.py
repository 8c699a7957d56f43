"""Any tf_keras model through every technique: a user's Functional model (BatchNorm,
a depthwise-separable block, a residual add, global pooling) and the catalog's
ResNet- and MobileNet-style factories, on tiny data: KD (as teacher and student),
the fine-tune control, local, global and random magnitude pruning, clustering, every
quantization scheme and a LiteRT evaluation; filter removal and N:M refuse where
they cannot apply, naming the layer."""
import numpy as np
import pytest
import tf_keras as keras

from compressbench import cluster, distill, evaluate, models, prune, quantize, refusal, training
from compressbench.catalog import architectures, zoo_models
from conftest import synthetic
from test_distill import seed_everything

L = keras.layers
SHAPE = (16, 16, 1)
FIT = dict(epochs=1, batch_size=128, optimizer_name="adam", learning_rate=1e-3, seed=0, label="test")
FINE_TUNE = {"epochs": 1, "batch_size": 32, "learning_rate": 1e-3}  # 4 steps: the schedule reaches its end
MAGNITUDE = dict(initial_sparsity=0.5, end_fraction=0.75, frequency=1)


def user_model(input_shape, num_classes):
    """What a user brings: conv + BatchNorm, a depthwise-separable block with a residual
    add, a SeparableConv2D, global pooling; no layer named like ours."""
    i = keras.Input(input_shape)
    x = L.Conv2D(8, 3, strides=2, padding="same", use_bias=False, name="stem")(i)
    x = L.ReLU(name="stem_relu")(L.BatchNormalization(name="stem_bn")(x))
    y = L.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw")(x)
    y = L.ReLU(name="dw_relu")(L.BatchNormalization(name="dw_bn")(y))
    y = L.BatchNormalization(name="pw_bn")(L.Conv2D(8, 1, use_bias=False, name="pw")(y))
    x = L.ReLU(name="block_out")(L.Add(name="residual")([x, y]))
    x = L.SeparableConv2D(16, 3, strides=2, padding="same", activation="relu", name="sep")(x)
    return keras.Model(i, L.Dense(num_classes, name="out")(L.GlobalAveragePooling2D(name="gap")(x)), name="user")


ARCHS = {"user": user_model,
         "resnet": lambda s, n: zoo_models.resnet(s, n, widths=(8, 16), blocks=1),
         "mobilenet": lambda s, n: zoo_models.mobilenet(s, n, stem=8, blocks=((16, 1), (32, 2)))}


@pytest.fixture(scope="module")
def tiny_data():
    """One batch of 16x16 images per epoch: each fit is a few steps."""
    x, y = synthetic(320, SHAPE)
    return {"x_train": x[:128], "y_train": y[:128], "x_val": x[128:160], "y_val": y[128:160],
            "x_test": x[160:], "y_test": y[160:]}


@pytest.fixture(scope="module", params=list(ARCHS))
def trained(request, tiny_data):
    seed_everything(0)
    model = ARCHS[request.param](SHAPE, 10)
    training.train_supervised(model, tiny_data, **FIT, augment=False)
    return request.param, model


def test_kd_trains_the_model_as_student_and_its_logits_teach(trained, tiny_data):
    _, model = trained
    teacher = {s: training.predict_logits(model, tiny_data[f"x_{s}"]) for s in ("train", "val")}
    student = models.build([{"conv": 4}], SHAPE, 10)  # the model as teacher
    history = distill.train_distilled(student, tiny_data, teacher, alpha=0.1, temperature=2.0, **FIT)
    assert np.isfinite(history["loss"]).all()
    again = models.clone(model)  # the model as student (and as TA: the same code path)
    history = distill.train_distilled(again, tiny_data, teacher, alpha=0.1, temperature=4.0, **FIT)
    assert np.isfinite(history["loss"]).all()


def _pruned(model, data, method):
    scheme = {"method": method, "layers": "all", "sparsity": 0.6, **MAGNITUDE}
    pruned, history, skipped = prune.prune(model, data, scheme, FINE_TUNE, seed=0, label="test")
    assert len(history) == 1 and skipped == []
    return pruned


@pytest.fixture(scope="module")
def pruned(trained, tiny_data):
    """The model after local magnitude pruning (prune-preserving QAT and clustering start here)."""
    return _pruned(trained[1], tiny_data, "magnitude")


def test_local_magnitude_pruning_reaches_its_sparsity_in_every_prunable_kernel(trained, pruned):
    # A separable conv's pointwise kernel too; a depthwise kernel has none to prune (tfmot).
    assert all(v == pytest.approx(0.6, abs=0.02) for v in models.layer_sparsity(pruned).values())
    total, nonzero = models.macs(pruned)
    assert total == models.macs(trained[1])[0] and nonzero < 0.8 * total  # depthwise MACs stay


@pytest.mark.parametrize("method", ["global", "random", "finetune"])
def test_global_random_pruning_and_the_fine_tune_control_apply(trained, tiny_data, method):
    pruned = _pruned(trained[1], tiny_data, method)
    sparsity = models.kernel_sparsity(pruned)
    assert sparsity < 0.05 if method == "finetune" else sparsity == pytest.approx(0.6, abs=0.02)
    if method == "random":
        assert all(v == pytest.approx(0.6, abs=0.02) for v in models.layer_sparsity(pruned).values())


def test_clustering_shares_values_and_keeps_a_pruned_models_zeros(pruned, tiny_data):
    scheme = {"clusters": 8, "init": "kmeans_plus_plus"}
    clustered, _, sparse = cluster.cluster(pruned, tiny_data, scheme, FINE_TUNE, seed=0, label="test")
    assert sparse and max(cluster.distinct_values(clustered).values()) <= 9  # 8 values and the zeros
    assert models.kernel_sparsity(clustered) == pytest.approx(models.kernel_sparsity(pruned), abs=0.01)
    copy, kind, _ = quantize.trainable_copy(clustered, "qat", clustered=True)  # QAT after clustering
    assert kind == "cluster-and-prune-preserving"
    training.train_supervised(copy, tiny_data, **FIT, augment=False)


def _lite(tmp_path, blob, data) -> dict:
    path = tmp_path / "m.tflite"
    path.write_bytes(blob)
    return evaluate.evaluate(path, data["x_test"], data["y_test"], batch_size=50)


def test_every_post_training_scheme_converts_and_evaluates_with_litert(trained, tiny_data, tmp_path):
    _, model = trained
    calib = quantize.representative(tiny_data["x_train"], 20, seed=0)
    keras_acc = training.accuracy(model, tiny_data["x_test"], tiny_data["y_test"])
    for method in ("float32", "dynamic", "float16", "int8"):
        m = _lite(tmp_path, quantize.convert(model, method, calib if method == "int8" else None), tiny_data)
        assert m["input_dtype"] == ("int8" if method == "int8" else "float32")
        if method == "float32":
            assert m["accuracy"] == pytest.approx(keras_acc, abs=0.01)


@pytest.mark.parametrize("method", ["qat", "float32-ft", "qat-scratch"])
def test_every_trained_quantization_scheme_trains_exports_and_evaluates(trained, tiny_data, tmp_path, method):
    name, model = trained
    copy, kind, conversion = quantize.trainable_copy(model, method)
    training.train_supervised(copy, tiny_data, **FIT, augment=False)
    m = _lite(tmp_path, quantize.convert(copy, conversion), tiny_data)
    assert 0 <= m["accuracy"] <= 1 and m["tflite_bytes"] > 0
    if method == "qat" and name == "user":  # the same training exported integer-only (one model is enough)
        calib = quantize.representative(tiny_data["x_train"], 20, seed=0)
        assert _lite(tmp_path, quantize.convert(copy, "int8io", calib), tiny_data)["input_dtype"] == "int8"


def test_prune_preserving_qat_keeps_the_zeros_of_a_pruned_model(pruned, tiny_data):
    copy, kind, _ = quantize.trainable_copy(pruned, "qat")
    assert kind == "prune-preserving"
    training.train_supervised(copy, tiny_data, **FIT, augment=False)
    kept = [w.numpy() for w in copy.weights if w.name.endswith("kernel:0") and "depthwise" not in w.name]
    assert max(float(np.mean(k == 0)) for k in kept) > 0.5


def test_filter_removal_applies_or_refuses_naming_the_conv_before_an_add(trained, tiny_data):
    name, model = trained
    if name == "mobilenet":  # no residual add: every conv loses half its filters, depthwise ones follow
        small = prune.remove_filters(model, 0.5)
        assert small.count_params() < 0.5 * model.count_params()
        assert small.get_layer("b0_dw").depthwise_kernel.shape[2] == small.get_layer("stem_conv").filters
        # Nothing removed: the rebuilt model computes the same logits (channels followed right).
        x = tiny_data["x_test"][:32]
        np.testing.assert_allclose(training.predict_logits(prune.remove_filters(model, 0.0), x),
                                   training.predict_logits(model, x), rtol=1e-4, atol=1e-4)
        return
    with pytest.raises(refusal.Refused) as refused:
        prune.check(model, {"method": "filters", "layers": "conv", "fraction": 0.5})
    assert "residual add" in refused.value.reason
    assert refused.value.layer == {"user": "stem", "resnet": "stem_conv"}[name]  # the first conv reaching an Add


def test_n_by_m_leaves_a_one_channel_input_conv_dense_and_refuses_when_nothing_can_take_it(trained):
    _, model = trained
    first = prune.selected(model, "conv")[0]
    plan, skipped = prune.magnitude_plan(model, {"method": "m_by_n", "layers": "all", "m": 2, "n": 4}, 10)
    assert skipped == [first] and plan  # 1-channel input: left dense, named; the rest take 2:4
    only_input = keras.Sequential([keras.Input(SHAPE), L.Conv2D(4, 3, name="c"), L.GlobalAveragePooling2D(),
                                   L.Dense(10)])
    with pytest.raises(refusal.Refused, match="input has 1") as refused:
        prune.check(only_input, {"method": "m_by_n", "layers": "conv", "m": 2, "n": 4})
    assert refused.value.layer == "c"


def test_macs_count_depthwise_and_separable_convs_and_skip_batchnorm():
    i = keras.Input((8, 8, 4))
    x = L.DepthwiseConv2D(3, padding="same", use_bias=False)(i)          # 64 px x 9 x 4
    x = L.BatchNormalization()(x)                                          # none
    x = L.SeparableConv2D(6, 3, padding="same", use_bias=False)(x)         # 64 x (9 x 4 + 4 x 6)
    x = L.Conv2D(2, 1)(x)                                                  # 64 x 6 x 2
    model = keras.Model(i, L.Dense(3)(L.GlobalAveragePooling2D()(x)))      # 2 x 3
    assert models.macs(model) == (64 * 36 + 64 * 60 + 64 * 12 + 6,) * 2


def test_the_modern_architectures_macs_on_cifar10_are_those_the_readme_gives():
    assert models.macs(zoo_models.resnet((32, 32, 3), 10))[0] == 3_125_888
    assert models.macs(zoo_models.mobilenet((32, 32, 3), 10))[0] == 1_149_184


def test_sensitivity_prunes_a_separable_convs_pointwise_kernel_alone_and_restores_it(tiny_data):
    from compressbench import sensitivity
    model = user_model(SHAPE, 10)
    before = [w.copy() for w in model.get_weights()]
    table = sensitivity.analyse(model, tiny_data["x_test"][:20], tiny_data["y_test"][:20], [0.0, 1.0])
    assert sorted(set(table["layer"])) == ["out", "pw", "sep", "stem"]  # the depthwise conv has no prunable kernel
    assert table.loc[table["layer"] == "sep", "weights"].iloc[0] == 8 * 16  # its pointwise kernel
    assert all((a == b).all() for a, b in zip(model.get_weights(), before))
