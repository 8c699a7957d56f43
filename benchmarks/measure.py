#!/usr/bin/env python
"""Benchmark harness: how long the workflow takes, and where the time goes.

    python benchmarks/measure.py [--root .] [--out reports] [--skip-noop] [--skip-incremental]
                                 [--wall-seconds N] [--peak-rss-mb N] [--baseline DIR ...]

Writes <out>/benchmarks.md and <out>/benchmarks.csv (section, name, value, unit,
note; one row per measured quantity). Sections: full run per stage kind (the
Snakemake benchmark files and log), process start-up share, no-op runs,
incremental reruns (dry runs with one changed param, against counts computed
from the matrix, and the measured seconds of the jobs they would rerun),
inference latency ratios (reports/results.csv), before/after against a
previous run (--baseline) and the targets. Only the no-op and incremental sections run Snakemake / DVC, always
as dry runs or status queries: nothing in --root is built or changed.
"""
from __future__ import annotations

import argparse
import copy
import csv
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from compressbench import matrix as M, stages as S  # noqa: E402

BIN = Path(sys.executable).parent

# ---- targets ----------------------------------------------------------------
TARGET_WALL_MIN = 45.0      # full default matrix, 2 cores
TARGET_NOOP_S = 3.0         # `snakemake -n`, `dvc status` with nothing to do
TARGET_STARTUP_PCT = 15.0   # process start-up / total job seconds

# ---- section 1: benchmark files -> stage kinds ------------------------------
KINDS = ["download", "prepare", "train", "distill", "prune", "convert", "qat", "evaluate", "report"]
HEAVY = ("train", "distill", "prune", "convert", "qat")   # jobs that import TensorFlow
LIGHT = ("download", "prepare", "evaluate", "report")     # counted at the LiteRT-only cost


def stage_kind(rel_path) -> str | None:
    """The stage kind of a benchmark file, from its path relative to the root."""
    parts = Path(rel_path).parts
    if len(parts) < 3 or parts[0] != "logs" or not parts[-1].endswith(".bench.tsv"):
        return None
    phase, name = parts[1], parts[-1]
    if phase == "download":
        return "prepare" if name.endswith(".prepare.bench.tsv") else "download"
    if phase == "train_baseline":
        return "train"
    if phase in ("teacher_assistant", "student_distill"):
        return "distill"
    if phase == "quantize":
        return "convert" if name.endswith(".convert.bench.tsv") else "qat"
    if phase in ("prune", "evaluate", "report"):
        return phase
    return None


