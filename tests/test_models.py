"""The model zoo: exact parameter counts of the study's architectures, safe model files."""
import numpy as np
import pytest

from compressbench import models
from compressbench.catalog import datasets

EXPECTED = {
    ("mnist", "teacher"): 1_551_958, ("mnist", "ta"): 176_176, ("mnist", "student"): 20_490,
    ("cifar10", "teacher"): 1_367_178, ("cifar10", "ta"): 1_109_898, ("cifar10", "student"): 343_626,
}


@pytest.mark.parametrize("dataset,arch", sorted(EXPECTED))
def test_default_zoo_has_the_studys_exact_parameter_counts(cfg, dataset, arch):
    model = models.build_for(cfg, dataset, arch)
    assert model.count_params() == EXPECTED[dataset, arch]
    assert model.output_shape == (None, 10)


def test_each_spec_entry_is_one_keras_layer_as_in_the_notebooks():
    model = models.build([{"conv": 8}, {"lrelu": 0.2}, {"pool": 2}, {"conv": 4}, {"dense": 4}, {"dropout": 0.5}],
                         (28, 28, 1))
    kinds = [type(l).__name__ for l in model.layers]
    assert kinds == ["Conv2D", "LeakyReLU", "MaxPooling2D", "Conv2D", "Flatten", "Dense", "Dropout", "Dense"]
    conv, lrelu, pool = model.layers[:3]
    assert conv.strides == (2, 2) and conv.padding == "same" and conv.kernel_size == (3, 3)
    assert conv.activation.__name__ == "linear" and model.layers[5].activation.__name__ == "linear"
    assert np.isclose(lrelu.alpha, 0.2)
    assert pool.strides == (1, 1) and pool.output_shape[1:3] == (14, 14)
    assert [l.name for l in model.layers] == ["conv0", "lrelu1", "pool2", "conv3", "flatten", "dense4",
                                             "dropout5", "logits"]


def test_spec_of_inverts_build(cfg):
    for dataset, archs in cfg["zoo"].items():
        for spec in archs.values():
            assert models.spec_of(models.build(spec, datasets.get(dataset).input_shape)) == spec


def test_a_conv_or_pool_after_a_dense_layer_and_an_unknown_kind_are_rejected():
    with pytest.raises(ValueError, match="layer 1: pool after a dense layer"):
        models.build([{"dense": 4}, {"pool": 2}], (8, 8, 1))
    with pytest.raises(ValueError, match="unknown kind 'relu'"):
        models.build([{"relu": 1}], (8, 8, 1))


def test_saved_model_round_trips_weights(tmp_path):
    model = models.build([{"conv": 4}], (28, 28, 1))
    models.save(model, tmp_path / "m.keras")
    loaded = models.load(tmp_path / "m.keras")
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert [p.name for p in tmp_path.iterdir()] == ["m.keras"]  # no temp file left


def test_corrupted_model_file_fails_naming_the_file(tmp_path):
    bad = tmp_path / "broken.keras"
    bad.write_bytes(b"PK\x03\x04 definitely not a model")
    with pytest.raises(models.ModelFileError, match="broken.keras"):
        models.load(bad)
    with pytest.raises(models.ModelFileError, match="missing"):
        models.load(tmp_path / "absent.keras")


def test_macs_match_a_hand_count_and_skip_zero_weights():
    model = models.build([{"conv": 2}, {"dense": 3}], (4, 4, 1))
    # conv: 3x3x1x2 kernel at 2x2 output pixels (stride 2, same) = 72; dense: (2*2*2=8)x3 = 24; logits 3x10 = 30
    assert models.macs(model) == (72 + 24 + 30, 72 + 24 + 30)
    conv = model.get_layer("conv0")
    kernel, bias = conv.get_weights()
    kernel[..., 0] = 0.0                      # one filter's 9 weights zeroed: 9 x 4 pixels fewer
    conv.set_weights([kernel, bias])
    assert models.macs(model) == (126, 126 - 36)
