"""The datasets: one declaration each, in a registry every other module reads.

A declaration says where the files come from and how they are checked, which decoder
turns them into arrays, the input shape, the classes, the official split sizes and
whether a horizontal flip keeps an image's label. Built-in datasets are registered
here (`register`); a user's own dataset is declared in params.yaml (`data.local`)
and built by the constructor registered for its `kind` (`kind`). Nothing else in
the project names a dataset.

>>> get("mnist").input_shape, get("mnist").num_classes, get("mnist").flip
((28, 28, 1), 10, False)
>>> sorted(KINDS)
['image-folder', 'npz']

A new built-in in the same format as one here is one entry, e.g. Fashion-MNIST:
`register(Dataset("fashion-mnist", (28, 28, 1), 10, False, Download({...md5s...}),
functools.partial(decode.idx_gz, train=..., test=...), ...))` plus its base URLs
in params.yaml `data.sources`.
"""
from __future__ import annotations

import functools
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

from .. import decode

# ---- how a dataset's files are obtained and checked ---------------------------------


@dataclass(frozen=True)
class Md5:
    """A downloaded file checked by its published MD5."""
    md5: str


@dataclass(frozen=True)
class TarMembers:
    """An archive checked by the MD5s of its members in `folder` (mirrors re-pack
    archives, so the archive's own bytes vary; its members must not)."""
    folder: str
    members: dict[str, str]


@dataclass(frozen=True)
class Download:
    """Files fetched into data/raw/<dataset>/, from the mirror folder
    (<mirror>/<dataset>/<file>) first, then the base URLs of params.yaml
    `data.sources.<dataset>`; each verified by its check before it lands."""
    files: dict[str, Md5 | TarMembers]
    fetched = True

    def with_checksums(self, table: dict[str, str]) -> Download:
        """The same files checked against `table` (file or member name -> md5) instead:
        MD5-checked files not in it are left out; an archive's members become the
        table's other names. For private mirrors of other data, and the tests' fixtures."""
        files = {}
        for name, check in self.files.items():
            if isinstance(check, Md5) and name in table:
                files[name] = Md5(table[name])
            elif isinstance(check, TarMembers):
                members = {m: md5 for m, md5 in table.items() if m not in self.files}
                if members:
                    files[name] = TarMembers(check.folder, members)
        return Download(files)


@dataclass(frozen=True)
class InTree:
    """A user's file or folder in the work tree (under LOCAL_ROOT), read in place and
    pinned by `sha256`: a file's own, or that of a folder's manifest (decode.MANIFEST)."""
    path: str
    sha256: str
    folder: bool
    fetched = False


LOCAL_ROOT = "data/local"  # every user dataset lives here: the download stage's DVC input


# ---- the declaration -------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    """One dataset. `decoder(location)` returns x_/y_ train and test arrays, where
    `location` is its raw folder (downloaded) or its path (in the work tree)."""
    name: str
    input_shape: tuple[int, int, int]      # height, width, channels
    num_classes: int
    flip: bool                             # a horizontal flip keeps the label (natural images)
    source: Download | InTree
    decoder: Callable[[Path], dict] = field(compare=False)
    class_names: tuple[str, ...] | None = None   # label i is class_names[i], when known
    splits: dict[str, int] | None = None   # official sizes {"train": n, "test": n}, when fixed
    kind: str = "builtin"
    description: str = ""

    @property
    def fetched(self) -> bool:
        return self.source.fetched

    def decode(self, location: Path) -> dict:
        return self.decoder(Path(location))

    def train_size(self) -> int | None:
        """Images of the training split, before the validation images are carved off:
        the official size, or counted in the user's files (headers only) when they exist."""
        if self.splits:
            return self.splits["train"]
        path = Path(self.source.path)
        try:
            return decode.count_train(path) if self.source.folder else decode.npz_length(path, "y_train")
        except (OSError, KeyError, ValueError, zipfile.BadZipFile):
            return None  # missing or unreadable: entry_errors or the prepare job names the file

    def facts(self) -> dict:
        """What a job needs to know, as plain values (the rule param `datasets/<name>`)."""
        out = {"kind": self.kind, "input_shape": list(self.input_shape), "num_classes": self.num_classes,
               "flip": self.flip, "class_names": list(self.class_names) if self.class_names else None}
        if isinstance(self.source, InTree):
            out |= {"path": self.source.path, "sha256": self.source.sha256}
        return out


