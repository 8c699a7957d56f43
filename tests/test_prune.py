"""Pruning schemes on tiny models: each prunes what it says and nothing else."""
import numpy as np
import pytest

from compressbench import models, prune
from test_distill import seed_everything

FT = {"epochs": 1, "batch_size": 50, "learning_rate": 1e-3}
MAG = {"initial_sparsity": 0.5, "end_fraction": 0.75, "frequency": 50}


@pytest.fixture
def model():
    seed_everything(0)
    return models.build([{"conv": 8}, {"conv": 16}, {"dense": 24}], (28, 28, 1))


def kernels(m):
    return models.prunable_kernels(m)


def run(model, data, scheme):
    return prune.prune(model, data, scheme, FT, seed=0, label="test")


def test_local_conv_leaves_every_dense_kernel_untouched_and_prunes_convs(model, tiny_data):
    before = kernels(model)
    pruned, _, _ = run(model, tiny_data, {"method": "magnitude", "layers": "conv", "sparsity": 0.8, **MAG})
    after = kernels(pruned)
    for name in ("dense2", "logits"):
        # Fine-tuning still trains them, but no weight of a dense layer was masked.
        assert np.count_nonzero(after[name]) == after[name].size
    for name in ("conv0", "conv1"):
        assert abs(models.layer_sparsity(pruned)[name] - 0.8) < 0.02
    assert set(before) == set(after)


def test_local_dense_leaves_every_conv_kernel_untouched(model, tiny_data):
    pruned, _, _ = run(model, tiny_data, {"method": "magnitude", "layers": "dense", "sparsity": 0.8, **MAG})
    sp = models.layer_sparsity(pruned)
    assert sp["conv0"] == 0 and sp["conv1"] == 0
    assert abs(sp["dense2"] - 0.8) < 0.01 and abs(sp["logits"] - 0.8) < 0.01


def test_global_meets_overall_target_with_unequal_layer_sparsities(model, tiny_data):
    pruned, _, _ = run(model, tiny_data, {"method": "global", "layers": "all", "sparsity": 0.8, **MAG})
    assert abs(models.kernel_sparsity(pruned) - 0.8) <= 0.005
    per_layer = models.layer_sparsity(pruned).values()
    assert max(per_layer) - min(per_layer) > 0.1


def test_global_targets_count_exactly_the_smallest_weights():
    k = {"a": np.array([0.1, 0.2, 5.0, 6.0]), "b": np.array([0.05, 7.0, 8.0, 9.0])}
    assert prune.global_targets(k, 0.375) == {"a": 0.5, "b": 0.25}


def test_global_targets_never_claim_a_whole_layer_and_keep_the_overall_sparsity():
    # "big" holds 90 % of the weights, all smaller than any of "small": 95 % overall would take
    # every one of them; it stops at MAX_LAYER_SPARSITY and the rest comes from "small"
    k = {"big": np.full(900, 0.01), "small": np.linspace(1.0, 2.0, 100)}
    t = prune.global_targets(k, 0.95)
    assert t["big"] == prune.MAX_LAYER_SPARSITY < 1.0
    assert t["small"] == pytest.approx((950 - 891) / 100)
    assert 900 * t["big"] + 100 * t["small"] == pytest.approx(950)


def test_global_targets_refuse_a_sparsity_the_capped_layers_cannot_give():
    # 144 + 1000 weights at 99 %: 1133 zeros wanted, but each layer offers only its
    # smallest 99 % (142 + 990 = 1132); a silently lower sparsity would mislabel the cell
    k = {"conv": np.linspace(0.1, 1.0, 144), "dense": np.linspace(0.1, 1.0, 1000)}
    with pytest.raises(ValueError, match="global sparsity 0.99 needs 1133 zero weights.*only 1132"):
        prune.global_targets(k, 0.99)


def test_global_ranks_only_the_layers_the_scheme_selects(model, tiny_data):
    pruned, _, _ = run(model, tiny_data, {"method": "global", "layers": "dense", "sparsity": 0.8, **MAG})
    sp = models.layer_sparsity(pruned)
    assert sp["conv0"] == 0 and sp["conv1"] == 0
    dense = {n: k for n, k in kernels(pruned).items() if n not in ("conv0", "conv1")}
    zeros = sum(k.size - np.count_nonzero(k) for k in dense.values())
    assert zeros / sum(k.size for k in dense.values()) == pytest.approx(0.8, abs=0.005)



def test_nm_2_4_pattern_holds_on_every_pruned_layer_and_input_conv_is_skipped(model, tiny_data):
    pruned, _, skipped = run(model, tiny_data, {"method": "m_by_n", "layers": "all", "m": 2, "n": 4})
    assert skipped == ["conv0"]  # 1 input channel: the 2:4 groups cannot form
    for name, k in kernels(pruned).items():
        if name in skipped:
            continue
        groups = np.moveaxis(k, -2, -1).reshape(-1, 4)  # consecutive input channels
        assert (np.count_nonzero(groups, axis=1) <= 2).all(), name


def test_filters_rebuilds_a_smaller_model_with_the_expected_parameter_count(model, tiny_data):
    pruned, _, _ = run(model, tiny_data, {"method": "filters", "layers": "conv", "fraction": 0.5})
    expected = models.build([{"conv": 4}, {"conv": 8}, {"dense": 24}], (28, 28, 1)).count_params()
    assert pruned.count_params() == expected < model.count_params()
    assert pruned.predict(tiny_data["x_test"][:3].astype("float32") / 255, verbose=0).shape == (3, 10)


