"""Fetch and verify a dataset's files, decode, check and split them, and load the result.

What each dataset is (files, checksums, decoder, shape, classes) is declared in the
catalog (catalog/datasets.py); this module does the work for any declaration.
Everything that reaches `dest` has been verified first: files are fetched into a
temporary file beside their target and renamed only once their checksums match,
so a crash or a bad source never leaves a half-written or wrong file behind.
pooch does the HTTP downloads (with retries) and the file hashing. A user's files
in the work tree are checked against the sha256 pinned in params.yaml before
they are decoded: a changed file is refused, naming it.

    python -m compressbench.data sha256 data/local/flowers   # the hash to pin in params.yaml

An image folder is pinned through its manifest, decode.MANIFEST in its root (every other
file's sha256, in sha256sum's format), which that command writes: the pin is the
manifest's hash, and the manifest names the file that changed.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tarfile
import zipfile
import zlib
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np

from . import decode
from .catalog.datasets import Dataset, Download, InTree, Md5, TarMembers
from .decode import DataError
from .io import atomic_path, rebuild_command

ARRAY_KEYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")

# Network bounds, from the environment: where verified files come from cannot change
# them, so changing these reruns no job. An unresponsive source fails after about
# timeout x (1 + retries) seconds, plus pooch's back-off of a few seconds.
MIRROR_ENV = "COMPRESSBENCH_MIRROR"  # wins over params data.mirror
TIMEOUT_ENV, RETRIES_ENV = "COMPRESSBENCH_HTTP_TIMEOUT", "COMPRESSBENCH_HTTP_RETRIES"
HTTP_TIMEOUT, HTTP_RETRIES = 30, 2  # seconds without data before a try fails; retries of 5xx and network errors


def _env_number(name: str, default: int, low: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if value < low:
        raise DataError(f"{name}={raw!r}; allowed: an integer >= {low}")
    return value


def http_settings() -> tuple[int, int]:
    """(timeout seconds, retries) for HTTP sources, from the environment or the defaults."""
    return _env_number(TIMEOUT_ENV, HTTP_TIMEOUT, 1), _env_number(RETRIES_ENV, HTTP_RETRIES, 0)


# --------------------------------------------------------------------------- #
# Download and verification
# --------------------------------------------------------------------------- #

def _check_md5(path: Path, md5: str) -> None:
    import pooch  # lazy: it costs ~0.1 s and only downloads need it

    got = pooch.file_hash(str(path), alg="md5")
    if got != md5.lower():
        raise DataError(f"md5 mismatch (got {got}, expected {md5})")


def _check_members(path: Path, folder: str, members: dict[str, str]) -> None:
    """Check every expected member's md5 inside the tar.gz (streamed, no extraction)."""
    found: dict[str, str] = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for info, base in decode.tar_members(tar, folder, members):
                found[base] = hashlib.file_digest(tar.extractfile(info), "md5").hexdigest()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise DataError(f"unreadable tar.gz ({type(exc).__name__}: {exc})") from exc
    missing = [m for m in members if m not in found]
    if missing:
        raise DataError(f"archive lacks member(s) {', '.join(missing)}")
    bad = [f"{m} (got {found[m]}, expected {md5})" for m, md5 in members.items() if found[m] != md5.lower()]
    if bad:
        raise DataError("member md5 mismatch: " + "; ".join(bad))


def _verifier(check: Md5 | TarMembers):
    if isinstance(check, Md5):
        return lambda path: _check_md5(path, check.md5)
    return lambda path: _check_members(path, check.folder, check.members)


def _fetch(source: str, out: Path) -> None:
    """Download (http(s) URL, by pooch) or copy (path or file:// URL) `source` to `out`."""
    url = urlparse(source)
    if url.scheme not in ("http", "https"):  # pooch does not fetch local files
        shutil.copyfile(unquote(url.path) if url.scheme == "file" else source, out)
        return
    import pooch  # lazy: see _check_md5
    import requests

    timeout, retries = http_settings()
    # A progress bar only helps a human watching a terminal; logs stay clean.
    http = pooch.HTTPDownloader(timeout=timeout, progressbar=sys.stderr.isatty())

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
                       retry_if_failed=retries)
    pup.fetch(out.name, downloader=downloader)


