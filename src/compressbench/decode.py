"""Decoders: a dataset's files -> uint8 images (N, H, W, C) and int64 labels per split.

Each returns {"x_train", "y_train", "x_test", "y_test"}; the catalog (catalog/datasets.py)
names the decoder of every dataset, and data.prepare checks what comes out against the
entry's shape and classes. Nothing here unpickles data (npz files load with
allow_pickle=False; CIFAR-10 is read from its binary version).

>>> read_idx(bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 9])).tolist()
[7, 9]
"""
from __future__ import annotations

import gzip
import hashlib
import tarfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

SPLITS = ("train", "test")
# Images an image folder may hold (Pillow decodes them); anything else there is refused.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


class DataError(RuntimeError):
    """A dataset could not be fetched, verified or decoded."""


def _unreadable(path: Path, exc: BaseException) -> DataError:
    return DataError(f"{path}: unreadable ({type(exc).__name__}: {exc})")


# ---- MNIST-style IDX files ---------------------------------------------------------

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


def idx_gz(folder: Path, *, train: tuple[str, str], test: tuple[str, str]) -> dict[str, np.ndarray]:
    """Gzipped IDX files (images, labels) per split, in `folder` (MNIST, Fashion-MNIST)."""
    def idx(name: str) -> np.ndarray:
        path = Path(folder) / name
        try:
            return read_idx(gzip.decompress(path.read_bytes()))
        except (OSError, EOFError, zlib.error) as exc:
            raise _unreadable(path, exc) from exc
        except DataError as exc:
            raise DataError(f"{path}: {exc}") from exc

    out = {}
    for split, (images, labels) in zip(SPLITS, (train, test)):
        x, y = idx(images), idx(labels).astype(np.int64)
        if x.ndim != 3 or y.ndim != 1:
            raise DataError(f"{Path(folder) / images}: unexpected shapes {x.shape}, {y.shape}")
        out[f"x_{split}"], out[f"y_{split}"] = x[..., None], y  # add the channel axis
    return out


# ---- CIFAR-10's binary version ----------------------------------------------------

def tar_members(tar: tarfile.TarFile, folder: str, wanted):
    """Yield (info, basename) for the wanted members of `folder` in one forward pass
    (looking members up by name would rescan and re-gunzip the archive per member)."""
    for info in tar:
        name = info.name[2:] if info.name.startswith("./") else info.name
        parent, _, base = name.rpartition("/")
        if info.isfile() and parent == folder and base in wanted:
            yield info, base


def read_cifar_bin(data: bytes, shape=(32, 32, 3), num_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Decode CIFAR binary records (a label byte, then channel-planar pixels) ->
    (images uint8 (N,H,W,C) channels last, labels uint8)."""
    h, w, c = shape
    record = 1 + h * w * c
    if len(data) % record:
        raise DataError(f"CIFAR .bin size {len(data)} is not a multiple of {record}")
    rec = np.frombuffer(data, dtype=np.uint8).reshape(-1, record)
    labels = rec[:, 0].copy()
    if labels.size and labels.max() >= num_classes:
        raise DataError(f"CIFAR label {int(labels.max())} out of range 0..{num_classes - 1}")
    images = np.ascontiguousarray(rec[:, 1:].reshape(-1, c, h, w).transpose(0, 2, 3, 1))
    return images, labels


def cifar_binary(folder: Path, *, archive: str, inner: str, train: tuple[str, ...], test: str,
                 shape=(32, 32, 3), num_classes: int = 10) -> dict[str, np.ndarray]:
    """The binary CIFAR archive in `folder`: the `train` batches in order, then `test`."""
    path = Path(folder) / archive
    wanted = [*train, test]
    decoded: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for info, base in tar_members(tar, inner, wanted):
                decoded[base] = read_cifar_bin(tar.extractfile(info).read(), shape, num_classes)
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from exc
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise _unreadable(path, exc) from exc
    missing = [m for m in wanted if m not in decoded]
    if missing:
        raise DataError(f"{path}: missing member(s) {', '.join(missing)}")
    x_test, y_test = decoded[test]
    return {"x_train": np.concatenate([decoded[n][0] for n in train]),
            "y_train": np.concatenate([decoded[n][1] for n in train]).astype(np.int64),
            "x_test": x_test, "y_test": y_test.astype(np.int64)}


# ---- a user's .npz -----------------------------------------------------------------

NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def npz_arrays(path: Path, *, channels: int) -> dict[str, np.ndarray]:
    """x_train, y_train, x_test, y_test of an .npz (no pickles); images of one channel
    may come without their channel axis. Labels must be integers."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in NPZ_KEYS if k not in npz.files]
            if missing:
                raise DataError(f"{path}: lacks {', '.join(missing)}; allowed: an .npz with {', '.join(NPZ_KEYS)}")
            out = {k: npz[k] for k in NPZ_KEYS}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise _unreadable(path, exc) from exc
    for split in SPLITS:
        x, y = out[f"x_{split}"], out[f"y_{split}"]
        if x.dtype != np.uint8:
            raise DataError(f"{path}: x_{split} is {x.dtype}; allowed: uint8 pixels 0..255")
        if not np.issubdtype(y.dtype, np.integer) or y.ndim != 1:
            raise DataError(f"{path}: y_{split} is {y.dtype} of shape {y.shape}; allowed: integer labels, one per image")
        if x.ndim == 3 and channels == 1:
            out[f"x_{split}"] = x[..., None]
        out[f"y_{split}"] = y.astype(np.int64)
    return out


def npz_length(path: Path, key: str) -> int:
    """The number of rows of one array of an .npz, from its header alone."""
    with zipfile.ZipFile(path) as z, z.open(f"{key}.npy") as f:
        version = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, _ = read(f)
    return int(shape[0]) if shape else 0


# ---- an image folder -----------------------------------------------------------------

MANIFEST = "SHA256SUMS"  # an image folder's manifest, in its root: `sha256sum -c SHA256SUMS` checks it


def folder_files(root: Path) -> list[str]:
    """Every file under `root` (relative POSIX paths, sorted), hidden ones (".*") left out."""
    root = Path(root)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts))


