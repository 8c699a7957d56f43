"""The input pipeline every trainer, fine-tune and prediction goes through."""
import numpy as np
import pytest

from compressbench import training
from test_distill import seed_everything


def _images(n=50, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 4, 4, 1), dtype=np.uint8), np.arange(n)


def test_dataset_batches_uint8_images_as_unit_floats_in_order_without_shuffle():
    x, y = _images()
    batches = list(training.dataset(x, y, 16))
    assert [len(b[1]) for b in batches] == [16, 16, 16, 2]
    first_x, first_y = batches[0]
    assert first_x.dtype.name == "float32"
    np.testing.assert_array_equal(first_y.numpy(), y[:16])
    np.testing.assert_allclose(first_x.numpy(), x[:16] / 255.0, rtol=1e-6)


def test_dataset_shuffle_is_a_seeded_permutation_that_changes_each_epoch():
    x, y = _images()
    ds = training.dataset(x, y, 50, shuffle=True, seed=3)
    epoch1, epoch2 = (next(iter(ds))[1].numpy() for _ in range(2))
    assert sorted(epoch1) == list(y) and not np.array_equal(epoch1, y)
    assert not np.array_equal(epoch1, epoch2)  # reshuffled per epoch
    again = next(iter(training.dataset(x, y, 50, shuffle=True, seed=3)))[1].numpy()
    np.testing.assert_array_equal(again, epoch1)  # same seed, same order


def test_dataset_does_not_autotune_so_iterator_teardown_never_waits_for_its_model_thread():
    # With autotuning on, destroying an iterator (every epoch, evaluate and predict) joins
    # the autotuner's thread, which sleeps up to its optimisation period: up to 40 s after
    # a 42 s epoch on this 2-core machine while the other core was busy (benchmarks/README.md).
    x, y = _images()
    ds = training.dataset(x, y, 16, shuffle=True)
    assert ds.options().autotune.enabled is False
    for _ in range(3):  # and the fixed prefetch still delivers every batch of every epoch
        assert sum(len(b[1]) for b in ds) == len(y)


def test_a_cosine_schedule_decays_the_learning_rate_to_zero_over_the_run():
    import tf_keras as keras
    config = training.optimizer("adam", 1e-3, "cosine", total_steps=100).get_config()["learning_rate"]
    schedule = keras.optimizers.schedules.deserialize(config)
    assert float(schedule(0)) == pytest.approx(1e-3) and float(schedule(50)) == pytest.approx(5e-4)
    assert float(schedule(100)) == pytest.approx(0.0, abs=1e-12)
    assert training.optimizer("adam", 1e-3).get_config()["learning_rate"] == pytest.approx(1e-3)  # constant


def test_train_plus_val_fits_on_the_whole_training_split_and_has_nothing_to_validate_on():
    data = {"x_train": np.zeros((8, 2)), "x_val": np.ones((2, 2))}
    x, y, val = training.training_split(data, np.arange(8), np.arange(8, 10), "train+val")
    assert len(x) == 10 and list(y) == list(range(10)) and val is None
    x, y, val = training.training_split(data, np.arange(8), np.arange(8, 10), "train")
    assert len(x) == 8 and val[0].shape == (2, 2)
    with pytest.raises(ValueError, match="allowed: train, train"):
        training.training_split(data, np.arange(8), np.arange(8, 10), "test")


def _fit_tiny(monkeypatch, steps_per_execution, callbacks=()):
    import tf_keras as keras
    from compressbench import models
    monkeypatch.setattr(training, "STEPS_PER_EXECUTION", steps_per_execution)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    data = {"x_train": rng.integers(0, 256, (200, 8, 8, 1), dtype=np.uint8),
            "x_val": rng.integers(0, 256, (20, 8, 8, 1), dtype=np.uint8)}
    model = models.build([{"conv": 4}, {"dense": 8}], (8, 8, 1))
    history = training.train_supervised(model, {**data, "y_train": rng.integers(0, 10, 200),
                                                "y_val": rng.integers(0, 10, 20)},
                                        epochs=2, batch_size=8, optimizer_name="adam", learning_rate=1e-3,
                                        seed=0, label="tiny", callbacks=list(callbacks))
    return model, history


