"""Fetch, verify, decode and split MNIST and CIFAR-10.

Everything that reaches `dest` has been verified first: files are fetched into a
temporary file beside their target and renamed only once their checksums match,
so a crash or a bad source never leaves a half-written or wrong file behind.
pooch does the HTTP downloads (with retries) and the file hashing.
Nothing here unpickles data: CIFAR-10 is read from its binary (not Python) version.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import json
import shutil
import sys
import tarfile
import zipfile
import zlib
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np

from compressbench.io import atomic_path, rebuild_command

# Published MD5s of the four original MNIST gzip files.
MNIST_FILES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}

CIFAR_ARCHIVE = "cifar-10-binary.tar.gz"
CIFAR_FOLDER = "cifar-10-batches-bin"
# Published MD5s of the .bin members. Mirrors re-pack the archive, so its own
# hash varies; the members are what must be byte-identical.
CIFAR_MEMBERS: dict[str, str] = {
    "data_batch_1.bin": "5dd7e06a14cb22eb9f671a540d1b7c25",
    "data_batch_2.bin": "5ea93a67294ea407fff1d09f752e9692",
    "data_batch_3.bin": "942cd6a4bcdd0dd3c604fbe906cb4421",
    "data_batch_4.bin": "ae636b3ba5c66a11e91e8cb52e771fcb",
    "data_batch_5.bin": "53f37980c15c3d472c316c40844f3f0d",
    "test_batch.bin": "803d5f7f4d78ea53de84dbe85f74fb6d",
}
CIFAR_TRAIN = [f"data_batch_{i}.bin" for i in range(1, 6)]
CIFAR_TEST = "test_batch.bin"

DATASETS = ("mnist", "cifar10")
NUM_CLASSES = 10
ARRAY_KEYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")

_HTTP_TIMEOUT = 60  # seconds without data before a source counts as unreachable
_HTTP_RETRIES = 2  # pooch retries network errors and 5xx, with back-off; 4xx are final


class DataError(RuntimeError):
    """A dataset could not be fetched, verified or decoded."""


# --------------------------------------------------------------------------- #
# Download and verification
# --------------------------------------------------------------------------- #

def _check_md5(path: Path, md5: str) -> None:
    import pooch  # lazy: it costs ~0.1 s and only downloads need it

    got = pooch.file_hash(str(path), alg="md5")
    if got != md5.lower():
        raise DataError(f"md5 mismatch (got {got}, expected {md5})")


def _cifar_members(tar: tarfile.TarFile, wanted):
    """Yield (info, basename) for wanted .bin members, in one forward pass.

    Looking members up by name would rescan (and re-gunzip) the archive per member.
    """
    for info in tar:
        name = info.name[2:] if info.name.startswith("./") else info.name
        folder, _, base = name.rpartition("/")
        if info.isfile() and folder == CIFAR_FOLDER and base in wanted:
            yield info, base


def _check_members(path: Path, members: dict[str, str]) -> None:
    """Check every expected .bin member's md5 inside the tar.gz (streamed, no extraction)."""
    found: dict[str, str] = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for info, base in _cifar_members(tar, members):
                found[base] = hashlib.file_digest(tar.extractfile(info), "md5").hexdigest()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise DataError(f"unreadable tar.gz ({type(exc).__name__}: {exc})") from exc
    missing = [m for m in members if m not in found]
    if missing:
        raise DataError(f"archive lacks member(s) {', '.join(missing)}")
    bad = [f"{m} (got {found[m]}, expected {md5})" for m, md5 in members.items() if found[m] != md5.lower()]
    if bad:
        raise DataError("member md5 mismatch: " + "; ".join(bad))


def _fetch(source: str, out: Path) -> None:
    """Download (http(s) URL, by pooch) or copy (path or file:// URL) `source` to `out`."""
    url = urlparse(source)
    if url.scheme not in ("http", "https"):  # pooch does not fetch local files
        shutil.copyfile(unquote(url.path) if url.scheme == "file" else source, out)
        return
    import pooch  # lazy: see _check_md5
    import requests

    # A progress bar only helps a human watching a terminal; logs stay clean.
    http = pooch.HTTPDownloader(timeout=_HTTP_TIMEOUT, progressbar=sys.stderr.isatty())

    def downloader(url: str, output_file: str, pup) -> None:
        try:
            http(url, output_file, pup)
        except requests.HTTPError as exc:
            status = getattr(exc.response, "status_code", 500)
            if 400 <= status < 500:  # pooch retries requests' errors only, so this ends the retries
                raise DataError(f"HTTP {status}") from exc
            raise

    # No known hash: the caller verifies `out` (an archive's members, not its bytes, are fixed).
    pup = pooch.create(out.parent, base_url=source, registry={out.name: None}, urls={out.name: source},
                       retry_if_failed=_HTTP_RETRIES)
    pup.fetch(out.name, downloader=downloader)


