"""The input pipeline every trainer, fine-tune and prediction goes through."""
import numpy as np

from compressbench import training


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
