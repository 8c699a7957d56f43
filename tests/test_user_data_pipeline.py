"""A user's datasets added from the outside (params.yaml and their files only): an .npz
and a PNG folder of other shapes and class counts run through download/prepare and a
tiny training, export and evaluation; a changed file is refused, naming it."""
import json

import numpy as np
import pytest

from compressbench import matrix as M
from fixtures import new_repo
from helpers import dvc, read_params, results, snakemake, write_params
from test_datasets import pinned, write_folder, write_npz

pytestmark = pytest.mark.slow

TINY = [{"conv": 4}, {"lrelu": 0.2}, {"pool": 2}, {"conv": 8}]


def add_user_datasets(repo):
    """What a user does: files under data/local/, entries in params.yaml."""
    npz, folder = repo / "data/local/letters.npz", repo / "data/local/shapes"
    write_npz(npz, n_train=120, n_test=30, shape=(20, 20), classes=5)
    write_folder(folder, write_npz(repo / "src.npz", n_train=110, n_test=30, shape=(12, 16, 3), classes=3),
                 ["circle", "square", "triangle"])
    (repo / "src.npz").unlink()
    cfg = read_params(repo)
    cfg["data"]["local"] = {
        "letters": {"kind": "npz", "path": "data/local/letters.npz", "sha256": pinned(npz), "shape": [20, 20, 1],
                    "classes": 5},
        "shapes": {"kind": "image-folder", "path": "data/local/shapes", "sha256": pinned(folder),
                   "shape": [12, 16, 3], "classes": ["circle", "square", "triangle"], "flip": True}}
    cfg["matrix"]["datasets"] = ["letters", "shapes"]
    for ds in ("letters", "shapes"):
        cfg["zoo"][ds] = {arch: TINY for arch in ("teacher", "ta", "student")}
        cfg["train"]["epochs"][ds] = dict(cfg["train"]["epochs"]["mnist"])
    cfg["train"]["augment"] = True  # flips on shapes only, as its entry allows
    write_params(repo, cfg)


def test_a_users_npz_and_image_folder_train_export_evaluate_and_report(tmp_path):
    repo = new_repo(tmp_path, bases=("student-scratch",), prune=("none",), quant=("float32",))
    add_user_datasets(repo)
    snakemake(repo)
    for ds, shape, classes in (("letters", [20, 20, 1], 5), ("shapes", [12, 16, 3], 3)):
        facts = json.loads((repo / f"data/prepared/{ds}.json").read_text())
        assert facts["image_shape"] == shape and len(facts["class_counts"]["test"]) == classes
        metrics = json.loads((repo / M.metrics(ds, 0, 0, "student-scratch", "none", "float32")).read_text())
        assert 0 <= metrics["accuracy"] <= 1
    with np.load(repo / "data/prepared/letters.npz") as arrays:
        assert arrays["x_test"].shape == (30, 20, 20, 1)
    rows = {(r["dataset"], r["variant"]) for r in results(repo)}
    assert rows == {("letters", "student-scratch+none+float32"), ("shapes", "student-scratch+none+float32")}

    # A changed image: prepare reruns (the file is its input) and refuses it, naming it.
    changed = sorted((repo / "data/local/shapes/train/square").glob("*.png"))[0]
    changed.write_bytes((repo / "data/local/shapes/train/circle" / sorted(
        p.name for p in (repo / "data/local/shapes/train/circle").glob("*.png"))[0]).read_bytes())
    proc = snakemake(repo, "phase_download", check=False)
    assert proc.returncode != 0
    assert (f"error in prepare [dataset=shapes]: data/local/shapes: files differ from its pinned SHA256SUMS "
            f"(changed train/square/{changed.name})") in proc.stderr


def test_under_dvc_a_users_files_are_the_download_stages_input_and_a_change_is_refused(tmp_path):
    repo = new_repo(tmp_path, bases=("student-scratch",), prune=("none",), quant=("float32",))
    add_user_datasets(repo)
    dvc(repo, "init", "--no-scm", "-q")
    dvc(repo, "repro", "download")
    assert json.loads((repo / "data/prepared/letters.json").read_text())["counts"] == {"train": 80, "val": 40,
                                                                                       "test": 30}
    assert "up to date" in dvc(repo, "status", "download").stdout
    npz = repo / "data/local/letters.npz"
    write_npz(npz, n_train=120, n_test=30, shape=(20, 20), classes=5, seed=7)  # same shape, other pixels
    assert "data/local" in dvc(repo, "status", "download").stdout
    proc = dvc(repo, "repro", "download", check=False)
    assert proc.returncode != 0
    assert "error in prepare [dataset=letters]: data/local/letters.npz: sha256" in proc.stdout + proc.stderr
