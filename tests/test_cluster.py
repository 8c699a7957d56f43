"""Weight clustering: at most N shared values per kernel, zeros kept on pruned models."""
import numpy as np

from compressbench import cluster, models, prune
from test_distill import seed_everything

FT = {"epochs": 1, "batch_size": 50, "learning_rate": 1e-3}
SCHEME = {"clusters": 8, "init": "kmeans_plus_plus"}


def _model():
    seed_everything(0)
    return models.build([{"conv": 8}, {"conv": 16}, {"dense": 24}], (28, 28, 1))


def test_a_clustered_model_has_at_most_n_values_per_kernel_and_leaves_the_source_alone(tiny_data):
    source = _model()
    before = [w.copy() for w in source.get_weights()]
    clustered, _, sparse = cluster.cluster(source, tiny_data, SCHEME, FT, seed=0, label="test")
    assert not sparse
    assert all(1 < n <= 8 for n in cluster.distinct_values(clustered).values())
    assert all(np.array_equal(a, b) for a, b in zip(before, source.get_weights()))


def test_clustering_a_pruned_model_keeps_its_zeros(tiny_data):
    pruned, _, _ = prune.prune(_model(), tiny_data, {"method": "magnitude", "layers": "all", "sparsity": 0.8,
                                                     "initial_sparsity": 0.5, "end_fraction": 0.75, "frequency": 50},
                               FT, seed=0, label="test")
    clustered, _, sparse = cluster.cluster(pruned, tiny_data, SCHEME, FT, seed=0, label="test")
    assert sparse
    for name, kernel in models.prunable_kernels(pruned).items():
        after = models.prunable_kernels(clustered)[name]
        assert np.all(after[kernel == 0] == 0), name            # every pruned weight still zero
        assert np.unique(after[kernel != 0]).size <= 8, name     # shared values (zero is its own)