def file_sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def manifest(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file of a folder but its manifest (see folder_files)."""
    return {rel: file_sha256(Path(root) / rel) for rel in folder_files(root) if rel != MANIFEST}


def manifest_text(entries: dict[str, str]) -> str:
    """The manifest's lines, sorted by path, in sha256sum's format.

    >>> manifest_text({"train/a/1.png": "ab" * 32})[:8], manifest_text({}) == ""
    ('abababab', True)
    """
    return "".join(f"{entries[rel]}  {rel}\n" for rel in sorted(entries))


def read_manifest(path: Path) -> dict[str, str]:
    """Relative path -> sha256 from a manifest file (sha256sum's format)."""
    entries = {}
    for i, line in enumerate(Path(path).read_text().splitlines(), 1):
        digest, sep, rel = line.partition("  ")
        if not sep or len(digest) != 64:
            raise DataError(f"{path}:{i}: not a line '<sha256>  <relative path>'")
        entries[rel] = digest
    return entries


def _class_folders(split_dir: Path) -> list[str]:
    if not split_dir.is_dir():
        raise DataError(f"{split_dir}: no such folder; allowed: {split_dir.parent}/{{train,test}}/<class>/<image>")
    return sorted(p.name for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def class_names(root: Path) -> list[str]:
    """The class subfolders of `root`/train, sorted: the labels 0, 1, ... of a folder
    declared with a number of classes."""
    return _class_folders(Path(root) / "train")


def count_train(root: Path) -> int:
    """Images under `root`/train (without decoding them)."""
    return sum(1 for rel in folder_files(Path(root) / "train") if rel.lower().endswith(IMAGE_SUFFIXES))


_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def image_folder(root: Path, *, shape: tuple[int, int, int], classes: list[str] | None) -> dict[str, np.ndarray]:
    """<root>/train/<class>/<image> and <root>/test/<class>/<image>: label = the class's
    index in `classes` (None: the sorted subfolders of train/). Every image must have the
    declared height and width (no resizing); it is converted to the declared channels."""
    from PIL import Image  # lazy: only image folders need it

    root, (h, w, c) = Path(root), shape
    if c not in _MODES:
        raise DataError(f"{root}: images of {c} channels; allowed: {', '.join(map(str, _MODES))}")
    names = list(classes) if classes is not None else class_names(root)
    out = {}
    for split in SPLITS:
        found = _class_folders(root / split)
        if set(found) != set(names):
            extra, missing = sorted(set(found) - set(names)), sorted(set(names) - set(found))
            raise DataError(f"{root / split}: class folders differ from the declared classes"
                            + (f"; not declared: {', '.join(extra)}" if extra else "")
                            + (f"; missing: {', '.join(missing)}" if missing else ""))
        xs, ys = [], []
        for label, name in enumerate(names):
            for rel in folder_files(root / split / name):
                path = root / split / name / rel
                if "/" in rel or not rel.lower().endswith(IMAGE_SUFFIXES):
                    raise DataError(f"{path}: not an image of its class folder; allowed: "
                                    f"{', '.join(IMAGE_SUFFIXES)} files directly in {root / split / name}")
                try:
                    with Image.open(path) as img:
                        pixels = np.asarray(img.convert(_MODES[c]), dtype=np.uint8)
                except (OSError, ValueError) as exc:
                    raise _unreadable(path, exc) from exc
                if pixels.shape[:2] != (h, w):
                    raise DataError(f"{path}: {pixels.shape[1]}x{pixels.shape[0]} pixels; allowed: {w}x{h} "
                                    "(the dataset's shape; images are not resized)")
                xs.append(pixels.reshape(h, w, c))
                ys.append(label)
        out[f"x_{split}"] = np.stack(xs) if xs else np.zeros((0, h, w, c), np.uint8)
        out[f"y_{split}"] = np.asarray(ys, dtype=np.int64)
    return out