def test_filter_removal_keeps_the_function_of_the_kept_filters(model, tiny_data):
    """With every filter kept the rebuilt model computes exactly the original."""
    x = tiny_data["x_test"][:5].astype("float32") / 255
    same = prune.remove_filters(model, 0.0)
    np.testing.assert_allclose(same.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_filter_removal_carries_the_kept_channels_across_activation_and_pool_layers(tiny_data):
    """The study's stack (conv, LeakyReLU, pool, conv, dense, dropout): the filters dropped from the
    first conv are the inputs dropped from the second, and the second's from the first dense layer."""
    seed_everything(0)
    spec = [{"conv": 8}, {"lrelu": 0.2}, {"pool": 2}, {"conv": 6}, {"dense": 12}, {"dropout": 0.5}]
    model = models.build(spec, (28, 28, 1))
    x = tiny_data["x_test"][:5].astype("float32") / 255
    same = prune.remove_filters(model, 0.0)
    assert models.spec_of(same) == spec
    np.testing.assert_allclose(same.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    # Zero the 4 weakest filters of each conv by hand: removing them must not change the output.
    for name in ("conv0", "conv3"):
        layer = model.get_layer(name)
        kernel, bias = layer.get_weights()
        weak = np.argsort(np.abs(kernel).reshape(-1, kernel.shape[-1]).sum(axis=0))[:kernel.shape[-1] // 2]
        kernel[..., weak], bias[weak] = 0.0, 0.0
        layer.set_weights([kernel, bias])
    half = prune.remove_filters(model, 0.5)
    assert models.spec_of(half) == [{"conv": 4}, {"lrelu": 0.2}, {"pool": 2}, {"conv": 3}, {"dense": 12}, {"dropout": 0.5}]
    np.testing.assert_allclose(half.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


def test_the_source_model_is_never_modified(model, tiny_data):
    before = [w.copy() for w in model.get_weights()]
    for scheme in ({"method": "magnitude", "layers": "all", "sparsity": 0.8, **MAG},
                   {"method": "filters", "layers": "conv", "fraction": 0.5}):
        run(model, tiny_data, scheme)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert all("prune" not in l.name for l in model.layers)


def test_schedule_reaches_the_target_inside_short_fine_tunes():
    assert prune.schedule_steps(860, 0.75, 50) == (600, 50)
    end, freq = prune.schedule_steps(8, 0.75, 50)
    assert freq == 1 and end == 6 and end < 8


def fit_settings(monkeypatch, model, data, scheme) -> dict:
    """What prune.prune passes to its fine-tune (training.train_supervised) for a scheme."""
    seen = {}

    def spy(m, d, callbacks=(), **protocol):
        seen.update(protocol)
        return []

    monkeypatch.setattr(prune.training, "train_supervised", spy)
    prune.prune(model, data, scheme, FT, seed=3, label="x")
    return seen


def test_the_finetune_control_trains_exactly_as_every_pruning_scheme_and_prunes_nothing(
        model, tiny_data, monkeypatch):
    control = fit_settings(monkeypatch, model, tiny_data, {"method": "finetune"})
    for scheme in ({"method": "global", "layers": "all", "sparsity": 0.8, **MAG},
                   {"method": "filters", "layers": "conv", "fraction": 0.5},
                   {"method": "m_by_n", "layers": "all", "m": 2, "n": 4}):
        assert fit_settings(monkeypatch, model, tiny_data, scheme) == control, scheme["method"]
    monkeypatch.undo()
    tuned, history, skipped = run(model, tiny_data, {"method": "finetune"})
    assert models.kernel_sparsity(tuned) == 0.0 and len(history) == FT["epochs"] and skipped == []
    assert any(not np.array_equal(a, b) for a, b in zip(kernels(tuned).values(), kernels(model).values()))


def test_random_pruning_reaches_its_sparsity_on_the_same_schedule_but_not_by_magnitude(model, tiny_data):
    scheme = {"layers": "all", "sparsity": 0.8, **MAG}
    rand, _, _ = run(model, tiny_data, {"method": "random", **scheme})
    mag, _, _ = run(model, tiny_data, {"method": "magnitude", **scheme})
    for name, sp in models.layer_sparsity(rand).items():
        assert abs(sp - 0.8) < 0.02, name
    # magnitude keeps the largest weights of the source; random keeps any
    source = np.abs(kernels(model)["dense2"])
    kept_rand = source[kernels(rand)["dense2"] != 0].mean()
    kept_mag = source[kernels(mag)["dense2"] != 0].mean()
    assert kept_mag > 1.3 * kept_rand


def test_a_schemes_own_epochs_set_its_fine_tune_budget_and_the_style_how_it_trains(model, tiny_data, monkeypatch):
    short = fit_settings(monkeypatch, model, tiny_data, {"method": "finetune", "epochs": 3})
    assert short["epochs"] == 3 and short["batch_size"] == FT["batch_size"]
    seen = {}
    monkeypatch.setattr(prune.training, "train_supervised", lambda m, d, callbacks=(), **p: seen.update(p) or [])
    prune.prune(model, tiny_data, {"method": "finetune"}, FT, seed=3, label="x",
                style={"schedule": "cosine", "augment": True, "shift": 4})
    assert (seen["epochs"], seen["schedule"], seen["augment"], seen["shift"]) == (FT["epochs"], "cosine", True, 4)
