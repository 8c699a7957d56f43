"""Incremental reruns: which jobs one changed param reruns, as Snakemake plans them.

For one param of every scheme family (KD, each pruning method, each quantization
method with params, an added seed) the params with that one change are written
to a file and `snakemake -n --configfile <file> --` plans the run; its job-count
table gives the jobs (rules.planned_jobs), the benchmark file it lists for each
job gives the job-seconds that job took in the measured run.
"""
from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from compressbench import matrix as M, params as P, rules as R

from . import commands, jobs as J
from .render import Col, Section, Table, Target


def _fraction(v: float) -> float:
    return round(v - 0.1 if v >= 0.2 else v + 0.1, 4)


# The param changed per (section, method); methods without params (float32, dynamic,
# float16) have nothing to change.
PARAM = {
    ("prune", "magnitude"): ("sparsity", _fraction),
    ("prune", "global"): ("sparsity", _fraction),
    ("prune", "random"): ("sparsity", _fraction),
    ("prune", "m_by_n"): ("n", lambda n: n * 2),
    ("prune", "filters"): ("fraction", _fraction),
    ("quantize", "int8"): ("calibration_samples", lambda v: v + 100),
    ("quantize", "qat"): ("epochs", lambda v: v + 1),
    # The LiteRT Quantizer's schemes: their calibration (and validation) images.
    **{("quantize", m): ("calibration_samples", lambda v: v + 100)
       for m in ("aeq-int8-weights", "aeq-int4-weights", "aeq-static-int8", "aeq-mixed", "aeq-auto")},
}
MATRIX_KEY = {"prune": "prune", "quantize": "quant"}
CONTROLLED = {"float32-ft": "qat"}  # a control's method -> the method whose settings it must share


def _swept(scheme: dict) -> bool:
    """A sweep (a list of numbers in a setting): its values are changed one scheme at a time."""
    return any(isinstance(v, list) and v and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
               for v in scheme.values())


@dataclass(frozen=True)
class Change:
    id: str                      # CSV name stem
    family: str
    key: str                     # dotted key into params
    old: object
    new: object
    axis: str | None = None      # "prune" / "quant": the matrix axis of the one scheme it changes
    scheme: str | None = None
    controls: tuple[str, ...] = ()  # schemes that must change with it (a control trains as its scheme)


def get(cfg: dict, key: str):
    for part in key.split("."):
        cfg = cfg[part]
    return cfg


def changed(cfg: dict, key: str, value, controls=()) -> dict:
    """A deep copy of cfg with one dotted key set (and the same key of each control scheme)."""
    new = copy.deepcopy(cfg)
    *path, last = key.split(".")
    (get(new, ".".join(path)) if path else new)[last] = value
    for name in controls:
        new["quantize"]["schemes"][name][last] = value
    return new


def changes(cfg: dict) -> tuple[list[Change], list[str]]:
    """One change per scheme family of the params as written (`cfg`, sweeps not expanded),
    and what was skipped (methods without params or schemes; sweeps)."""
    out = [Change("kd", "KD", "distill.alpha", cfg["distill"]["alpha"], _fraction(cfg["distill"]["alpha"]))]
    skipped = []
    for section, axis in MATRIX_KEY.items():
        schemes = cfg[section]["schemes"]
        for method in dict.fromkeys(s["method"] for s in schemes.values()):
            in_matrix = [n for n, s in schemes.items() if s["method"] == method and n in cfg["matrix"][axis]
                         and not _swept(s)]
            if method in CONTROLLED:
                skipped.append(f"{section} method `{method}`: changes with `{CONTROLLED[method]}`, its scheme")
            elif (section, method) not in PARAM:
                skipped.append(f"{section} method `{method}`: no params")
            elif not in_matrix:
                swept = [n for n, s in schemes.items() if s["method"] == method and n in cfg["matrix"][axis]]
                skipped.append(f"{section} method `{method}`: " + (f"swept only ({', '.join(swept)})" if swept
                                                                  else "no scheme in the matrix"))
            else:
                param, step = PARAM[(section, method)]
                key, old = f"{section}.schemes.{in_matrix[0]}.{param}", schemes[in_matrix[0]][param]
                controls = tuple(n for n, s in schemes.items() if CONTROLLED.get(s["method"]) == method
                                 and n in cfg["matrix"][axis])
                out.append(Change(f"{section}.{in_matrix[0]}", f"{section}: {method}", key, old, step(old),
                                  axis, in_matrix[0], controls))
    seeds = list(cfg["seeds"])
    out.append(Change("seeds", "a training seed", "seeds", seeds, seeds + [max(seeds) + 1]))
    return out, skipped


def _cells(cfg: dict) -> list:
    return M.cells(P.resolve(copy.deepcopy(cfg), files=()))


def scheme_cells(cfg: dict, change: Change) -> int | None:
    """The cells that use the one scheme a change touches (None: not one scheme), QAT's
    integer-only exports with their scheme."""
    if change.axis is None:
        return None
    schemes = (change.scheme, *change.controls)
    return sum(getattr(c, change.axis).removesuffix(M.INT8_IO) in schemes for c in _cells(cfg))