BUILTIN: dict[str, Dataset] = {}


def register(dataset: Dataset) -> Dataset:
    """Add a built-in dataset to the registry (its name must be new)."""
    if dataset.name in BUILTIN:
        raise ValueError(f"dataset {dataset.name!r} is registered twice")
    BUILTIN[dataset.name] = dataset
    return dataset


# ---- the user's kinds: params.yaml data.local.<name> -> Dataset -----------------------

KINDS: dict[str, Callable[[str, dict], Dataset]] = {}


def kind(name: str):
    """Register the constructor of a user dataset kind: (name, params entry) -> Dataset."""
    def add(build):
        KINDS[name] = build
        return build
    return add


def _names_and_count(entry: dict) -> tuple[tuple[str, ...] | None, int]:
    classes = entry["classes"]
    return (tuple(classes), len(classes)) if isinstance(classes, list) else (None, int(classes))


@kind("npz")
def npz(name: str, entry: dict) -> Dataset:
    """An .npz with x_train, y_train, x_test, y_test: uint8 images (N,H,W,C), or
    (N,H,W) for one channel, and integer labels 0..classes-1."""
    shape, (names, n) = tuple(entry["shape"]), _names_and_count(entry)
    return Dataset(name, shape, n, entry.get("flip", False), InTree(entry["path"], entry["sha256"], folder=False),
                   functools.partial(decode.npz_arrays, channels=shape[-1]), names, kind="npz")


@kind("image-folder")
def image_folder(name: str, entry: dict) -> Dataset:
    """A folder with train/<class>/<image> and test/<class>/<image> (PNG, JPEG, ...):
    label = the class's index in `classes` when names are given, else in the sorted
    subfolders of train/."""
    shape, (names, n) = tuple(entry["shape"]), _names_and_count(entry)
    return Dataset(name, shape, n, entry.get("flip", False), InTree(entry["path"], entry["sha256"], folder=True),
                   functools.partial(decode.image_folder, shape=shape, classes=list(names) if names else None),
                   names, kind="image-folder")


# ---- lookups ------------------------------------------------------------------------------


def local(cfg: dict | None) -> dict:
    """The user datasets declared in `cfg` (params.yaml data.local)."""
    return ((cfg or {}).get("data") or {}).get("local") or {}


def names(cfg: dict | None = None) -> list[str]:
    """Every dataset name: the built-ins, then the user's of `cfg`."""
    return [*BUILTIN, *(n for n in local(cfg) if n not in BUILTIN)]


def get(name: str, cfg: dict | None = None) -> Dataset:
    """The dataset called `name`: a built-in, or one declared in `cfg`'s data.local."""
    if name in BUILTIN:
        return BUILTIN[name]
    entry = local(cfg).get(name)
    if entry is None:
        raise KeyError(f"unknown dataset {name!r}; allowed: {', '.join(names(cfg))}")
    return KINDS[entry["kind"]](name, entry)


def from_facts(name: str, facts: dict) -> Dataset:
    """The dataset a job's `datasets/<name>` param describes (see Dataset.facts)."""
    if facts["kind"] == "builtin":
        return BUILTIN[name]
    classes = facts["class_names"] or facts["num_classes"]
    return KINDS[facts["kind"]](name, {**facts, "shape": facts["input_shape"], "classes": classes})


