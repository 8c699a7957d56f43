"""The quick look: the whole DAG on a small slice of the data, in minutes, before
committing hours to the default run.

    python -m compressbench.quicklook [--cores N] [--dry-run]   # or: make quicklook

It copies the workflow into `.quicklook/` (ignored by git and DVC) with
params.yaml narrowed by QUICK (a few thousand images, one epoch, a handful of
cells: every kind of job once), runs Snakemake there, and points to the
report it wrote, `.quicklook/reports/report.md`. Nothing outside `.quicklook/`
is written, so `snakemake -n` of the default run is unchanged afterwards. The
numbers it reports are a smoke test of the pipeline, not results.
"""
from __future__ import annotations

import argparse
import copy
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from .paramfile import load_yaml

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ".quicklook"
# What a workspace needs besides the installed package (the same list the tests copy).
COPIED = ("Snakefile", "workflow", "src", "reports/reference", "data/local", ".dvcignore")

EPOCHS = 1
BASES = ["teacher", "ta", "student-scratch", "student-kd", "student-takd"]
# params.yaml keys replaced (whole values) for the quick look.
KD = ["student-kd"]
QUICK = {
    "seeds": [0],
    # Every base once in float32; every other kind of job once, on the KD student.
    "matrix": {"datasets": ["cifar10"], "bases": BASES, "prune": ["none", "finetune", "global"],
               "cluster": ["none", "cluster-16"],
               "quant": ["float32", "ptq-int8", "qat", "float32-ft", "aeq-int4w"],
               "only": {"finetune": {"bases": KD}, "global": {"bases": KD},
                        "cluster-16": {"bases": KD, "prune": ["global"], "quant": ["float32"]},
                        "ptq-int8": {"bases": KD}, "qat": {"bases": KD, "prune": ["none"]},
                        "float32-ft": {"bases": KD, "prune": ["none"]},
                        "aeq-int4w": {"bases": KD, "prune": ["none"]}},
               "replicates": []},
    # A modern architecture under the converged family: the online teacher, BatchNorm, depthwise.
    "derived": {"mobilenet-kd": {"like": "student-kd", "arch": "mobilenet", "protocol": "converged",
                                 "quant": ["float32"]}},
    "sensitivity": {"bases": [], "sparsities": [0.5]},
    # A smoke test's timing: a few runs per thread count.
    "latency": {"warmup_runs": 2, "min_runs": 10, "check_every": 10, "tolerance": 0.5, "max_runs": 20,
                "max_seconds": 1},
}
SLICE = {"train": 3000, "test": 1000}  # images kept of each official split
VAL_SIZE = 500


def quick_params(params: dict) -> dict:
    """params.yaml narrowed to the quick look: QUICK's keys, a slice of the data, one
    epoch for every base model and fine-tune."""
    out = copy.deepcopy(params) | copy.deepcopy(QUICK)
    out["data"] = out["data"] | {"slice": dict(SLICE), "val_size": VAL_SIZE}
    for family in [out["train"], *(out.get("families") or {}).values()]:
        if "epochs" in family:
            family["epochs"] = {ds: {b: EPOCHS for b in bases} for ds, bases in family["epochs"].items()}
    for section in ("prune", "cluster"):
        out[section]["fine_tune"]["epochs"] = EPOCHS
    return out


def prepare(root: Path = ROOT, folder: Path | None = None) -> Path:
    """The quick look's workspace: the workflow and the narrowed params, fresh each time
    except for what it downloaded and prepared (data/ is kept: the slice is the same)."""
    folder = folder or root / FOLDER
    folder.mkdir(exist_ok=True)
    for name in COPIED:
        src, dst = root / name, folder / name
        if dst.is_dir():
            shutil.rmtree(dst)
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy2(src, dst)
    params = quick_params(load_yaml(root / "params.yaml"))
    (folder / "params.yaml").write_text(
        "# The quick look's params (compressbench.quicklook): generated, do not edit.\n"
        + yaml.safe_dump(params, sort_keys=False))
    return folder


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cores", default="all")
    ap.add_argument("--dry-run", action="store_true", help="plan the jobs only (snakemake -n)")
    a = ap.parse_args(argv)
    folder = prepare()
    cmd = [str(Path(sys.executable).parent / "snakemake"), "--cores", a.cores, *(["-n"] if a.dry_run else [])]
    start = time.perf_counter()
    code = subprocess.call(cmd, cwd=folder, env=os.environ)
    minutes = (time.perf_counter() - start) / 60
    if code == 0 and not a.dry_run:
        print(f"quick look done in {minutes:.1f} min: {folder / 'reports/report.md'}", file=sys.stderr)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
