"""What compression forgets (Hooker et al., "What do compressed deep neural networks
forget?"): for every variant, how often it predicts what its uncompressed model
predicts, and the class whose accuracy drops the most. From the labels each evaluate
job keeps beside its metrics (evaluate.save_labels): no extra inference.

The uncompressed model of a variant is its own base model exported without
compression (`base+none+<reference>`, the reference-role quantization scheme,
float32) of the same dataset and training seed. Pure functions; no I/O."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import controls, matrix

# A recipe "loses a class" when that class's test accuracy drops by at least this many pp
# more than its overall accuracy does: accuracy kept on average can hide it.
LOST_CLASS_PP = 5.0


def agreement(predicted: np.ndarray, reference: np.ndarray) -> float:
    """The share of images on which two models predict the same class.

    >>> agreement(np.array([1, 2, 3, 4]), np.array([1, 2, 0, 4]))
    0.75"""
    return float(np.mean(np.asarray(predicted) == np.asarray(reference)))


def class_drops(class_acc: np.ndarray, reference_acc: np.ndarray) -> np.ndarray:
    """Per class, the reference's accuracy minus the variant's, in pp."""
    return 100.0 * (np.asarray(reference_acc, dtype=float) - np.asarray(class_acc, dtype=float))


def largest_drop(drops: np.ndarray) -> tuple[int, float]:
    """(class, pp) of the largest per-class drop (NaN classes, without images, ignored).

    >>> largest_drop(np.array([1.0, 7.5, -2.0]))
    (1, 7.5)"""
    d = np.asarray(drops, dtype=float)
    if not len(d) or np.isnan(d).all():
        return -1, math.nan
    i = int(np.nanargmax(d))
    return i, float(d[i])


def uncompressed(cfg: dict, variant: str) -> str | None:
    """The variant's base model without compression (None for that model itself)."""
    base, scheme = matrix.parse_variant(variant)[0], controls.reference_scheme(cfg)
    ref = matrix.variant(base, "none", scheme) if scheme else None
    return None if ref is None or ref == variant else ref


COLUMNS = ["dataset", "variant", "agreement", "worst_class", "worst_class_drop_pp"]


def forgetting(cfg: dict, labels: dict) -> pd.DataFrame:
    """One row per (dataset, variant) that has its uncompressed model: agreement (mean
    over runs) and the class with the largest accuracy drop (per-class drops averaged
    over runs first). labels: (dataset, seed, ft_seed, variant) -> {"test": uint8
    predictions, "test_class_accuracy": per-class accuracy}; a run is matched with the
    uncompressed model of its training seed (fine-tune seed 0, its only one)."""
    by_variant: dict[tuple, list] = {}
    for (ds, seed, ft, variant), got in labels.items():
        ref = uncompressed(cfg, variant)
        ref_got = labels.get((ds, seed, 0, ref)) if ref else None
        if ref_got is None:
            continue
        by_variant.setdefault((ds, variant), []).append(
            (agreement(got["test"], ref_got["test"]),
             class_drops(got["test_class_accuracy"], ref_got["test_class_accuracy"])))
    rows = []
    for (ds, variant), found in by_variant.items():
        worst, drop = largest_drop(np.mean([d for _, d in found], axis=0))
        rows.append({"dataset": ds, "variant": variant, "agreement": float(np.mean([a for a, _ in found])),
                     "worst_class": worst, "worst_class_drop_pp": drop})
    return pd.DataFrame(rows, columns=COLUMNS)


def loses_class(row, reference_delta_pp: float) -> bool:
    """A variant whose worst class drops LOST_CLASS_PP more than its overall accuracy
    (reference_delta_pp: overall accuracy − the uncompressed model's, pp)."""
    drop = float(row["worst_class_drop_pp"])
    return not math.isnan(drop) and drop - max(-float(reference_delta_pp), 0.0) >= LOST_CLASS_PP
