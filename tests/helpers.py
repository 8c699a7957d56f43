"""Running the workflow in a throw-away copy of the repository."""
from __future__ import annotations

import csv
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from compressbench import rules

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
COPIED = ["Snakefile", "dvc.yaml", "params.yaml", "workflow", "src", "profiles", "reports/reference", ".dvcignore",
          "data/local"]


def copy_repo(dest: Path) -> Path:
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def env(**extra) -> dict:
    e = dict(os.environ)
    e["PATH"] = f"{BIN}{os.pathsep}{e['PATH']}"  # dvc stages call `snakemake`
    e.pop("COMPRESSBENCH_MIRROR", None)
    e.update({k: str(v) for k, v in extra.items()})
    return e


def run(args, cwd, check=True, **extra) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, env=env(**extra), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} failed ({proc.returncode}):\n"
                             f"{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


def snakemake(cwd, *args, check=True, **extra):
    return run([BIN / "snakemake", "--cores", "2", *args], cwd, check=check, **extra)


def dvc(cwd, *args, check=True, **extra):
    return run([BIN / "dvc", *args], cwd, check=check, **extra)


def read_params(repo: Path) -> dict:
    return yaml.safe_load((repo / "params.yaml").read_text())


def write_params(repo: Path, cfg: dict) -> None:
    (repo / "params.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))


def change(repo: Path, path: str, value) -> None:
    """Set one dotted key of the repo's params.yaml."""
    cfg = read_params(repo)
    *parents, last = path.split(".")
    node = cfg
    for p in parents:
        node = node[p]
    node[last] = value
    write_params(repo, cfg)


# Stopwatch readings: the only results.csv columns that cannot repeat (latency.benchmark's timings).
TIMING = ("wall_seconds", *(p + k for p in ("latency_", "latency_all_")
                            for k in ("ms", "ci_low_ms", "ci_high_ms", "iqr_ms", "p10_ms", "p90_ms", "runs", "converged")))


def results(repo: Path, drop=()) -> list[dict]:
    """reports/results.csv rows, without the `drop` columns."""
    with (repo / "reports/results.csv").open() as f:
        return [{k: v for k, v in row.items() if k not in drop} for row in csv.DictReader(f)]


def load_benchmark(name: str):
    """A script of benchmarks/ as a module (they are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def latest_log(repo: Path) -> str:
    """The text of the repo's newest Snakemake log."""
    return max((repo / ".snakemake/log").glob("*.snakemake.log"), key=lambda p: p.stat().st_mtime).read_text()


def planned_jobs(repo: Path, *targets, **extra) -> dict[str, int]:
    """Rule -> number of jobs a dry run would execute."""
    return rules.planned_jobs(snakemake(repo, "-n", "--quiet", "rules", "--", *targets, **extra).stdout)
