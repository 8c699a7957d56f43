"""Shared fixtures: the repo's params, tiny synthetic datasets and models."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import compressbench  # noqa: F401  (sets TF_USE_LEGACY_KERAS before any TF import)
from compressbench import params

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def cfg() -> dict:
    return params.load(ROOT / "params.yaml")


def synthetic(n: int, shape=(28, 28, 1), seed: int = 0):
    """Learnable images: a bright block whose position encodes the label, plus noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    x = rng.integers(0, 60, (n, *shape), dtype=np.uint8)
    h, w = shape[0] // 5, shape[1] // 2
    for i, label in enumerate(y):
        r, c = divmod(int(label), 2)
        x[i, r * h:(r + 1) * h, c * w:(c + 1) * w, :] = 255
    return x, y.astype(np.int64)


@pytest.fixture(scope="session")
def tiny_data() -> dict:
    x, y = synthetic(600)
    return {"x_train": x[:400], "y_train": y[:400], "x_val": x[400:450], "y_val": y[400:450],
            "x_test": x[450:], "y_test": y[450:]}


@pytest.fixture(scope="session")
def mirror(tmp_path_factory) -> dict:
    """Environment pointing the download stage at a tiny mirror with its own checksums."""
    from fixtures import make_mirror
    folder = tmp_path_factory.mktemp("mirror")
    return {"COMPRESSBENCH_MIRROR": folder, "COMPRESSBENCH_CHECKSUMS": make_mirror(folder)}
