"""A tiny local mirror laid out like the real one, and params that keep runs short."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import struct
import tarfile
from pathlib import Path

from conftest import synthetic


def _idx(a) -> bytes:
    return bytes([0, 0, 0x08, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape) + a.tobytes()


def _md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


def make_mirror(folder: Path, n_train: int = 300, n_test: int = 100) -> Path:
    """Write <folder>/mnist/*.gz and <folder>/cifar10/cifar-10-binary.tar.gz of
    learnable synthetic images; return a checksums JSON for COMPRESSBENCH_CHECKSUMS."""
    sums = {"mnist": {}, "cifar10": {}}
    (folder / "mnist").mkdir(parents=True)
    for split, n, seed in (("train", n_train, 1), ("t10k", n_test, 2)):
        x, y = synthetic(n, (28, 28, 1), seed)
        for kind, arr in (("images-idx3", x[..., 0]), ("labels-idx1", y.astype("uint8"))):
            blob = gzip.compress(_idx(arr), mtime=0)
            name = f"{split}-{kind}-ubyte.gz"
            (folder / "mnist" / name).write_bytes(blob)
            sums["mnist"][name] = _md5(blob)
    (folder / "cifar10").mkdir()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        batches = [(f"data_batch_{i}.bin", n_train // 5, 10 + i) for i in range(1, 6)]
        for name, n, seed in batches + [("test_batch.bin", n_test, 20)]:
            x, y = synthetic(n, (32, 32, 3), seed)
            records = b"".join(bytes([int(label)]) + img.transpose(2, 0, 1).tobytes() for img, label in zip(x, y))
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(records)
            tar.addfile(info, io.BytesIO(records))
            sums["cifar10"][name] = _md5(records)
    (folder / "cifar10" / "cifar-10-binary.tar.gz").write_bytes(buf.getvalue())
    path = folder / "checksums.json"
    path.write_text(json.dumps(sums))
    return path


# Tiny conv blocks of the study's layer kinds: conv, LeakyReLU(0.2), stride-1 max-pool.
def _block(*widths: int) -> list[dict]:
    return [layer for w in widths for layer in ({"conv": w}, {"lrelu": 0.2}, {"pool": 2})]


TINY_ZOO = {
    "mnist": {"teacher": [*_block(8, 16), {"dense": 32}, {"dropout": 0.5}],
              "ta": [*_block(4, 8), {"dense": 16}], "student": _block(4, 4)},
    "cifar10": {"teacher": [*_block(8, 16), {"dense": 32}, {"dropout": 0.5}],
                "ta": [*_block(8, 8), {"dense": 16}], "student": _block(4, 8)},
}


# Schemes of the study's protocols, the sweeps (sparsity, fine-tune budget) and C3's equal-share
# partners: many runs, not in the tests' matrix.
STUDY_ONLY = ("study-constant", "global-s", "random-s", "global-e", "finetune-e", "local-conv-eq", "local-dense-eq")


def tiny(cfg: dict, datasets=("mnist",), bases=None, prune=None, quant=None, derived=None, replicates=None,
         cluster=None) -> dict:
    """The repo's params with tiny models and short runs; the matrix optionally reduced;
    no derived bases, replicates or cluster steps unless given (`cluster`: the cells'
    matrix.only limits of cluster-16)."""
    cfg["derived"] = derived or {}
    cfg["matrix"]["replicates"] = replicates or []
    cfg["matrix"]["cluster"] = ["none", "cluster-16"] if cluster else ["none"]
    # The tests' matrices are full products (params.yaml's budget limits dropped), but for
    # QAT's control, which is limited to the unpruned models by design.
    cfg["matrix"]["only"] = {k: v for k, v in cfg["matrix"]["only"].items() if k == "float32-ft"}
    if cluster:
        cfg["matrix"]["only"]["cluster-16"] = dict(cluster)
    cfg["cluster"]["fine_tune"].update(epochs=1, batch_size=32)
    cfg["quantize"]["int8io"]["calibration_samples"] = 20
    cfg["sensitivity"].update(bases=[], sparsities=[0, 0.5, 0.9])  # one analysis where a test asks for it
    cfg["matrix"]["prune"] = [p for p in cfg["matrix"]["prune"] if p not in STUDY_ONLY]
    # The LiteRT Quantizer's schemes have their own tests (test_litert_quantizer.py).
    cfg["matrix"]["quant"] = [q for q in cfg["matrix"]["quant"]
                              if not cfg["quantize"]["schemes"][q]["method"].startswith("aeq-")]
    cfg["matrix"]["datasets"] = list(datasets)
    for key, value in (("bases", bases), ("prune", prune), ("quant", quant)):
        if value is not None:
            cfg["matrix"][key] = list(value)
    cfg["zoo"] = TINY_ZOO
    cfg["data"]["val_size"] = 40
    cfg["data"]["sources"] = {"mnist": [], "cifar10": []}  # the mirror only
    for ds in cfg["train"]["epochs"].values():
        for base in ds:
            ds[base] = 1
    cfg["train"]["batch_size"] = 32
    cfg["prune"]["fine_tune"].update(epochs=1, batch_size=32)
    cfg["quantize"]["schemes"]["ptq-int8"]["calibration_samples"] = 20
    for name, scheme in cfg["quantize"]["schemes"].items():
        if scheme["method"] in ("qat", "float32-ft"):  # a control trains as its scheme
            scheme.update(batch_size=32)
    cfg["evaluate"].update(batch_size=50)
    cfg["latency"].update(warmup_runs=1, min_runs=10, check_every=5, max_runs=50, max_seconds=0.5)
    return cfg


def new_repo(path: Path, **matrix) -> Path:
    """A copy of the repository with tiny params (see `tiny`)."""
    from helpers import copy_repo, read_params, write_params
    repo = copy_repo(path)
    write_params(repo, tiny(read_params(repo), **matrix))
    return repo