def test_several_steps_per_execution_train_the_same_weights_bit_for_bit(monkeypatch):
    one, h1 = _fit_tiny(monkeypatch, 1)
    many, h16 = _fit_tiny(monkeypatch, 16)
    assert many._steps_per_execution.numpy() == 16 and one._steps_per_execution.numpy() == 1
    for a, b in zip(one.get_weights(), many.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert h1["loss"].tolist() == h16["loss"].tolist()


def test_a_fit_with_per_batch_callbacks_runs_one_step_per_execution(monkeypatch):
    import tf_keras as keras

    class Count(keras.callbacks.Callback):
        batches = 0

        def on_train_batch_begin(self, batch, logs=None):
            Count.batches += 1

    model, _ = _fit_tiny(monkeypatch, 16, callbacks=[Count()])
    assert model._steps_per_execution.numpy() == 1 and Count.batches == 2 * 25  # every batch of both epochs


def _notebook_cifar10_teacher():
    """The Quant CIFAR10 notebook's teacher cell, as written there."""
    import tf_keras as keras
    from tf_keras import layers
    return keras.Sequential([
        keras.Input(shape=(32, 32, 3)),
        layers.Conv2D(128, (3, 3), strides=(2, 2), padding="same"), layers.LeakyReLU(alpha=0.2),
        layers.Conv2D(128, (3, 3), strides=(2, 2), padding="same"), layers.LeakyReLU(alpha=0.2),
        layers.MaxPooling2D(pool_size=(2, 2), strides=(1, 1), padding="same"),
        layers.Conv2D(256, (3, 3), strides=(2, 2), padding="same"), layers.LeakyReLU(alpha=0.2),
        layers.Conv2D(256, (3, 3), strides=(2, 2), padding="same"), layers.LeakyReLU(alpha=0.2),
        layers.MaxPooling2D(pool_size=(2, 2), strides=(1, 1), padding="same"),
        layers.Flatten(), layers.Dense(256), layers.Dropout(0.5), layers.Dense(256), layers.Dense(10)])


def test_our_training_computes_the_notebooks_updates_bit_for_bit():
    """teacher-study5's protocol through train_supervised (uint8 tf.data batches, 16 steps per
    execution) and the notebook's `fit(x / 255.0, y)` (float64 arrays, Keras' batch 32, Adam's
    defaults) from the same start on the same batches: the same weights, dropout included.
    So our runs of a study protocol differ from the study's one run only by their seeds and the
    images held out for validation."""
    import tf_keras as keras
    from compressbench import models, params
    cfg = params.load(params.ROOT / "params.yaml")
    rng = np.random.default_rng(0)
    n = 2 * 16 * 32                                          # two executions of 16 steps
    data = {"x_train": rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), "y_train": rng.integers(0, 10, n),
            "x_val": rng.integers(0, 256, (32, 32, 32, 3), dtype=np.uint8), "y_val": rng.integers(0, 10, 32)}
    seed_everything(0)
    passes = training.dataset(data["x_train"], np.arange(n), 32, shuffle=True, seed=0)
    # fit's first epoch trains on the second permutation (Keras opens an iterator before the epochs)
    order = [np.concatenate([b.numpy() for _, b in passes]) for _ in range(2)][1]
    seed_everything(0)
    ours = models.build_for(cfg, "cifar10", "teacher")
    start = ours.get_weights()
    protocol = training.fit_keywords(cfg["protocols"]["cifar10"]["teacher-study5"]) | {"epochs": 1}
    training.train_supervised(ours, data, **protocol, seed=0, label="ours")
    assert ours._steps_per_execution.numpy() == training.STEPS_PER_EXECUTION > 1

    seed_everything(0)
    theirs = _notebook_cifar10_teacher()
    theirs.set_weights(start)
    theirs.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                   metrics=["accuracy"])
    theirs.fit(data["x_train"][order] / 255.0, data["y_train"][order], epochs=1, shuffle=False, verbose=0)
    assert sorted(order.tolist()) == list(range(n)) and order.tolist() != list(range(n))
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_fine_tune_keeps_its_length_and_takes_only_how_it_trains_from_the_family_style():
    settings = {"epochs": 2, "batch_size": 128, "learning_rate": 1e-3}
    plain = training.fine_tune_keywords(settings)
    assert plain == dict(epochs=2, batch_size=128, optimizer_name="adam", learning_rate=1e-3)
    styled = training.fine_tune_keywords(settings, {"schedule": "cosine", "augment": True, "shift": 4, "epochs": 9})
    assert styled == plain | {"schedule": "cosine", "augment": True, "shift": 4}  # epochs stay the fine-tune's