JOBS_PER_CELL = 3  # a .tflite's export, its latency benchmark and its evaluation


def bound(cfg: dict, change: Change, cells: int | None) -> int | None:
    """The most jobs a one-scheme change may rerun: each cell's export, latency and evaluation
    and the report, plus, for a pruning scheme, its pruned and clustered models (one job each)."""
    if cells is None:
        return None
    models = {(c.dataset, c.seed, c.ft, c.base, c.cluster) for c in _cells(cfg)
              if change.axis == "prune" and c.prune == change.scheme}
    return JOBS_PER_CELL * cells + len(models) + 1


def measure_one(root: Path, cfg: dict, change: Change, run: list[J.Job], cores: int) -> dict:
    """One dry run with `change`: its jobs, their job-seconds, and the bound of a one-scheme change."""
    with tempfile.TemporaryDirectory() as tmp:
        params = Path(tmp) / "params.yaml"
        params.write_text(yaml.safe_dump(changed(cfg, change.key, change.new, change.controls), sort_keys=False))
        dry = commands.dry_run(root, configfile=params)
    secs, measured, estimated = J.seconds_of(dry.benches, run)
    cells = scheme_cells(cfg, change)
    limit = bound(cfg, change, cells)
    jobs = dry.jobs() if dry.ok else None
    return {"id": change.id, "family": change.family, "key": change.key, "change": f"{change.old} → {change.new}",
            "jobs": jobs, "rules": ", ".join(f"{r} {n}" for r, n in dry.counts.items() if r in R.RULES),
            "job_s": secs if measured + estimated else None, "wall_min": secs / cores / 60 if secs else None,
            "measured": measured, "estimated": estimated, "found": f"{measured} + {estimated}",
            "cells": cells, "bound": limit, "dry_run_s": dry.seconds, "error": dry.error,
            "ok": None if limit is None or jobs is None else jobs <= limit}


def measure(root: Path, cfg: dict, run: list[J.Job], cores: int) -> tuple[commands.DryRun, list[dict], list[str]]:
    """The dry run with nothing changed (its pending jobs), one row per change, the skipped."""
    before = commands.dry_run(root)
    found, skipped = changes(cfg)
    return before, [measure_one(root, cfg, c, run, cores) for c in found], skipped


COLS = [Col("family", "family"), Col("key", "param"), Col("change", "change"),
        Col("jobs", "jobs", "jobs"), Col("job_s", "job-seconds", "s"), Col("found", "of jobs measured + estimated"),
        Col("measured", "", "jobs"), Col("estimated", "", "jobs"), Col("wall_min", "≈ wall min", "min"),
        Col("cells", "scheme cells", "cells"), Col("bound", "≤ 3·cells (+ pruned models) + 1", "jobs"),
        Col("verdict", "within"), Col("ok", "", "bool"), Col("dry_run_s", "dry run s", "s", 2),
        Col("rules", "jobs per rule")]


def section(before: commands.DryRun, rows: list[dict], skipped: list[str], cores: int) -> Section:
    s = Section("incremental", "Incremental reruns",
                "per change, the params with that one change written to a file and "
                "`snakemake -n --configfile <file> --` run once in the root: jobs from its job-count table "
                "(`rules.planned_jobs`; target rules `all`/`phase_*` not counted), job-seconds the sum of the "
                "measured seconds of the jobs it lists (their benchmark files; jobs of a seed not yet run "
                f"count as the same job of the seeds that ran), wall ≈ job-seconds / {cores} cores. A change "
                "to one scheme must rerun at most 3 jobs per cell of that scheme (its export, its latency "
                "benchmark and its evaluation), plus, for a pruning scheme, its pruned and clustered models, "
                "plus the report.")
    pending = before.jobs() if before.ok else None
    if pending:
        s.notes.append(f"Warning: the workflow is not up to date ({pending} jobs pending with nothing changed), "
                       "so every count below includes that work.")
    elif pending is None:
        s.notes.append(f"Warning: the dry run with nothing changed failed (exit {before.returncode}: {before.error}).")
    s.notes += [f"Error in `{r['key']}`'s dry run: {r['error']}" for r in rows if r["error"]]
    if skipped:
        s.notes.append("Not changed: " + "; ".join(skipped) + ".")
    # With jobs pending, the counts are not those of the change alone: no verdicts.
    shown = [{**r, "ok": r["ok"] if pending == 0 else None} for r in rows]
    shown = [{**r, "verdict": {None: "—", True: "yes", False: "**no**"}[r["ok"]]} for r in shown]
    s.tables.append(Table(COLS, shown, ("id",), "one dry run"))
    bounded = [r for r in shown if r["bound"] is not None]
    s.targets.append(Target("One-scheme change reruns ≤ 3 × its cells (+ its pruned models) + 1 jobs", "every scheme family",
                            f"{sum(bool(r['ok']) for r in bounded)} of {len(bounded)}",
                            None if pending != 0 or not bounded else all(r["ok"] for r in bounded)))
    return s
