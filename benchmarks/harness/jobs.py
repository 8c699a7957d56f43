"""The jobs a run left behind: one per Snakemake benchmark file.

A bench file's rule and wildcards are those of the rule in rules.RULES whose
benchmark pattern it matches; the job's log and record paths are that rule's
patterns filled with them. Files matching no rule (an older layout), or not
among the jobs the workflow now has, are stale and left out.
"""
from __future__ import annotations

import csv
import json
import os
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from compressbench import matrix as M, progress, rules as R


@dataclass
class Job:
    rule: str
    wildcards: dict[str, str]
    bench: str                 # relative to the root
    seconds: float             # the job's wall seconds (Snakemake's `s`)
    max_rss: float | None      # MB
    epoch_s: float = 0.0       # seconds inside training epochs (its log's epoch lines)
    cpu: str | None = None     # from its record, if it writes one
    threads: int | None = None
    epochs: int = 0            # epoch lines in its log


def _regex(pattern: str) -> re.Pattern:
    """A path pattern as a regex; wildcard values hold neither "/" nor the variant separator."""
    one = f"[^/{re.escape(M.SEP)}]+"
    parts, seen, out = re.split(r"\{(\w+)\}", pattern), set(), []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(re.escape(part))
        else:
            out.append(f"(?P={part})" if part in seen else f"(?P<{part}>{one})")
            seen.add(part)
    return re.compile("".join(out) + r"\Z")


BENCH = {name: _regex(rule.benchmark) for name, rule in R.RULES.items()}
# Where every rule's benchmark lies, and how its files end.
BENCH_DIR = os.path.commonpath([r.benchmark.split("{")[0] for r in R.RULES.values()])
BENCH_SUFFIX = os.path.commonprefix([r.benchmark[::-1] for r in R.RULES.values()])[::-1]


def match(rel_path: str) -> tuple[str, dict[str, str]] | None:
    """(rule, wildcards) of the bench file at `rel_path` (relative to the root), or None."""
    for name, regex in BENCH.items():
        m = regex.match(str(rel_path))
        if m:
            return name, m.groupdict()
    return None


def number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None  # Snakemake writes NA for values it could not sample


def read_bench(path: Path) -> tuple[float, float | None] | None:
    """Mean seconds and peak max_rss (MB) of one benchmark TSV; None without seconds."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    secs = [v for v in (number(r.get("s")) for r in rows) if v is not None]
    rss = [v for v in (number(r.get("max_rss")) for r in rows) if v is not None]
    return (statistics.fmean(secs), max(rss) if rss else None) if secs else None


def _record(root: Path, rule: str, wildcards: dict) -> dict:
    outputs = R.RULES[rule].outputs
    pattern = outputs.get("record") or outputs.get("metrics")
    path = root / pattern.format(**wildcards) if pattern else None
    try:
        return json.loads(path.read_text()) if path else {}
    except (OSError, ValueError):
        return {}


def _log_epochs(root: Path, rule: str, wildcards: dict) -> tuple[float, int]:
    """Seconds inside the epochs of the job's log, and how many epoch lines it has."""
    log = root / R.RULES[rule].log.format(**wildcards)
    lines = progress.parse_epochs(log.read_text(errors="replace")) if log.is_file() else []
    return sum((e.seconds for e in lines), 0.0), len(lines)


def bench_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.glob(f"{BENCH_DIR}/**/*{BENCH_SUFFIX}"))


def collect(root: Path, planned: set[str] | None = None) -> tuple[list[Job], list[str]]:
    """The jobs of every bench file under the root, and the stale files: those matching no
    rule, or (when `planned` names the bench files the workflow has) not among them."""
    jobs, stale = [], []
    for rel in bench_files(root):
        found = match(rel)
        if not found or (planned is not None and rel not in planned):
            stale.append(rel)
            continue
        measured = read_bench(root / rel)
        if measured is None:
            continue
        rule, wc = found
        rec = _record(root, rule, wc)
        epoch_s, epochs = _log_epochs(root, rule, wc)
        jobs.append(Job(rule, wc, rel, *measured, epoch_s=epoch_s, cpu=rec.get("cpu"), threads=rec.get("threads"),
                        epochs=epochs))
    return jobs, stale


def summary(name: str, phase: str, jobs: list[Job]) -> dict:
    """Jobs, total / in-epoch / other / mean / max seconds and peak max_rss of some jobs."""
    secs = [float(j.seconds) for j in jobs]
    rss = [j.max_rss for j in jobs if j.max_rss is not None]
    epoch = sum((j.epoch_s for j in jobs), 0.0)
    return {"rule": name, "phase": phase, "jobs": len(jobs), "total": sum(secs, 0.0), "epoch_s": epoch,
            "other_s": sum(secs, 0.0) - epoch, "mean": sum(secs) / len(secs) if secs else None,
            "max": max(secs, default=None), "peak_max_rss": max(rss, default=None)}


def per_rule(jobs: list[Job]) -> list[dict]:
    """One summary row per rule with jobs (rule-table order), then `all`."""
    rows = [summary(r.name, r.phase, [j for j in jobs if j.rule == r.name]) for r in R.RULES.values()]
    return [r for r in rows if r["jobs"]] + [summary("all", "", jobs)]


def machine(cpu: str | None) -> str | None:
    """A record's CPU without its oneDNN setting (the machine, not how TensorFlow ran on it)."""
    return cpu.rsplit(" oneDNN=", 1)[0] if cpu else None


def run_machine(jobs: list[Job]) -> tuple[str | None, Counter]:
    """The CPU most jobs of the run recorded, and how many jobs recorded each CPU."""
    seen = Counter(j.cpu for j in jobs if j.cpu)
    return (seen.most_common(1)[0][0] if seen else None), seen


def seconds_of(benches: list[str], jobs: list[Job]) -> tuple[float, int, int]:
    """Job-seconds of the jobs with these bench files: measured where the run has the job,
    else the mean of the same job under other seeds (a seed not yet run). Returns
    (seconds, jobs measured, jobs estimated)."""
    by_bench = {j.bench: j.seconds for j in jobs}
    other_seeds: dict[tuple, list[float]] = {}
    for j in jobs:
        other_seeds.setdefault(_seedless(j.rule, j.wildcards), []).append(j.seconds)
    total, measured, estimated = 0.0, 0, 0
    for bench in benches:
        if bench in by_bench:
            total, measured = total + by_bench[bench], measured + 1
            continue
        found = match(bench)
        like = other_seeds.get(_seedless(*found)) if found else None
        if like:
            total, estimated = total + statistics.fmean(like), estimated + 1
    return total, measured, estimated


def _seedless(rule: str, wildcards: dict) -> tuple:
    return rule, tuple(sorted((k, v) for k, v in wildcards.items() if k != "seed"))