def entry_errors(name: str, entry: dict) -> list[str]:
    """What is wrong with a user dataset's params entry (the schema checked its types)."""
    where = f"data.local.{name}"
    errors = []
    if name in BUILTIN:
        errors.append(f"{where}: {name!r} is a built-in dataset; allowed: a new name")
    if entry["kind"] not in KINDS:
        errors.append(f"{where}.kind: {entry['kind']!r} is not a dataset kind; allowed: {', '.join(KINDS)}")
        return errors
    path = PurePosixPath(entry["path"])
    if path.is_absolute() or ".." in path.parts or path.parts[:2] != tuple(LOCAL_ROOT.split("/")) or len(path.parts) < 3:
        return errors + [f"{where}.path: {entry['path']!r} is outside {LOCAL_ROOT}/; allowed: a path under "
                         f"{LOCAL_ROOT}/ (the folder the download stage tracks)"]
    folder = KINDS[entry["kind"]](name, entry).source.folder
    p = Path(entry["path"])
    if folder and not (p / "train").is_dir():
        errors.append(f"{where}.path: {entry['path']}/train is not a folder; allowed: a folder with "
                      "train/<class>/<image> and test/<class>/<image>")
    elif not folder and not p.is_file():
        errors.append(f"{where}.path: {entry['path']} is not a file; allowed: an .npz in the work tree")
    elif folder and not (p / decode.MANIFEST).is_file():
        errors.append(f"{where}.path: {entry['path']} has no manifest {decode.MANIFEST}; write it (and get the "
                      f"sha256 to pin): python -m compressbench.data sha256 {entry['path']}")
    elif folder and isinstance(entry["classes"], int) and len(decode.class_names(p)) != entry["classes"]:
        errors.append(f"{where}.classes: {entry['classes']} but {entry['path']}/train has "
                      f"{len(decode.class_names(p))} class folders; allowed: their number or their names")
    return errors


# ---- the built-ins ---------------------------------------------------------------------

_CIFAR_TRAIN = tuple(f"data_batch_{i}.bin" for i in range(1, 6))

register(Dataset(
    "mnist", (28, 28, 1), 10, flip=False,  # a mirrored digit is another glyph
    source=Download({  # the published MD5s of the four original gzip files
        "train-images-idx3-ubyte.gz": Md5("f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        "train-labels-idx1-ubyte.gz": Md5("d53e105ee54ea40749a09fcbcd1e9432"),
        "t10k-images-idx3-ubyte.gz": Md5("9fb629c4189551a2d022fa330f9573f3"),
        "t10k-labels-idx1-ubyte.gz": Md5("ec29112dd5afa0611ce80d1b7f02629c"),
    }),
    decoder=functools.partial(decode.idx_gz, train=("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
                              test=("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")),
    class_names=tuple("0123456789"), splits={"train": 60000, "test": 10000},
    description="handwritten digits, 28x28 grey"))

register(Dataset(
    "cifar10", (32, 32, 3), 10, flip=True,
    source=Download({"cifar-10-binary.tar.gz": TarMembers("cifar-10-batches-bin", {
        "data_batch_1.bin": "5dd7e06a14cb22eb9f671a540d1b7c25",
        "data_batch_2.bin": "5ea93a67294ea407fff1d09f752e9692",
        "data_batch_3.bin": "942cd6a4bcdd0dd3c604fbe906cb4421",
        "data_batch_4.bin": "ae636b3ba5c66a11e91e8cb52e771fcb",
        "data_batch_5.bin": "53f37980c15c3d472c316c40844f3f0d",
        "test_batch.bin": "803d5f7f4d78ea53de84dbe85f74fb6d",
    })}),
    decoder=functools.partial(decode.cifar_binary, archive="cifar-10-binary.tar.gz", inner="cifar-10-batches-bin",
                              train=_CIFAR_TRAIN, test="test_batch.bin"),
    class_names=("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    splits={"train": 50000, "test": 10000},
    description="natural images, 32x32 colour (the binary version: nothing is unpickled)"))
