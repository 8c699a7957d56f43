"""The run's ETA from the projection, under Snakemake's own progress line.

The Snakefile's onstart adds `Eta` to Snakemake's logger (the terminal side: no job code
changes). Each job Snakemake starts (its job-info record: rule and wildcards) and finishes
is followed; after every "N of M steps done" line it writes

    ETA 21:55 (35.2 min: 41.0 job-min left on 2 cores, projected from reports/benchmarks.csv)

The work left is the projection (compressbench.projection) of the planned jobs that have no
benchmark file yet (not run before this run) or that this run started, less what is done,
and less the time the running ones have had; it is never below zero per job.
"""
from __future__ import annotations

import logging
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from . import params as P
from . import projection as J


def _key(rule: str, wildcards) -> tuple:
    return rule, frozenset((k, str(v)) for k, v in dict(wildcards or {}).items())


class Eta(logging.Handler):
    """Follows Snakemake's job-info, job-finished and progress records; writes an ETA line."""

    def __init__(self, rows: list[J.Projected], cores: int, source: str, root=".", stream=None,
                 clock=time.monotonic, now=datetime.now):
        super().__init__(logging.INFO)
        self.cost = {_key(r.job.rule, r.job.wc): (r.seconds or 0.0) * r.threads for r in rows}
        self.pending = {k for r, k in zip(rows, self.cost) if not (Path(root) / r.job.benchmark).is_file()}
        self.cores, self.source, self.stream = max(1, cores), source, stream or sys.stderr
        self.clock, self.now = clock, now
        self.started: dict = {}  # jobid -> (key, clock at start)
        self.jobs_left: int | None = None  # Snakemake's count; fewer than pending when it runs a part

    def left(self) -> float:
        """Job-seconds (x threads) the run still has to do, by the projection; scaled to
        Snakemake's count of jobs left when it runs only part of the plan (a phase target)."""
        running = {key: self.clock() - t0 for key, t0 in self.started.values()}
        total = sum(max(0.0, self.cost.get(k, 0.0) - running.get(k, 0.0)) for k in self.pending)
        if self.jobs_left is not None and 0 < self.jobs_left < len(self.pending):
            return total * self.jobs_left / len(self.pending)
        return total

    def emit(self, record: logging.LogRecord) -> None:
        event = str(getattr(record, "event", "") or "")
        if event == "job_info":
            key = _key(getattr(record, "rule_name", ""), getattr(record, "wildcards", {}))
            self.pending.add(key)
            self.started[getattr(record, "jobid", None)] = (key, self.clock())
        elif event == "job_finished":
            key, _ = self.started.pop(getattr(record, "job_id", None), (None, None))
            self.pending.discard(key)
        elif event == "progress" and getattr(record, "done", 0) < getattr(record, "total", 0):
            self.jobs_left = record.total - record.done
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    def line(self) -> str:
        left = self.left()
        wall = left / self.cores
        at = (self.now() + timedelta(seconds=wall)).strftime("%H:%M")
        cores = f"{self.cores} core{'s' * (self.cores != 1)}"
        return f"ETA {at} ({wall / 60:.1f} min: {left / 60:.1f} job-min left on {cores}, projected from {self.source})"


def install(cfg: dict, cores: int, measured="reports/benchmarks.csv", root=".") -> Eta | None:
    """Add an Eta to Snakemake's logger for the run of `cfg`, projected from `measured` (a run of
    the params committed with it); None, and one line saying why, when it cannot project."""
    path = Path(root) / measured
    if not path.exists():
        return None  # no run measured yet: nothing to project from
    try:
        costs, macs, source = J.measured(path, J.params_of_measurement(path, str(Path(root) / "params.yaml")))
    except (ValueError, OSError, KeyError, P.ParamsError) as exc:
        print(f"no ETA: {path}: {exc}", file=sys.stderr)  # another matrix's measurement: no wrong ETA
        return None
    handler = Eta(J.project(cfg, costs, macs, threads=J.rule_threads(cores)), cores, source, root)
    logging.getLogger("snakemake.logging").addHandler(handler)
    return handler