def _num(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None  # Snakemake writes NA / - for jobs too short to sample


def read_bench(path: Path) -> dict | None:
    """Seconds and max_rss (MB) of one Snakemake benchmark TSV (mean over its rows)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    secs = [v for v in (_num(r.get("s")) for r in rows) if v is not None]
    if not secs:
        return None
    rss = [v for v in (_num(r.get("max_rss")) for r in rows) if v is not None]
    return {"s": statistics.fmean(secs), "max_rss": max(rss) if rss else None}


# A fit's progress line (training.ProgressLog): "... epoch 2/5 accuracy=... (43.2 s)".
_EPOCH = re.compile(r" epoch \d+/\d+ .*\(([\d.]+) s\)\s*$", re.M)


def epoch_seconds(log_text: str) -> float:
    """Seconds a job spent inside training epochs (steps and per-epoch validation), from its log."""
    return sum(float(v) for v in _EPOCH.findall(log_text))


def collect_bench(root: Path) -> dict[str, list[dict]]:
    """Bench records per stage kind; each also carries `epoch_s` from the job's log beside it."""
    out: dict[str, list[dict]] = {k: [] for k in KINDS}
    for path in sorted(root.glob("logs/**/*.bench.tsv")):
        kind = stage_kind(path.relative_to(root))
        rec = read_bench(path) if kind else None
        if rec:
            log = path.with_name(path.name.removesuffix(".bench.tsv") + ".log")
            rec["epoch_s"] = epoch_seconds(log.read_text(errors="replace")) if log.is_file() else 0.0
            out[kind].append(rec)
    return out


def machine_memory_mb() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            kb = next(int(l.split()[1]) for l in f if l.startswith("MemTotal:"))
        return kb / 1024
    except (OSError, StopIteration, ValueError):
        return None


def summarize_bench(bench: dict[str, list[dict]]) -> dict[str, dict]:
    """Per kind: jobs, total/mean/max seconds, peak max_rss (MB). Kinds without jobs are left out."""
    out = {}
    for kind in KINDS:
        recs = bench.get(kind) or []
        if not recs:
            continue
        secs = [r["s"] for r in recs]
        rss = [r["max_rss"] for r in recs if r["max_rss"] is not None]
        out[kind] = {"jobs": len(recs), "total_s": sum(secs), "mean_s": sum(secs) / len(secs),
                     "max_s": max(secs), "peak_rss_mb": max(rss) if rss else None,
                     "epoch_s": sum(r.get("epoch_s", 0.0) for r in recs)}
    return out


_TS = re.compile(r"^\[(\w{3} \w{3} +\d{1,2} \d{2}:\d{2}:\d{2} \d{4})\]\s*$", re.M)
_STEPS = re.compile(r"^(\d+) of (\d+) steps \(100%\) done", re.M)


def _stamp(text: str) -> datetime:
    return datetime.strptime(" ".join(text.split()), "%a %b %d %H:%M:%S %Y")


def log_wall(text: str) -> dict | None:
    """Wall seconds between the first and last timestamp of a completed Snakemake log."""
    stamps = [_stamp(t) for t in _TS.findall(text)]
    done = _STEPS.search(text)
    if not stamps or not done:
        return None
    cmd = re.search(r"^\s*Command: (.*)$", text, re.M)
    return {"seconds": (stamps[-1] - stamps[0]).total_seconds(), "steps": int(done.group(2)),
            "command": cmd.group(1).strip() if cmd else None}


def core_use(text: str, cores: int) -> dict | None:
    """Replay a Snakemake log's job starts and finishes (1 s timestamps): the most and the mean
    number of jobs running, and the core-seconds left idle between the first and last timestamp."""
    events, now = [], None
    for line in text.splitlines():
        m = _TS.match(line)
        if m:
            now = _stamp(m.group(1))
        elif now is not None and line.startswith(("rule ", "localrule ")) \
                and not line.startswith(("localrule all:", "localrule phase_")):
            events.append((now, +1))
        elif now is not None and line.startswith("Finished jobid:") \
                and "Rule: all)" not in line and "Rule: phase_" not in line:
            events.append((now, -1))
    if len(events) < 2:
        return None
    start, end = events[0][0], events[-1][0]
    busy = running = peak = 0
    for (t, step), (t_next, _) in zip(events, events[1:] + [(end, 0)]):
        running += step
        peak = max(peak, running)
        busy += min(running, cores) * (t_next - t).total_seconds()
    wall = (end - start).total_seconds()
    return {"peak_running": peak, "mean_running": busy / wall if wall else 0.0,
            "idle_core_s": cores * wall - busy, "wall": wall}


def completed_log(root: Path, cores: int = os.cpu_count() or 1) -> tuple[Path, dict] | None:
    """The newest .snakemake/log/*.snakemake.log that reached "steps (100%) done": its wall
    (log_wall) and, under "use", its core use (core_use)."""
    for path in sorted(root.glob(".snakemake/log/*.snakemake.log"), reverse=True):
        text = path.read_text(errors="replace")
        if "steps (100%) done" in text:
            info = log_wall(text)
            if info:
                return path, {**info, "use": core_use(text, cores)}
    return None


# ---- the DAG as the matrix defines it (expected job counts) -----------------
TRAIN_RULE = {"teacher": "train_teacher", "student-scratch": "train_student_scratch",
              "ta": "distill_ta", "student-kd": "distill_student", "student-takd": "distill_student"}


@dataclass(frozen=True)
class Job:
    rule: str
    wildcards: tuple  # sorted (name, value) pairs
    deps: tuple       # ids of upstream jobs


def dag(cfg: dict) -> dict[tuple, Job]:
    """Every job of a run from scratch, in topological order, with its upstream jobs.

    Mirrors workflow/rules/*.smk: one convert job per model for all post-training
    schemes, one qat job per model and QAT scheme, report depends on everything."""
    m, jobs = cfg["matrix"], {}
    ptq, qat = M.ptq_schemes(cfg), M.qat_schemes(cfg)

    def add(jid, rule, deps, **wc):
        jobs[jid] = Job(rule, tuple(sorted((k, str(v)) for k, v in wc.items())), tuple(deps))
        return jid

    for ds in m["datasets"]:
        add(("download", ds), "download", [], dataset=ds)
        prep = add(("prepare", ds), "prepare", [("download", ds)], dataset=ds)
        for seed in cfg["seeds"]:
            for b in M.needed_bases(cfg):  # teachers come before their students
                deps = [prep] + ([("base", ds, seed, M.BASES[b].teacher)] if M.BASES[b].teacher else [])
                add(("base", ds, seed, b), TRAIN_RULE[b], deps, dataset=ds, seed=seed, base=b)
            for b in m["bases"]:
                for p in m["prune"]:
                    wc = dict(dataset=ds, seed=seed, base=b, prune=p)
                    model = ("base", ds, seed, b)
                    if p != "none":
                        model = add(("prune", ds, seed, b, p), "prune", [model, prep], **wc)
                    conv = add(("convert", ds, seed, b, p), "convert", [model, prep], **wc) if ptq else None
                    for q in m["quant"]:
                        src = conv if q in ptq else add(("qat", ds, seed, b, p, q), "qat", [model, prep],
                                                        **wc, quant=q)
                        add(("evaluate", ds, seed, b, p, q), "evaluate", [src, prep], **wc, quant=q)
    add(("report",), "report", list(jobs))
    add(("all",), "all", [("report",)])
    return jobs


def _count(rules) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rules:
        out[r] = out.get(r, 0) + 1
    return dict(sorted(out.items()))


def full_run_counts(cfg: dict) -> dict[str, int]:
    return _count(j.rule for j in dag(cfg).values())


def _params(rule: str, cfg: dict, wildcards: tuple):
    return S.params_for(rule, cfg, dict(wildcards)) if rule in S.RULES else None


def rerun_jobs(old: dict, new: dict) -> dict[tuple, Job]:
    """The jobs that rerun when params change from `old` to `new` (same matrix).

    A job reruns when a param it tracks (stages.RULES) resolves differently, or
    when an upstream job reruns."""
    jobs, rerun = dag(old), {}
    for jid, job in jobs.items():
        if _params(job.rule, old, job.wildcards) != _params(job.rule, new, job.wildcards) \
                or any(d in rerun for d in job.deps):
            rerun[jid] = job
    return rerun


def expected_rerun_counts(old: dict, new: dict) -> dict[str, int]:
    """Rule -> number of jobs that rerun (see rerun_jobs)."""
    return _count(j.rule for j in rerun_jobs(old, new).values())


def bench_path(job: Job) -> str | None:
    """The benchmark file a job writes (workflow/rules/*.smk): logs/<its phase>/...;
    None for the `all` target."""
    if job.rule not in S.RULES:
        return None
    w = dict(job.wildcards)
    phase = S.RULES[job.rule].phase
    if job.rule in ("download", "prepare"):
        return f"logs/{phase}/{w['dataset']}" + (".prepare" if job.rule == "prepare" else "") + ".bench.tsv"
    if job.rule == "report":
        return f"logs/{phase}/report.bench.tsv"
    stem = "+".join(w[k] for k in ("base", "prune", "quant") if k in w)
    suffix = ".convert" if job.rule == "convert" else ""
    return f"logs/{phase}/{w['dataset']}/s{w['seed']}/{stem}{suffix}.bench.tsv"


def rerun_seconds(root: Path, jobs) -> tuple[float, int]:
    """Sum of the measured seconds of `jobs` (their benchmark files), and how many had one."""
    total, found = 0.0, 0
    for job in jobs:
        path = bench_path(job)
        rec = read_bench(root / path) if path and (root / path).exists() else None
        if rec:
            total, found = total + rec["s"], found + 1
    return total, found


def get_dotted(cfg: dict, key: str):
    node = cfg
    for part in key.split("."):
        node = node[part]
    return node


def set_dotted(cfg: dict, key: str, value) -> dict:
    new = copy.deepcopy(cfg)
    *path, last = key.split(".")
    node = new
    for part in path:
        node = node[part]
    node[last] = value
    return new


def nested(key: str, value) -> dict:
    """{'a': {'b': value}} for 'a.b': an override file holding just that key."""
    for part in reversed(key.split(".")):
        value = {part: value}
    return value


# (label, dotted key, new value from old, description)
CHANGES = [
    ("quantization", "quantize.schemes.ptq-int8.calibration_samples", lambda v: v + 100, "+100"),
    ("pruning", "prune.schemes.global.sparsity", lambda v: 0.7, "-> 0.7"),
    ("kd", "distill.alpha", lambda v: 0.2, "-> 0.2"),
]


# ---- section 5: latency ratios ------------------------------------------------

def latency_ratios(rows: list[dict]) -> list[dict]:
    """Per dataset, median latency per quant scheme and per base over the dataset's
    teacher+none+float32 latency (median over seeds). Order: first appearance."""
    out, datasets = [], list(dict.fromkeys(r["dataset"] for r in rows))
    for ds in datasets:
        sub = [r for r in rows if r["dataset"] == ds and _num(r.get("latency_ms")) is not None]
        ref_vals = [float(r["latency_ms"]) for r in sub
                    if (r["base"], r["prune"], r["quant"]) == ("teacher", "none", "float32")]
        if not ref_vals:
            continue
        ref = statistics.median(ref_vals)
        for by in ("quant", "base"):
            for group in dict.fromkeys(r[by] for r in sub):
                med = statistics.median(float(r["latency_ms"]) for r in sub if r[by] == group)
                out.append({"dataset": ds, "by": by, "group": group, "n": sum(r[by] == group for r in sub),
                            "ratio": med / ref if ref > 0 else float("nan")})
    return out


# ---- section 6: before / after ---------------------------------------------------

def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def stage_totals(bench_rows: list[dict]) -> dict[str, float]:
    """Kind -> total job seconds, from a benchmarks.csv written by this script."""
    return {r["name"].rsplit(".", 1)[0]: float(r["value"]) for r in bench_rows
            if r["section"] == "full_run" and r["name"].endswith(".total") and _num(r["value"]) is not None}


def accuracy_deltas(before: list[dict], after: list[dict]) -> list[dict]:
    """Cells present in both results.csv files, with accuracy after - before in points (pp)."""
    key = lambda r: (r["dataset"], r["seed"], r["variant"])  # noqa: E731
    old = {key(r): float(r["accuracy"]) for r in before}
    out = []
    for r in after:
        if key(r) in old:
            a, b = float(r["accuracy"]), old[key(r)]
            out.append({"dataset": r["dataset"], "variant": r["variant"], "base": r["base"], "prune": r["prune"],
                        "quant": r["quant"], "before": b, "after": a, "delta_pp": 100.0 * (a - b)})
    return out


def delta_summary(deltas: list[dict]) -> dict:
    d = [x["delta_pp"] for x in deltas]
    return {"cells": len(d), "mean": statistics.fmean(d), "median_abs": statistics.median(abs(x) for x in d),
            "max_abs": max(abs(x) for x in d), "within_half": sum(abs(x) <= 0.5 for x in d),
            "within_one": sum(abs(x) <= 1.0 for x in d)}


# ---- running things -------------------------------------------------------------

def child_env(root: Path, **extra) -> dict:
    e = dict(os.environ)
    e["PATH"] = f"{BIN}{os.pathsep}{e.get('PATH', '')}"
    e["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root / "src"), e.get("PYTHONPATH")]))
    e.update({k: str(v) for k, v in extra.items()})
    return e


def timed(args, cwd: Path, env: dict, runs: int = 3):
    """Median wall seconds of `runs` runs, and the last run's CompletedProcess."""
    secs, proc = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True)
        secs.append(time.perf_counter() - t0)
    return statistics.median(secs), proc


def startup_share(jobs: dict[str, int], heavy_s: float, light_s: float, total_job_s: float):
    """Start-up seconds of every job (TF import for HEAVY kinds, LiteRT-only for the rest)
    and their share of the total job seconds, in percent."""
    n_heavy = sum(n for k, n in jobs.items() if k in HEAVY)
    n_light = sum(n for k, n in jobs.items() if k not in HEAVY)
    secs = n_heavy * heavy_s + n_light * light_s
    return secs, (100.0 * secs / total_job_s if total_job_s > 0 else None)


# ---- output -----------------------------------------------------------------------

class Report:
    def __init__(self):
        self.rows, self.md = [], []

    def row(self, section, name, value, unit, note=""):
        self.rows.append((section, name, value, unit, note))

    def line(self, text=""):
        self.md.append(text)

    def table(self, header, rows):
        self.md.append("| " + " | ".join(header) + " |")
        self.md.append("|" + "|".join("---" for _ in header) + "|")
        for r in rows:
            self.md.append("| " + " | ".join(str(c) for c in r) + " |")
        self.md.append("")

    def write(self, out: Path):
        out.mkdir(parents=True, exist_ok=True)
        (out / "benchmarks.md").write_text("\n".join(self.md).rstrip() + "\n")
        with open(out / "benchmarks.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["section", "name", "value", "unit", "note"])
            w.writerows(self.rows)


def f1(x):
    return "n/a" if x is None else f"{x:.1f}"


def f2(x):
    return "n/a" if x is None else f"{x:.2f}"


def verdict(ok):
    return "not measured" if ok is None else ("met" if ok else "not met")


def before_after(rep: "Report", base_dir: Path, root: Path, summary: dict, total_s: float,
                 wall: float | None, results: Path) -> None:
    """Section 6 against one previous run: job seconds per stage kind and wall, and the accuracy
    change of every cell present in both runs. CSV rows are named `<baseline folder>.<quantity>`."""
    label = base_dir.name
    before_bench = read_csv(base_dir / "benchmarks.csv")
    before_tot = stage_totals(before_bench)
    before_wall = next((float(r["value"]) for r in before_bench
                        if r["section"] == "full_run" and r["name"] == "wall"), None)
    shown = base_dir.relative_to(root) if base_dir.is_relative_to(root) else base_dir
    rep.line(f"### Against `{shown}`")
    rep.line()
    rep.line(f"Source: `{shown}` (a previous run's benchmarks.csv and results.csv; its README says how it "
             "was made) against section 1 and `reports/results.csv` of this run.")
    rep.line()
    rows = []
    for kind in KINDS + ["all"]:
        b = before_tot.get(kind)
        a = total_s if kind == "all" else (summary.get(kind) or {}).get("total_s")
        if a is None and b is None:
            continue
        rows.append([kind, f1(b), f1(a), "n/a" if not a or not b else f"{b / a:.2f}×"])
        rep.row("before_after", f"{label}.{kind}.job_seconds", f1(a), "s", f"before {f1(b)} s")
    if before_wall is not None or wall is not None:
        rows.append(["**wall**", f1(before_wall), f1(wall),
                     "n/a" if not wall or not before_wall else f"{before_wall / wall:.2f}×"])
        rep.row("before_after", f"{label}.wall", f1(wall), "s", f"before {f1(before_wall)} s")
    rep.table(["stage kind", "before: job s", "after: job s", "speed-up"], rows)
    deltas = accuracy_deltas(read_csv(base_dir / "results.csv"), read_csv(results)) if results.exists() else []
    if not deltas:
        return
    rep.line("Test accuracy of every cell present in both runs (LiteRT, full test set), after − "
             "before in percentage points:")
    rep.line()
    rows = []
    for ds in dict.fromkeys(d["dataset"] for d in deltas):
        sm = delta_summary([d for d in deltas if d["dataset"] == ds])
        rows.append([ds, sm["cells"], f"{sm['mean']:+.2f}", f"{sm['median_abs']:.2f}",
                     f"{sm['max_abs']:.2f}", f"{sm['within_half']}/{sm['cells']}",
                     f"{sm['within_one']}/{sm['cells']}"])
        for k in ("mean", "median_abs", "max_abs"):
            rep.row("before_after", f"{label}.{ds}.accuracy_delta.{k}", f2(sm[k]), "pp",
                    f"{sm['cells']} cells, after - before")
    rep.table(["dataset", "cells", "mean Δ pp", "median |Δ| pp", "max |Δ| pp", "|Δ| ≤ 0.5 pp",
               "|Δ| ≤ 1 pp"], rows)
    rep.line("The base models as deployed (`<base>+none+float32`):")
    rep.line()
    rep.table(["dataset", "base", "before %", "after %", "Δ pp"],
              [[d["dataset"], d["base"], f"{100 * d['before']:.2f}", f"{100 * d['after']:.2f}",
                f"{d['delta_pp']:+.2f}"] for d in deltas
               if d["prune"] == "none" and d["quant"] == "float32"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=".", help="workflow root (default: .)")
    ap.add_argument("--out", default="reports", help="output folder, relative to --root unless absolute")
    ap.add_argument("--skip-noop", action="store_true", help="do not time `snakemake -n` / `dvc status`")
    ap.add_argument("--skip-incremental", action="store_true", help="do not run the one-param dry runs")
    ap.add_argument("--wall-seconds", type=float, help="wall time of the full run, measured by the caller")
    ap.add_argument("--peak-rss-mb", type=float, help="peak RSS of the full run, measured by the caller")
    ap.add_argument("--baseline", action="append", metavar="DIR",
                    help="folder with a previous run's benchmarks.csv and results.csv; section 6 "
                         "compares against each one given (repeatable)")
    args = ap.parse_args(argv)
    root = Path(args.root).resolve()
    out = Path(args.out) if Path(args.out).is_absolute() else root / args.out
    cfg = yaml.safe_load((root / "params.yaml").read_text())
    rep, targets = Report(), []
    rep.line("# Workflow benchmarks")
    rep.line()
    rep.line(f"Written by `benchmarks/measure.py` for `{root.name}/`. Machine: {os.cpu_count()} CPUs. "
             "Every number below names its source.")
    rep.line()

    # 1 ---------------------------------------------------------------------------
    bench = collect_bench(root)
    summary = summarize_bench(bench)
    cores = os.cpu_count() or 1
    full = full_run_counts(cfg)
    rep.line("## 1. Full run, per stage kind")
    rep.line()
    rep.line("Source: Snakemake benchmark files `logs/**/*.bench.tsv` (one per job that ran; "
             "`s` = job wall seconds, `max_rss` = the job's peak resident memory). "
             "They hold the latest run of each job, whichever invocation ran it. `in epochs s` sums the "
             "`(N s)` of the epoch lines in each job's log beside its benchmark file.")
    rep.line()
    rows = []
    for kind, s in summary.items():
        rows.append([kind, s["jobs"], f1(s["total_s"]), f1(s["epoch_s"]), f1(s["mean_s"]), f1(s["max_s"]),
                     f1(s["peak_rss_mb"])])
        for name, val, unit in [("jobs", s["jobs"], "jobs"), ("total", f1(s["total_s"]), "s"),
                                ("mean", f1(s["mean_s"]), "s"), ("max", f1(s["max_s"]), "s"),
                                ("peak_max_rss", f1(s["peak_rss_mb"]), "MB")]:
            rep.row("full_run", f"{kind}.{name}", val, unit, "logs/**/*.bench.tsv")
        rep.row("full_run", f"{kind}.epoch_s", f1(s["epoch_s"]), "s", "epoch lines of logs/**/*.log")
    total_jobs = sum(s["jobs"] for s in summary.values())
    total_s = sum(s["total_s"] for s in summary.values())
    total_epoch = sum(s["epoch_s"] for s in summary.values())
    peak = max((s["peak_rss_mb"] for s in summary.values() if s["peak_rss_mb"] is not None), default=None)
    rows.append(["**all**", total_jobs, f1(total_s), f1(total_epoch),
                 f1(total_s / total_jobs if total_jobs else None),
                 f1(max((s["max_s"] for s in summary.values()), default=None)), f1(peak)])
    rep.table(["kind", "jobs", "total s", "in epochs s", "mean s", "max s", "peak max_rss MB"], rows)
    rep.row("full_run", "all.jobs", total_jobs, "jobs", "logs/**/*.bench.tsv")
    rep.row("full_run", "all.total", f1(total_s), "s", "sum of job seconds (logs/**/*.bench.tsv)")
    rep.row("full_run", "all.epoch_s", f1(total_epoch), "s", "epoch lines of logs/**/*.log")
    if total_s:
        floor = total_epoch / cores
        rep.line(f"- In epochs: {total_epoch:.0f} of the {total_s:.0f} job seconds ({100 * total_epoch / total_s:.0f} %) "
                 "are spent inside training epochs (steps and per-epoch validation; the `(N s)` of each job log's "
                 f"epoch lines). On {cores} cores those epochs alone need at least "
                 f"**{floor / 60:.1f} min** of wall, whatever the rest costs.")
        rep.line()
        rep.row("full_run", "epoch_floor", f1(floor), "s", "in-epoch seconds / cores: the wall the epochs alone need")
    expected_jobs = sum(n for r, n in full.items() if r != "all")
    rep.line(f"Benchmark files found for {total_jobs} of the {expected_jobs} jobs a full run of "
             f"`params.yaml` has.")
    rep.line()
    peaks = sorted((r["max_rss"] for recs in bench.values() for r in recs
                    if r["max_rss"] is not None), reverse=True)
    mem = machine_memory_mb()
    if peaks and mem:
        worst = sum(peaks[:cores])
        rep.line(f"- Memory: `--cores 4` runs at most {cores} one-thread jobs at once here (one `cpus` each); "
                 f"even the {cores} largest per-job peaks together take {worst:.0f} MB of the machine's "
                 f"{mem:.0f} MB ({100 * worst / mem:.0f} %).")
        rep.line()
        rep.row("full_run", "worst_concurrent_rss", f1(worst), "MB",
                f"sum of the {cores} largest job max_rss; machine {mem:.0f} MB")

    wall, wall_src, wall_full = None, None, None
    log = completed_log(root, cores)
    if args.wall_seconds is not None:
        wall, wall_src, wall_full = args.wall_seconds, "--wall-seconds (measured by the caller)", True
    elif log:
        path, info = log
        wall, wall_full = info["seconds"], info["steps"] == sum(full.values())
        wall_src = (f"`.snakemake/log/{path.name}`, first to last timestamp; {info['steps']} steps"
                    + (f"; command `{info['command']}`" if info["command"] else "")
                    + ("" if wall_full else f" (a full run from scratch has {sum(full.values())} steps)"))
    if wall is not None:
        rep.line(f"- Wall time of the run: **{wall / 60:.1f} min** ({wall:.0f} s). Source: {wall_src}.")
        rep.row("full_run", "wall", f1(wall), "s", wall_src.replace("`", ""))
    else:
        rep.line("- Wall time of the run: not available (no `.snakemake/log/*.snakemake.log` reached "
                 "\"steps (100%) done\" and no `--wall-seconds` was given).")
    use = log[1]["use"] if log else None
    if use:
        rep.line(f"- Core use: on average {use['mean_running']:.2f} jobs ran on the {cores} cores; "
                 f"{use['idle_core_s']:.0f} core-seconds ({100 * use['idle_core_s'] / (cores * use['wall']):.1f} %) "
                 f"went without a job. Source: job starts and finishes in `.snakemake/log/{log[0].name}`.")
        rep.row("full_run", "mean_jobs_running", f2(use["mean_running"]), "jobs", log[0].name)
        rep.row("full_run", "idle_core_seconds", f1(use["idle_core_s"]), "s", log[0].name)
    if args.peak_rss_mb is not None:
        rep.line(f"- Peak RSS of the run: **{args.peak_rss_mb:.1f} MB**. Source: --peak-rss-mb "
                 "(measured by the caller).")
        rep.row("full_run", "peak_rss", f1(args.peak_rss_mb), "MB", "--peak-rss-mb (measured by the caller)")
    else:
        rep.line(f"- Peak RSS of any one job: **{f1(peak)} MB**. Source: max of `max_rss` in the "
                 "benchmark files (per job, not the whole run).")
    rep.line()
    ok = None if wall is None or not wall_full else wall <= TARGET_WALL_MIN * 60
    targets.append(("Full matrix wall time on 2 cores", f"≤ {TARGET_WALL_MIN:.0f} min",
                    "n/a" if wall is None else f"{wall / 60:.1f} min"
                    + ("" if wall_full in (True, None) else " (partial run)"), verdict(ok)))

    # 2 ---------------------------------------------------------------------------
    rep.line("## 2. Process start-up share")
    rep.line()
    env = child_env(root, TF_CPP_MIN_LOG_LEVEL=3)
    heavy_s, p1 = timed([sys.executable, "-c", "import compressbench, tensorflow, tf_keras"], root, env)
    light_s, p2 = timed([sys.executable, "-c", "import compressbench.evaluate"], root, env)
    jobs = {k: s["jobs"] for k, s in summary.items()}
    st_s, pct = startup_share(jobs, heavy_s, light_s, total_s)
    n_heavy = sum(n for k, n in jobs.items() if k in HEAVY)
    n_light = total_jobs - n_heavy
    failed = [c for c, p in [("TF import", p1), ("LiteRT import", p2)] if p.returncode != 0]
    rep.line("Source: median of 3 timed runs of `python -c \"import compressbench, tensorflow, tf_keras\"` "
             "and `python -c \"import compressbench.evaluate\"` (TF_CPP_MIN_LOG_LEVEL=3), now, on this "
             "machine (slower when it is busy); job counts and job seconds from section 1.")
    rep.line()
    rep.table(["quantity", "value"], [
        ["TF start-up (train, distill, prune, convert, qat)", f"{heavy_s:.2f} s × {n_heavy} jobs"],
        ["LiteRT-only start-up (evaluate; download, prepare, report)", f"{light_s:.2f} s × {n_light} jobs"],
        ["start-up total", f"{st_s:.1f} s"],
        ["total job seconds", f"{total_s:.1f} s"],
        ["start-up share", "n/a" if pct is None else f"**{pct:.1f} %** (target ≤ {TARGET_STARTUP_PCT:.0f} %)"],
    ])
    if failed:
        rep.line(f"Warning: {', '.join(failed)} exited non-zero; its time is not a valid start-up cost.")
        rep.line()
    rep.row("startup", "tf_import", f2(heavy_s), "s", "median of 3; import compressbench, tensorflow, tf_keras")
    rep.row("startup", "litert_import", f2(light_s), "s", "median of 3; import compressbench.evaluate")
    rep.row("startup", "heavy_jobs", n_heavy, "jobs", "train+distill+prune+convert+qat bench files")
    rep.row("startup", "light_jobs", n_light, "jobs", "evaluate+download+prepare+report bench files")
    rep.row("startup", "total", f1(st_s), "s", "jobs x import time")
    rep.row("startup", "share", f1(pct), "%", "start-up / total job seconds")
    targets.append(("Process start-up share", f"≤ {TARGET_STARTUP_PCT:.0f} %",
                    "n/a" if pct is None else f"{pct:.1f} %",
                    verdict(None if pct is None else pct <= TARGET_STARTUP_PCT)))

    # 3 ---------------------------------------------------------------------------
    rep.line("## 3. No-op")
    rep.line()
    if args.skip_noop:
        rep.line("Skipped (--skip-noop).")
        rep.line()
        targets.append(("No-op `snakemake -n`", f"≤ {TARGET_NOOP_S:.0f} s", "n/a", "not measured"))
        targets.append(("No-op `dvc status`", f"≤ {TARGET_NOOP_S:.0f} s", "n/a", "not measured"))
    else:
        env = child_env(root)
        rows = []
        for label, short, cmd, idle in [
                ("snakemake -n --cores 4", "snakemake -n", [BIN / "snakemake", "-n", "--cores", "4"],
                 "Nothing to be done"),
                ("dvc status", "dvc status", [BIN / "dvc", "status"], "up to date")]:
            secs, proc = timed(cmd, root, env)
            text = proc.stdout + proc.stderr
            state = (f"error (exit {proc.returncode})" if proc.returncode else
                     "exit 0; " + ("nothing to do" if idle in text else "reports work to do"))
            rows.append([f"`{label}`", f"{secs:.2f}", state])
            rep.row("noop", label, f2(secs), "s", f"median of 3; {state}")
            targets.append((f"No-op `{short}`", f"≤ {TARGET_NOOP_S:.0f} s", f"{secs:.2f} s",
                            verdict(secs <= TARGET_NOOP_S and proc.returncode == 0)))
        rep.line(f"Source: median of 3 timed runs in `{root.name}/` now.")
        rep.line()
        rep.table(["command", "median s", "outcome"], rows)

    # 4 ---------------------------------------------------------------------------
    rep.line("## 4. Incremental reruns")
    rep.line()
    if args.skip_incremental:
        rep.line("Skipped (--skip-incremental).")
        rep.line()
        targets.append(("Incremental reruns exact", "observed = expected", "n/a", "not measured"))
    else:
        rep.line("Source: `snakemake -n --quiet rules --configfile params.yaml <override> --` in "
                 f"`{root.name}/` (the override file holds only the changed key), parsed job-count "
                 "table; expected counts from `params.yaml`'s matrix and `stages.RULES` "
                 "(`expected_rerun_counts`). One timed dry run each.")
        rep.line()
        base_secs, base = timed([BIN / "snakemake", "-n", "--quiet", "rules", "--"], root, child_env(root), runs=1)
        pending = S.planned_jobs(base.stdout) if base.returncode == 0 else None
        if pending:
            rep.line(f"Warning: the workflow is not up to date ({sum(pending.values())} jobs pending before any "
                     "change), so the observed counts include that work and cannot be exact.")
            rep.line()
        elif pending is None:
            rep.line(f"Warning: the baseline dry run failed (exit {base.returncode}).")
            rep.line()
        rep.row("incremental", "baseline.pending", "n/a" if pending is None else sum(pending.values()), "jobs",
                f"jobs planned with unchanged params; dry run {base_secs:.2f} s")
        all_equal, rows = True, []
        for label, key, change, desc in CHANGES:
            old_v = get_dotted(cfg, key)
            new_v = change(old_v)
            changed = rerun_jobs(cfg, set_dotted(cfg, key, new_v))
            expected = _count(j.rule for j in changed.values())
            cost, with_bench = rerun_seconds(root, [j for j in changed.values() if j.rule != "all"])
            with tempfile.TemporaryDirectory() as tmp:
                override = Path(tmp) / "override.yaml"
                override.write_text(yaml.safe_dump(nested(key, new_v), sort_keys=False))
                secs, proc = timed([BIN / "snakemake", "-n", "--quiet", "rules", "--configfile",
                                    "params.yaml", override, "--"], root, child_env(root), runs=1)
            observed = S.planned_jobs(proc.stdout) if proc.returncode == 0 else None
            equal = observed == expected
            all_equal &= equal
            note = f"{key} {old_v} -> {new_v}"
            for rule in sorted(set(expected) | set(observed or {})):
                obs = "error" if observed is None else observed.get(rule, 0)
                rows.append([label, rule, obs, expected.get(rule, 0),
                             "yes" if observed is not None and obs == expected.get(rule, 0) else "**no**"])
                rep.row("incremental", f"{label}.{rule}", obs, "jobs", f"{note}; expected {expected.get(rule, 0)}")
            rep.row("incremental", f"{label}.exact", int(equal), "bool", note)
            rep.row("incremental", f"{label}.dry_run", f2(secs), "s", "one dry run")
            rep.row("incremental", f"{label}.rerun_job_seconds", f1(cost), "s",
                    f"sum of the last measured run of the {with_bench} rerun jobs (bench files)")
            rep.line(f"- `{key}` {desc} ({old_v} → {new_v}): dry run {secs:.2f} s, "
                     f"{'exact' if equal else 'NOT exact'}; the {sum(expected.values()) - expected.get('all', 0)} "
                     f"jobs it reruns took {cost:.0f} job-seconds in the measured run "
                     f"(≈ {cost / 60 / max(1, os.cpu_count() or 1):.1f} min on {os.cpu_count()} cores)"
                     + ("" if proc.returncode == 0 else f" (snakemake exit {proc.returncode}: "
                        f"{(proc.stderr.strip().splitlines() or [''])[-1][:200]})"))
        rep.line()
        rep.table(["change", "rule", "observed jobs", "expected jobs", "equal"], rows)
        targets.append(("Incremental reruns exact", "observed = expected",
                        f"{sum(1 for r in rep.rows if r[1].endswith('.exact') and r[2] == 1)} of {len(CHANGES)}",
                        verdict(all_equal)))

    # 5 ---------------------------------------------------------------------------
    rep.line("## 5. Inference latency ratios")
    rep.line()
    results = root / "reports" / "results.csv"
    if results.exists():
        with open(results, newline="") as f:
            ratios = latency_ratios(list(csv.DictReader(f)))
        rep.line("Source: `reports/results.csv` (`latency_ms`, LiteRT, one thread). Median latency of "
                 "each group over its dataset's `teacher+none+float32` latency: ratios, not times.")
        rep.line()
        for by in ("quant", "base"):
            rep.table(["dataset", by, "rows", "latency / float32 teacher"],
                      [[r["dataset"], r["group"], r["n"], f"{r['ratio']:.3f}"] for r in ratios if r["by"] == by])
        for r in ratios:
            rep.row("inference", f"{r['dataset']}.{r['by']}.{r['group']}", f"{r['ratio']:.3f}", "ratio",
                    f"median of {r['n']} rows / {r['dataset']} teacher+none+float32")
    else:
        rep.line("Not available: `reports/results.csv` does not exist yet.")
        rep.line()

    # 6 ---------------------------------------------------------------------------
    rep.line("## 6. Before and after")
    rep.line()
    if not args.baseline:
        rep.line("Skipped (no --baseline).")
        rep.line()
    for base in args.baseline or ():
        before_after(rep, Path(base), root, summary, total_s, wall, results)

    # 7 ---------------------------------------------------------------------------
    rep.line("## 7. Targets")
    rep.line()
    rep.table(["target", "goal", "measured", "verdict"], [list(t) for t in targets])
    for name, goal, measured, v in targets:
        rep.row("targets", name.replace("`", ""), measured, "", f"{goal}; {v}")

    rep.write(out)
    print(f"wrote {out / 'benchmarks.md'} and {out / 'benchmarks.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
