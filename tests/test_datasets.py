"""The dataset catalog: built-in entries, a user's .npz and image folder declared in
params.yaml (pinned by sha256, a changed file refused naming it), validation of
dataset names against the catalog, and CIFAR-10 exported as PNGs loading to the
built-in loader's arrays."""
from __future__ import annotations

import copy
import json
import os
import re
import socket
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from compressbench import data, decode, params
from compressbench.catalog import datasets
from compressbench.data import DataError
from compressbench.paramfile import ParamsError

ROOT = Path(__file__).resolve().parents[1]


# ---- writing a user's files the way a user would -------------------------------------

def write_npz(path: Path, n_train=60, n_test=20, shape=(12, 10), classes=4, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    arrays = {"x_train": rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
              "y_train": rng.permutation(np.arange(n_train) % classes),  # every class in every split
              "x_test": rng.integers(0, 256, (n_test, *shape), dtype=np.uint8),
              "y_test": rng.permutation(np.arange(n_test) % classes)}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return arrays


def write_folder(root: Path, arrays: dict, names: list[str]) -> None:
    """train/<class>/<index>.png and test/<class>/<index>.png of the arrays (lossless)."""
    for split in decode.SPLITS:
        for i, (img, label) in enumerate(zip(arrays[f"x_{split}"], arrays[f"y_{split}"])):
            folder = root / split / names[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img).save(folder / f"{i:05d}.png")


def in_class_order(x: np.ndarray, y: np.ndarray):
    """The order an image folder loads: by class, then by file name (the source index)."""
    order = np.lexsort((np.arange(len(y)), y))
    return x[order], y[order]


def pinned(path: Path) -> str:
    """What a user pins: `python -m compressbench.data sha256 <path>` (a folder's manifest written)."""
    return data.pin(path)


@pytest.fixture
def work_tree(tmp_path, monkeypatch):
    """An empty work tree as the current folder (user paths are relative to it)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ---- the catalog -----------------------------------------------------------------------

def test_builtins_declare_shape_classes_splits_flip_and_checked_files():
    mnist, cifar = datasets.get("mnist"), datasets.get("cifar10")
    assert (mnist.input_shape, mnist.num_classes, mnist.flip) == ((28, 28, 1), 10, False)
    assert (cifar.input_shape, cifar.num_classes, cifar.flip) == ((32, 32, 3), 10, True)
    assert cifar.class_names[3] == "cat" and mnist.splits == {"train": 60000, "test": 10000}
    assert all(isinstance(c, datasets.Md5) for c in mnist.source.files.values())
    [archive] = cifar.source.files.values()
    assert isinstance(archive, datasets.TarMembers) and len(archive.members) == 6
    assert datasets.names() == ["mnist", "cifar10"]


def test_a_user_entry_becomes_a_dataset_and_its_facts_rebuild_it(work_tree):
    entry = {"kind": "image-folder", "path": "data/local/shapes", "sha256": "0" * 64, "shape": [16, 16, 3],
             "classes": ["circle", "square"], "flip": True}
    cfg = {"data": {"local": {"shapes": entry}}}
    ds = datasets.get("shapes", cfg)
    assert (ds.input_shape, ds.num_classes, ds.flip, ds.class_names) == ((16, 16, 3), 2, True, ("circle", "square"))
    assert not ds.fetched and datasets.names(cfg) == ["mnist", "cifar10", "shapes"]
    assert datasets.from_facts("shapes", ds.facts()) == ds
    assert datasets.from_facts("cifar10", datasets.get("cifar10").facts()) is datasets.get("cifar10")


# ---- a user's .npz ----------------------------------------------------------------------

def npz_dataset(path: Path, **entry) -> datasets.Dataset:
    return datasets.get("letters", {"data": {"local": {"letters": {
        "kind": "npz", "path": str(path), "sha256": pinned(path), "shape": [12, 10, 1], "classes": 4} | entry}}})


def test_a_pinned_npz_prepares_to_its_arrays_with_the_channel_axis_added(work_tree):
    path = Path("data/local/letters.npz")
    arrays = write_npz(path)
    facts = data.prepare(npz_dataset(path), None, Path("prep/letters.npz"), 10, 0)
    assert facts["counts"] == {"train": 50, "val": 10, "test": 20}
    assert facts["image_shape"] == [12, 10, 1] and facts["classes"] == 4
    assert facts["source"] == {"path": str(path), "sha256": pinned(path)}
    Path("prep/letters.json").write_text(json.dumps(facts))
    got = data.load_prepared(Path("prep/letters.npz"))
    np.testing.assert_array_equal(got["x_test"][..., 0], arrays["x_test"])
    np.testing.assert_array_equal(got["y_test"], arrays["y_test"])


def test_a_changed_npz_is_refused_naming_it_and_how_to_repin(work_tree):
    path = Path("data/local/letters.npz")
    write_npz(path)
    dataset = npz_dataset(path)
    write_npz(path, seed=1)  # the file changes after it was pinned
    with pytest.raises(DataError, match=r"data/local/letters\.npz: sha256 \w+ differs from data\.local\.letters"
                                        r"\.sha256 .*refused.*python -m compressbench\.data sha256"):
        data.prepare(dataset, None, Path("prep/letters.npz"), 10, 0)
    assert not Path("prep/letters.npz").exists()


@pytest.mark.parametrize("entry, message", [
    ({"shape": [10, 12, 1]}, r"letters\.npz: x_train holds images of shape \(12, 10, 1\); allowed: \(10, 12, 1\)"),
    ({"classes": 3}, r"letters\.npz: y_\w+ has labels 0\.\.3; allowed: 0\.\.2 \(3 classes\)"),
])
def test_an_npz_unlike_its_declaration_is_refused_naming_the_file(work_tree, entry, message):
    path = Path("data/local/letters.npz")
    write_npz(path)
    with pytest.raises(DataError, match=message):
        data.prepare(npz_dataset(path, **entry), None, Path("prep/letters.npz"), 10, 0)


# ---- a user's image folder --------------------------------------------------------------

NAMES = ["circle", "square", "triangle"]


def folder_dataset(root: Path, shape=(8, 6, 3), classes=NAMES) -> datasets.Dataset:
    return datasets.get("shapes", {"data": {"local": {"shapes": {
        "kind": "image-folder", "path": str(root), "sha256": pinned(root), "shape": list(shape),
        "classes": classes, "flip": True}}}})


def test_an_image_folder_loads_its_pngs_labelled_by_class_in_file_order(work_tree):
    root = Path("data/local/shapes")
    arrays = write_npz(Path("src.npz"), n_train=30, n_test=9, shape=(8, 6, 3), classes=3)
    write_folder(root, arrays, NAMES)
    (root / "train" / ".DS_Store").write_bytes(b"hidden files are no part of the dataset")
    got = folder_dataset(root).decode(root)
    for split in decode.SPLITS:
        x, y = in_class_order(arrays[f"x_{split}"], arrays[f"y_{split}"])
        np.testing.assert_array_equal(got[f"x_{split}"], x)
        np.testing.assert_array_equal(got[f"y_{split}"], y)
    # A number of classes means the sorted subfolders: the same labels here.
    np.testing.assert_array_equal(folder_dataset(root, classes=3).decode(root)["y_train"], got["y_train"])


def test_a_changed_image_is_refused_naming_it(work_tree):
    root = Path("data/local/shapes")
    write_folder(root, write_npz(Path("src.npz"), shape=(8, 6, 3), classes=3), NAMES)
    dataset = folder_dataset(root)
    data.prepare(dataset, None, Path("prep/shapes.npz"), 5, 0)
    changed = next((root / "test").rglob("*.png"))
    Image.fromarray(np.zeros((8, 6, 3), np.uint8)).save(changed)
    (root / "train/circle/extra.png").write_bytes(changed.read_bytes())
    with pytest.raises(DataError, match=rf"data/local/shapes: files differ from its pinned SHA256SUMS \(changed "
                                        rf"{changed.relative_to(root).as_posix()}; added train/circle/extra\.png\), "
                                        r"so refused; .*python -m compressbench\.data sha256 data/local/shapes"):
        data.prepare(dataset, None, Path("prep/shapes.npz"), 5, 0)
    (root / "SHA256SUMS").write_text(decode.manifest_text(decode.manifest(root)))  # the manifest edited to match
    with pytest.raises(DataError, match=r"shapes/SHA256SUMS: sha256 \w+ differs from data\.local\.shapes\.sha256"):
        data.prepare(dataset, None, Path("prep/shapes.npz"), 5, 0)


@pytest.mark.parametrize("damage, message", [
    (lambda root: Image.fromarray(np.zeros((7, 6, 3), np.uint8)).save(root / "train/circle/x.png"),
     r"train/circle/x\.png: 6x7 pixels; allowed: 6x8 \(the dataset's shape; images are not resized\)"),
    (lambda root: (root / "test/hexagon").mkdir(), r"shapes/test: class folders differ .*not declared: hexagon"),
    (lambda root: (root / "train/circle/notes.txt").write_text("x"), r"notes\.txt: not an image"),
])
def test_an_image_folder_unlike_its_declaration_is_refused_naming_the_file(work_tree, damage, message):
    root = Path("data/local/shapes")
    write_folder(root, write_npz(Path("src.npz"), shape=(8, 6, 3), classes=3), NAMES)
    damage(root)
    with pytest.raises(DataError, match=message):
        data.prepare(folder_dataset(root), None, Path("prep/shapes.npz"), 5, 0)


def test_sha256_command_prints_the_hash_to_pin(work_tree, capsys):
    write_npz(Path("data/local/a.npz"))
    assert data.main(["sha256", "data/local/a.npz"]) == 0
    assert capsys.readouterr().out == f"{decode.file_sha256(Path('data/local/a.npz'))}  data/local/a.npz\n"
    root = Path("data/local/shapes")
    write_folder(root, write_npz(Path("src.npz"), shape=(8, 6, 3), classes=3), NAMES)
    assert data.main(["sha256", str(root)]) == 0
    manifest = (root / "SHA256SUMS").read_text()
    assert capsys.readouterr().out == f"{decode.file_sha256(root / 'SHA256SUMS')}  {root}\n"
    assert len(manifest.splitlines()) == 80 and "  test/circle/" in manifest  # sha256sum's format
    assert data.main(["sha256", "data/local/none"]) == 2


# ---- CIFAR-10 as PNGs: the same arrays as the built-in loader -----------------------------

def cifar_raw(tmp_path: Path) -> Path:
    """The real CIFAR-10 when COMPRESSBENCH_MIRROR points at a mirror, else a tiny
    archive in its binary format (tests/fixtures.py) of 1,000 images."""
    mirror = os.environ.get("COMPRESSBENCH_MIRROR")
    if mirror and (Path(mirror) / "cifar10").is_dir():
        return Path(mirror) / "cifar10"
    from fixtures import make_mirror
    make_mirror(tmp_path / "mirror", n_train=900, n_test=100)
    return tmp_path / "mirror" / "cifar10"


def test_a_cifar10_slice_exported_as_pngs_loads_to_the_builtin_loaders_arrays(work_tree):
    cifar = datasets.get("cifar10")
    full = cifar.decode(cifar_raw(work_tree))
    arrays = {"x_train": full["x_train"][:900], "y_train": full["y_train"][:900],
              "x_test": full["x_test"][:100], "y_test": full["y_test"][:100]}
    root = Path("data/local/cifar-png")
    write_folder(root, arrays, list(cifar.class_names))
    got = folder_dataset(root, shape=cifar.input_shape, classes=list(cifar.class_names)).decode(root)
    for split in decode.SPLITS:
        x, y = in_class_order(arrays[f"x_{split}"], arrays[f"y_{split}"])
        np.testing.assert_array_equal(got[f"x_{split}"], x)
        np.testing.assert_array_equal(got[f"y_{split}"], y)
    assert len(got["y_train"]) + len(got["y_test"]) == 1000


# ---- validation: names against the catalog, before any job --------------------------------

@pytest.fixture(scope="module")
def raw_cfg() -> dict:
    return params.load_yaml(ROOT / "params.yaml")


def with_local(raw_cfg, **local) -> dict:
    cfg = copy.deepcopy(raw_cfg)
    cfg["data"]["local"] = local
    return cfg


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["matrix"]["datasets"].append("svhn"),
     "matrix.datasets[2]: 'svhn' is not a dataset; allowed: mnist, cifar10 (or declare it in data.local)"),
    (lambda c: c["data"]["sources"].update(svhn=["https://example.org/"]),
     "data.sources.svhn: not a downloaded dataset; allowed: mnist, cifar10"),
    (lambda c: c["zoo"].update(svhn=c["zoo"]["mnist"]), "zoo.svhn: 'svhn' is not a dataset"),
    (lambda c: c["train"]["epochs"].pop("cifar10"),
     "train.epochs: no entry for dataset 'cifar10' (matrix.datasets); allowed: add train.epochs.cifar10"),
])
def test_dataset_names_are_checked_against_the_catalog_naming_the_key(raw_cfg, edit, message):
    cfg = copy.deepcopy(raw_cfg)
    edit(cfg)
    with pytest.raises(ParamsError, match=re.escape(message)):
        params.validate(cfg)


def test_a_user_dataset_entry_is_checked_before_any_job(raw_cfg, work_tree):
    write_npz(Path("data/local/letters.npz"), n_train=30)
    entry = {"kind": "npz", "path": "data/local/letters.npz", "sha256": "a" * 64, "shape": [12, 10, 1], "classes": 4}
    cfg = with_local(raw_cfg, letters=entry, mnist=dict(entry), far=dict(entry, path="../far.npz"),
                     gone=dict(entry, path="data/local/gone.npz"), odd=dict(entry, kind="csv"))
    cfg["matrix"]["datasets"].append("letters")
    cfg["zoo"]["letters"], cfg["train"]["epochs"]["letters"] = cfg["zoo"]["mnist"], cfg["train"]["epochs"]["mnist"]
    cfg["data"]["val_size"] = 30
    with pytest.raises(ParamsError) as err:
        params.validate(cfg)
    msg = str(err.value)
    assert "data.local.mnist: 'mnist' is a built-in dataset; allowed: a new name" in msg
    assert "data.local.far.path: '../far.npz' is outside data/local/" in msg
    assert "data.local.gone.path: data/local/gone.npz is not a file" in msg
    assert "data.local.odd.kind: 'csv' is not a dataset kind; allowed: npz, image-folder" in msg
    assert "data.val_size: 30 exceeds the letters training split (30 images); allowed: 0 <= val_size < 30" in msg


def test_a_valid_user_dataset_resolves_with_its_facts_and_protocol_flip(raw_cfg, work_tree):
    root = Path("data/local/shapes")
    write_folder(root, write_npz(Path("src.npz"), n_train=90, shape=(8, 6, 3), classes=3), NAMES)
    entry = {"kind": "image-folder", "path": str(root), "sha256": pinned(root), "shape": [8, 6, 3],
             "classes": 3, "flip": True}
    cfg = with_local(raw_cfg, shapes=entry)
    cfg["matrix"]["datasets"] = ["shapes"]
    cfg["zoo"]["shapes"], cfg["train"]["epochs"]["shapes"] = cfg["zoo"]["cifar10"], cfg["train"]["epochs"]["cifar10"]
    cfg["data"]["val_size"] = 10
    for key in ("train", "prune.fine_tune", "cluster.fine_tune"):  # batches no larger than 80 images
        node = cfg
        for k in key.split("."):
            node = node[k]
        node["batch_size"] = 32
    cfg["quantize"]["schemes"] = {k: {**s, "batch_size": 32} if "batch_size" in s else s
                                  for k, s in cfg["quantize"]["schemes"].items()}
    cfg["derived"] = {k: d for k, d in cfg["derived"].items() if "datasets" not in d}
    cfg["matrix"]["replicates"] = []
    for limits in cfg["matrix"]["only"].values():
        limits.pop("datasets", None)
    out = params.resolve(cfg)
    assert out["datasets"]["shapes"] == datasets.get("shapes", cfg).facts()
    assert out["datasets"]["shapes"]["num_classes"] == 3
    assert out["protocols"]["shapes"]["teacher"]["flip"] is True


# ---- network bounds (issue 31) -------------------------------------------------------------

def test_a_missing_mirror_folder_is_one_line_naming_it(tmp_path):
    with pytest.raises(DataError) as err:
        data.download(datasets.get("mnist"), tmp_path / "raw", ["https://unreachable.invalid/"], str(tmp_path / "nope"))
    assert str(err.value).count("\n") == 0 and str(tmp_path / "nope") in str(err.value)
    assert not (tmp_path / "raw").exists()


def test_http_timeout_and_retries_come_from_the_environment(monkeypatch):
    assert data.http_settings() == (data.HTTP_TIMEOUT, data.HTTP_RETRIES)
    monkeypatch.setenv(data.TIMEOUT_ENV, "5")
    monkeypatch.setenv(data.RETRIES_ENV, "0")
    assert data.http_settings() == (5, 0)
    monkeypatch.setenv(data.TIMEOUT_ENV, "soon")
    with pytest.raises(DataError, match="COMPRESSBENCH_HTTP_TIMEOUT='soon'; allowed: an integer >= 1"):
        data.http_settings()


def test_an_unresponsive_http_source_fails_within_the_timeout(monkeypatch, tmp_path):
    silent = socket.socket()  # accepts connections (the backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    monkeypatch.setenv(data.TIMEOUT_ENV, "1")
    monkeypatch.setenv(data.RETRIES_ENV, "0")
    start = time.monotonic()
    try:
        with pytest.raises(DataError, match="could not obtain a verified t10k-labels-idx1-ubyte.gz"):
            mnist = datasets.get("mnist")
            one = mnist.source.with_checksums({"t10k-labels-idx1-ubyte.gz": "0" * 32})
            data.download(datasets.Dataset(**{**mnist.__dict__, "source": one}), tmp_path / "raw",
                          [f"http://127.0.0.1:{silent.getsockname()[1]}/"], None)
    finally:
        silent.close()
    assert time.monotonic() - start < 10