def _sources_for(dataset: str, filename: str, sources: list[str], mirror: str | None) -> list[str]:
    """The mirror folder first (no network), then each base URL in the given order."""
    out = []
    if mirror:
        if urlparse(mirror).scheme in ("http", "https", "file"):
            out.append(f"{mirror.rstrip('/')}/{dataset}/{filename}")
        else:
            out.append(str(Path(mirror) / dataset / filename))
    return out + [f"{base}{filename}" for base in sources]


def _obtain(target: Path, candidates: list[str], verify) -> Path:
    """Make `target` a verified file from the first candidate that verifies."""
    if target.is_file():
        try:
            verify(target)
            return target  # already present and verified: no refetch
        except DataError:
            pass  # stale or damaged: replaced atomically below
    failures = []
    for source in candidates:
        try:
            # The temp file is renamed onto `target` only if fetch+verify succeed;
            # atomic_path deletes it on any exception (including Ctrl-C).
            with atomic_path(target, suffix=".part") as tmp:
                _fetch(source, tmp)
                verify(tmp)
            return target
        except DataError as exc:
            failures.append(f"  {source}: {exc}")
        except OSError as exc:  # requests' errors too; also an unwritable dest, a full disk
            failures.append(f"  {source}: {type(exc).__name__}: {exc}")
    tried = "\n".join(failures) if failures else "  (no sources given)"
    raise DataError(f"could not obtain a verified {target.name}; sources tried:\n{tried}")


def download(
    dataset: str,
    dest: Path,
    sources: list[str],
    mirror: str | None,
    *,
    files: dict[str, str] | None = None,
    members: dict[str, str] | None = None,
) -> list[Path]:
    """Fetch `dataset` into `dest`, verified; return the paths of its files.

    mnist: the four .gz files, each checked against its md5 (`files` overrides).
    cifar10: the binary archive, checked member by member (`members` overrides).
    """
    if dataset == "mnist":
        table = MNIST_FILES if files is None else files
        verifiers = {name: functools.partial(_check_md5, md5=md5) for name, md5 in table.items()}
    elif dataset == "cifar10":
        table = CIFAR_MEMBERS if members is None else members
        verifiers = {CIFAR_ARCHIVE: functools.partial(_check_members, members=table)}
    else:
        raise DataError(f"unknown dataset {dataset!r} (expected one of {', '.join(DATASETS)})")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    return [_obtain(dest / name, _sources_for(dataset, name, sources, mirror), verify)
            for name, verify in verifiers.items()]


# --------------------------------------------------------------------------- #
# Decoding
# --------------------------------------------------------------------------- #

def read_idx(data: bytes) -> np.ndarray:
    """Decode an IDX file (already gunzipped): 0,0,dtype,ndims, big-endian uint32 dims, data."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError("not an IDX file (bad magic)")
    if data[2] != 0x08:  # MNIST only uses unsigned bytes
        raise DataError(f"unsupported IDX dtype code 0x{data[2]:02x} (only 0x08 uint8)")
    ndims = data[3]
    header = 4 + 4 * ndims
    if len(data) < header:
        raise DataError("truncated IDX header")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndims, offset=4))
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(data) != expected:
        raise DataError(f"IDX size mismatch: {len(data)} bytes, header implies {expected}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims).copy()


_CIFAR_RECORD = 1 + 3 * 32 * 32


def read_cifar_bin(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Decode CIFAR-10 binary records -> (images uint8 (N,32,32,3) HWC, labels uint8)."""
    if len(data) % _CIFAR_RECORD:
        raise DataError(f"CIFAR .bin size {len(data)} is not a multiple of {_CIFAR_RECORD}")
    rec = np.frombuffer(data, dtype=np.uint8).reshape(-1, _CIFAR_RECORD)
    labels = rec[:, 0].copy()
    if labels.size and labels.max() >= NUM_CLASSES:
        raise DataError(f"CIFAR label {int(labels.max())} out of range 0..9")
    # Stored channel-planar (CHW); Keras wants channels last.
    images = np.ascontiguousarray(rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    return images, labels


def _check_pair(x: np.ndarray, y: np.ndarray, what: str) -> None:
    if len(x) != len(y):
        raise DataError(f"{what}: {len(x)} images but {len(y)} labels")
    if y.size and (y.min() < 0 or y.max() >= NUM_CLASSES):
        raise DataError(f"{what}: labels outside 0..{NUM_CLASSES - 1}")


def _load_mnist(raw_dir: Path) -> dict[str, np.ndarray]:
    def idx(name: str) -> np.ndarray:
        path = raw_dir / name
        try:
            return read_idx(gzip.decompress(path.read_bytes()))
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path}: unreadable ({exc})") from exc
        except DataError as exc:
            raise DataError(f"{path}: {exc}") from exc

    out = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        x = idx(f"{prefix}-images-idx3-ubyte.gz")
        y = idx(f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
        if x.ndim != 3 or y.ndim != 1:
            raise DataError(f"MNIST {split}: unexpected shapes {x.shape}, {y.shape}")
        _check_pair(x, y, f"MNIST {split}")
        out[f"x_{split}"], out[f"y_{split}"] = x[..., None], y  # add the channel axis
    return out


def _load_cifar(raw_dir: Path) -> dict[str, np.ndarray]:
    path = raw_dir / CIFAR_ARCHIVE
    wanted = [*CIFAR_TRAIN, CIFAR_TEST]
    decoded: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for info, base in _cifar_members(tar, wanted):
                decoded[base] = read_cifar_bin(tar.extractfile(info).read())
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from exc
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: unreadable ({exc})") from exc
    missing = [m for m in wanted if m not in decoded]
    if missing:
        raise DataError(f"{path}: missing member(s) {', '.join(missing)}")
    train = [decoded[n] for n in CIFAR_TRAIN]  # batches 1..5, in order
    x_test, y_test = decoded[CIFAR_TEST]
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train]).astype(np.int64)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test.astype(np.int64)}


