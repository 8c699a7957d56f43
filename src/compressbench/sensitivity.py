"""Per-layer pruning sensitivity (Distiller's sensitivity analysis): each prunable
layer pruned alone by magnitude, one-shot and without fine-tuning, at a range of
sparsities; the model's test accuracy at each."""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import models, training


def magnitude_mask(kernel: np.ndarray, sparsity: float) -> np.ndarray:
    """The kernel with its `sparsity` share of smallest-magnitude weights zeroed."""
    k = int(round(sparsity * kernel.size))
    if k == 0:
        return kernel.copy()
    order = np.argsort(np.abs(kernel), axis=None, kind="stable")
    out = kernel.copy().ravel()
    out[order[:k]] = 0.0
    return out.reshape(kernel.shape)


def analyse(model, x: np.ndarray, y: np.ndarray, sparsities) -> pd.DataFrame:
    """One row per (layer, sparsity): test accuracy with that layer alone pruned."""
    rows = []
    for name, kernel in models.prunable_kernels(model).items():
        weight = models.prunable_weight(model.get_layer(name))  # a separable conv's is its second
        for s in sparsities:
            weight.assign(magnitude_mask(kernel, s))
            rows.append({"layer": name, "weights": int(kernel.size), "sparsity": float(s),
                         "accuracy": training.accuracy(model, x, y)})
        weight.assign(kernel)  # the next layer is pruned alone
    return pd.DataFrame(rows)
