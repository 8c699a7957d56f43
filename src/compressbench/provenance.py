"""What produced the numbers: the code version, the package versions and the
wall time per Snakemake rule (from the `rule` field of each job's record).

Imports no TensorFlow: package versions come from importlib.metadata."""
from __future__ import annotations

import subprocess
from importlib import metadata

import pandas as pd

PACKAGES = ["tensorflow", "tf-keras", "tensorflow-model-optimization", "ai-edge-litert", "snakemake",
            "dvc", "numpy", "pandas"]
# The rules that write a record beside their artefact, in pipeline order.
RULES = ["train_teacher", "train_student_scratch", "distill_ta", "distill_student", "prune", "convert", "qat",
         "evaluate"]
UNKNOWN = "unknown"   # a record without a "rule" field (written before records carried one)


def code_version(root=".") -> str:
    """Short commit of the workflow root, "+ uncommitted changes" when the code differs from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=30)
        if head.returncode != 0 or not head.stdout.strip():
            return "unknown"
        status = subprocess.run(["git", "status", "--porcelain", "--", "src", "workflow", "Snakefile",
                                 "params.yaml"], cwd=root, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    dirty = status.returncode != 0 or status.stdout.strip()
    return head.stdout.strip() + (" + uncommitted changes" if dirty else "")


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def rule_times(records: list[dict]) -> pd.DataFrame:
    """Jobs and seconds per rule: RULES in order, then other rule names by name, then UNKNOWN.
    A record counts as one job; records without wall_seconds are left out."""
    df = pd.DataFrame([(r.get("rule") or UNKNOWN, float(r.get("wall_seconds", float("nan")))) for r in records],
                      columns=["rule", "seconds"])
    others = sorted(set(df["rule"]) - set(RULES) - {UNKNOWN})
    out = []
    for rule in RULES + others + [UNKNOWN]:
        s = df.loc[df["rule"] == rule, "seconds"].dropna()
        if len(s):
            out.append({"rule": rule, "jobs": len(s), "total s": s.sum(), "mean s": s.mean(), "max s": s.max()})
    return pd.DataFrame(out, columns=["rule", "jobs", "total s", "mean s", "max s"])