def load_raw(dataset: str, raw_dir: Path) -> dict[str, np.ndarray]:
    """Decode the downloaded files: x_* uint8 (N,H,W,C), y_* int64."""
    raw_dir = Path(raw_dir)
    if dataset == "mnist":
        return _load_mnist(raw_dir)
    if dataset == "cifar10":
        return _load_cifar(raw_dir)
    raise DataError(f"unknown dataset {dataset!r} (expected one of {', '.join(DATASETS)})")


# --------------------------------------------------------------------------- #
# Split, prepare, load
# --------------------------------------------------------------------------- #

def split(x: np.ndarray, y: np.ndarray, val_size: int, seed: int):
    """Carve `val_size` examples off (x, y) with a seeded permutation -> (x_tr, y_tr, x_val, y_val)."""
    n = len(x)
    if len(y) != n:
        raise ValueError(f"x has {n} rows but y has {len(y)}")
    if not 0 <= val_size < n:
        raise ValueError(f"val_size must be in [0, {n}), got {val_size}")
    perm = np.random.default_rng(seed).permutation(n)
    # Sorted indices keep the source order inside each split: the split depends
    # only on (n, val_size, seed), and the arrays are easy to compare by eye.
    val, tr = np.sort(perm[:val_size]), np.sort(perm[val_size:])
    return x[tr], y[tr], x[val], y[val]


def _sha256(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def prepare(dataset: str, raw_dir: Path, out_npz: Path, val_size: int, split_seed: int) -> dict:
    """Decode, split and save the dataset as one npz; return the facts about it
    (for its record), among them each array's sha256, which every load checks."""
    raw = load_raw(dataset, raw_dir)
    x_tr, y_tr, x_val, y_val = split(raw["x_train"], raw["y_train"], val_size, split_seed)
    arrays = {"x_train": x_tr, "y_train": y_tr, "x_val": x_val, "y_val": y_val,
              "x_test": raw["x_test"], "y_test": raw["y_test"]}
    with atomic_path(out_npz) as tmp:
        with open(tmp, "wb") as f:  # a file object: np.savez would append ".npz" to a name
            np.savez(f, **arrays)
    facts = {
        "dataset": dataset,
        "val_size": int(val_size),
        "split_seed": int(split_seed),
        "image_shape": [int(d) for d in x_tr.shape[1:]],
        "dtypes": {k: str(a.dtype) for k, a in arrays.items()},
        "counts": {s: int(len(arrays[f"y_{s}"])) for s in ("train", "val", "test")},
        "class_counts": {
            s: [int(c) for c in np.bincount(arrays[f"y_{s}"], minlength=NUM_CLASSES)]
            for s in ("train", "val", "test")
        },
        "sha256": {k: _sha256(a) for k, a in arrays.items()},
    }
    return facts


def _rebuild(path) -> str:
    return f"rebuild it with: {rebuild_command(path)}"


def load_prepared(path: Path, keys=ARRAY_KEYS) -> dict[str, np.ndarray]:
    """Load the `keys` arrays of a prepared npz (a job loads only the splits it
    uses), each checked against the sha256 in the record beside it; DataError
    names the file and what is wrong."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in keys if k not in npz.files]
            arrays = {k: npz[k] for k in keys if k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as exc:
        raise DataError(f"{path}: not a readable prepared dataset ({type(exc).__name__}: {exc}); {_rebuild(path)}") from exc
    if missing:
        raise DataError(f"{path}: missing arrays {', '.join(missing)}; {_rebuild(path)}")
    record = path.with_suffix(".json")
    try:
        expected = json.loads(record.read_text())["sha256"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{record}: no readable checksums for {path.name} ({exc}); {_rebuild(path)}") from exc
    bad = [k for k in keys if expected.get(k) != _sha256(arrays[k])]
    if bad:
        raise DataError(f"{path}: {', '.join(bad)} differ from the sha256 in {record.name} "
                        f"(damaged or changed since prepare); {_rebuild(path)}")
    return arrays


def save_logits(path, *, train: np.ndarray, val: np.ndarray) -> None:
    """A model's logits on the train and val splits, for the students distilled from it."""
    with atomic_path(path) as tmp:
        np.savez(tmp, train=train, val=val)


def load_logits(path) -> dict[str, np.ndarray]:
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {"train": npz["train"], "val": npz["val"]}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as exc:
        raise DataError(f"{path}: not a readable logits file ({type(exc).__name__}: {exc})") from exc