def mirror(cfg: dict) -> str | None:
    """The local mirror folder: the environment variable wins over the param, e.g.
    mirror({"data": {"mirror": "/srv/mirror"}}) is "/srv/mirror" unless COMPRESSBENCH_MIRROR is set."""
    return os.environ.get(MIRROR_ENV) or cfg["data"]["mirror"] or None


def check_mirror(mirror: str | None) -> None:
    """A mirror given as a local folder (or file:// URL) must exist: one line naming it,
    instead of a missing first file after every fallback URL has failed."""
    if not mirror or urlparse(mirror).scheme in ("http", "https"):
        return
    folder = Path(unquote(urlparse(mirror).path) if urlparse(mirror).scheme == "file" else mirror)
    if not folder.is_dir():
        raise DataError(f"mirror folder {folder} does not exist (COMPRESSBENCH_MIRROR or data.mirror); "
                        "allowed: a folder laid out as <folder>/<dataset>/<file>, or unset")


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


def download(dataset: Dataset, dest: Path, sources: list[str], mirror: str | None) -> list[Path]:
    """Fetch a downloaded dataset's files into `dest`, each verified by its catalog
    check; return their paths. `sources`: base URLs tried after the mirror."""
    if not isinstance(dataset.source, Download):
        raise DataError(f"dataset {dataset.name!r} is read in place from {dataset.source.path}; nothing to download")
    check_mirror(mirror)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    return [_obtain(dest / name, _sources_for(dataset.name, name, sources, mirror), _verifier(check))
            for name, check in dataset.source.files.items()]


# --------------------------------------------------------------------------- #
# A user's files: pinned by sha256
# --------------------------------------------------------------------------- #

def pin(path: Path) -> str:
    """The sha256 to pin in params.yaml: a file's own; for an image folder, (re)write its
    manifest (decode.MANIFEST: every other file's sha256) and return the manifest's hash."""
    path = Path(path)
    if path.is_dir():
        (path / decode.MANIFEST).write_text(decode.manifest_text(decode.manifest(path)))
        path = path / decode.MANIFEST
    return decode.file_sha256(path)


