"""Weight clustering (tfmot's cluster_weights, the weight sharing of Deep
Compression): every conv, separable pointwise and dense kernel's weights are replaced by the nearest
of N shared values, fine-tuned, then stripped to a plain model. On a pruned
model clustering preserves its zeros."""
from __future__ import annotations

import numpy as np
import tensorflow_model_optimization as tfmot
import tf_keras as keras

from . import models, training

clustering = tfmot.clustering.keras
INITS = {"linear": "LINEAR", "random": "RANDOM", "density_based": "DENSITY_BASED",
         "kmeans_plus_plus": "KMEANS_PLUS_PLUS"}
SPARSE = 0.05  # as quantize.SPARSE: a kernel with this share of zeros was pruned


def _clustered(layer, scheme: dict, preserve_sparsity: bool):
    init = getattr(clustering.CentroidInitialization, INITS[scheme["init"]])
    return clustering.cluster_weights(layer, number_of_clusters=scheme["clusters"], cluster_centroids_init=init,
                                      preserve_sparsity=preserve_sparsity)


def cluster(model, data: dict, scheme: dict, fine_tune: dict, *, seed: int, label: str, style: dict | None = None):
    """Cluster a copy of `model`'s conv, separable and dense kernels, fine-tune it; return (plain
    model, history, whether sparsity was preserved)."""
    copy = models.clone(model)  # the wrappers take over the layers they get
    sparse = max(models.layer_sparsity(model).values()) > SPARSE

    def clone_fn(layer):
        if models.prunable_weight(layer) is not None:  # the kernels tfmot clusters
            return _clustered(layer, scheme, sparse)
        return layer

    wrapped = keras.models.clone_model(copy, clone_function=clone_fn)
    history = training.train_supervised(wrapped, data, **training.fine_tune_keywords(fine_tune, style),
                                        seed=seed, label=label)
    return clustering.strip_clustering(wrapped), history, sparse


def distinct_values(model) -> dict[str, int]:
    """Distinct values per conv and dense kernel (at most the clusters, plus 0 when sparse)."""
    return {n: int(np.unique(k).size) for n, k in models.prunable_kernels(model).items()}