def _listed(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def verify_in_tree(dataset: Dataset) -> None:
    """Check a user's file, or an image folder's manifest and every file it lists, against the
    sha256 pinned in params.yaml; a difference is refused, naming the file(s)."""
    source: InTree = dataset.source
    path = Path(source.path)
    key = f"data.local.{dataset.name}.sha256"
    repin = f"if the change is intended, pin it again: python -m compressbench.data sha256 {path}"
    pinned_file = path / decode.MANIFEST if source.folder else path
    if not pinned_file.is_file():
        what = f"no manifest {decode.MANIFEST} in {path}" if path.is_dir() else "no such file or folder"
        raise DataError(f"{pinned_file}: {what} (data.local.{dataset.name}.path); write it: "
                        f"python -m compressbench.data sha256 {path}")
    got = decode.file_sha256(pinned_file)
    if got != source.sha256.lower():
        raise DataError(f"{pinned_file}: sha256 {got} differs from {key} {source.sha256} pinned in params.yaml: "
                        f"changed since it was pinned, so refused; {repin}")
    if source.folder:
        listed, now = decode.read_manifest(pinned_file), decode.manifest(path)
        diff = [(label, sorted(names)) for label, names in (
            ("changed", [k for k in listed.keys() & now.keys() if listed[k] != now[k]]),
            ("added", now.keys() - listed.keys()), ("removed", listed.keys() - now.keys())) if names]
        if diff:
            raise DataError(f"{path}: files differ from its pinned {decode.MANIFEST} ("
                            + "; ".join(f"{label} {_listed(names)}" for label, names in diff)
                            + f"), so refused; {repin}")


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


def check_arrays(dataset: Dataset, raw: dict[str, np.ndarray], where: Path) -> None:
    """The decoded arrays match the declaration: image shape, labels in 0..classes-1, one
    label per image, no empty split; DataError names the file and the key. (A built-in's
    checksums pin its split sizes; the tests' tiny mirrors have other sizes.)"""
    for split in decode.SPLITS:
        x, y = raw[f"x_{split}"], raw[f"y_{split}"]
        if tuple(x.shape[1:]) != tuple(dataset.input_shape):
            raise DataError(f"{where}: x_{split} holds images of shape {tuple(x.shape[1:])}; allowed: "
                            f"{tuple(dataset.input_shape)} (the dataset's declared shape)")
        if len(x) != len(y):
            raise DataError(f"{where}: {split} has {len(x)} images but {len(y)} labels")
        if len(y) == 0:
            raise DataError(f"{where}: the {split} split is empty")
        if y.min() < 0 or y.max() >= dataset.num_classes:
            raise DataError(f"{where}: y_{split} has labels {int(y.min())}..{int(y.max())}; allowed: "
                            f"0..{dataset.num_classes - 1} ({dataset.num_classes} classes)")


def location(dataset: Dataset, raw_dir: Path | None) -> Path:
    """Where a dataset's files are decoded from: its raw folder, or its path in the work tree."""
    return Path(raw_dir) if dataset.fetched else Path(dataset.source.path)


def sliced(raw: dict, sizes: dict, seed: int) -> dict:
    """A seeded subset of `sizes[split]` images of each split named (in source order); all
    of a split not named, or one smaller than its size.

    >>> x = np.arange(10); len(sliced({"x_train": x, "y_train": x}, {"train": 4}, 0)["y_train"])
    4"""
    out = dict(raw)
    for split, n in sizes.items():
        y = raw[f"y_{split}"]
        if n < len(y):
            keep = np.sort(np.random.default_rng(seed).permutation(len(y))[:n])
            out[f"x_{split}"], out[f"y_{split}"] = raw[f"x_{split}"][keep], y[keep]
    return out


def prepare(dataset: Dataset, raw_dir: Path | None, out_npz: Path, val_size: int, split_seed: int,
            slice_sizes: dict | None = None) -> dict:
    """Verify (a user's files), decode, check, slice (`slice_sizes`, data.slice), split and
    save the dataset as one npz; return the facts about it (for its record beside
    `out_npz`), among them each array's sha256, which every load checks."""
    if isinstance(dataset.source, InTree):
        verify_in_tree(dataset)
    where = location(dataset, raw_dir)
    raw = dataset.decode(where)
    check_arrays(dataset, raw, where)
    raw = sliced(raw, slice_sizes or {}, split_seed)
    if not 0 <= val_size < len(raw["y_train"]):
        raise DataError(f"data.val_size: {val_size} validation images from the {len(raw['y_train'])} training "
                        f"images of {dataset.name}; allowed: 0 <= val_size < {len(raw['y_train'])}")
    x_tr, y_tr, x_val, y_val = split(raw["x_train"], raw["y_train"], val_size, split_seed)
    arrays = {"x_train": x_tr, "y_train": y_tr, "x_val": x_val, "y_val": y_val,
              "x_test": raw["x_test"], "y_test": raw["y_test"]}
    with atomic_path(out_npz) as tmp:
        with open(tmp, "wb") as f:  # a file object: np.savez would append ".npz" to a name
            np.savez(f, **arrays)
    facts = {
        "dataset": dataset.name,
        "val_size": int(val_size),
        "split_seed": int(split_seed),
        "slice": dict(slice_sizes or {}),
        "image_shape": [int(d) for d in x_tr.shape[1:]],
        "classes": dataset.num_classes,
        "dtypes": {k: str(a.dtype) for k, a in arrays.items()},
        "counts": {s: int(len(arrays[f"y_{s}"])) for s in ("train", "val", "test")},
        "class_counts": {
            s: [int(c) for c in np.bincount(arrays[f"y_{s}"], minlength=dataset.num_classes)]
            for s in ("train", "val", "test")
        },
        "sha256": {k: _sha256(a) for k, a in arrays.items()},
    }
    if isinstance(dataset.source, InTree):
        facts["source"] = {"path": dataset.source.path, "sha256": dataset.source.sha256}
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


def main(argv: list[str]) -> int:
    """`sha256 PATH...`: the hash to pin in params.yaml for each file or image folder
    (whose manifest it writes first)."""
    if len(argv) < 2 or argv[0] != "sha256":
        print("usage: python -m compressbench.data sha256 PATH...", file=sys.stderr)
        return 2
    for arg in argv[1:]:
        if not Path(arg).exists():
            print(f"{arg}: no such file or folder", file=sys.stderr)
            return 2
        print(f"{pin(Path(arg))}  {arg}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
