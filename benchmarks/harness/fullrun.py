"""The measured run: job seconds per rule, the wall and how close it is to the
epochs' floor, what the time outside epochs is, and process start-up."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from compressbench import projection

from . import commands, jobs as J, snakelog
from .render import Col, Fact, Section, Table, Target

# The brief's budget for the full default run (projection.BUDGET_MIN: 240 min of job floor on
# 2 cores of an AVX-512 CPU), about 2.5x that on AVX2-only CPUs; issue 14's wall / epoch-floor goal.
BUDGET_CORES, BUDGET_MIN, AVX2_FACTOR = 2, projection.BUDGET_MIN, 2.5
RATIO_GOAL = 1.15


def budget_minutes(cpu: str) -> float:
    """The budget on the CPU of the run (its `machine.cpu()` string names its flags)."""
    return BUDGET_MIN if "avx512f" in cpu else AVX2_FACTOR * BUDGET_MIN


@dataclass
class Run:
    jobs: list[J.Job]
    stale: list[str]             # bench files of no current job (left out)
    plan: commands.DryRun        # `snakemake -n --forceall`: every job of a run from scratch
    cores: int
    wall: float | None = None
    wall_source: str = ""
    wall_full: bool | None = None  # the wall is of a run of every job
    segments: int = 1              # the wall sums this many segments of a stopped and resumed run
    use: dict | None = None        # snakelog.core_use of the run's log
    use_source: str = ""


def gather(root: Path, cores: int, wall_seconds: float | None, wall_note: str = "", segments: int = 1) -> Run:
    plan = commands.dry_run(root, "--forceall")
    run_jobs, stale = J.collect(root, set(plan.benches) if plan.ok else None)
    run = Run(run_jobs, stale, plan, cores, segments=segments)
    steps = sum(plan.counts.values()) if plan.ok else None
    log = snakelog.completed_log(root, cores)
    if log:
        path, info = log
        run.use, run.use_source = info["use"], f"`.snakemake/log/{path.name}`"
    if wall_seconds is not None:
        run.wall, run.wall_full = wall_seconds, True
        run.wall_source = f"--wall-seconds (measured by the caller{': ' + wall_note if wall_note else ''})"
    elif log:
        run.wall, run.wall_full = info["seconds"], None if steps is None else info["steps"] == steps
        run.wall_source = (f"{run.use_source}, first to last timestamp; {info['steps']} steps"
                           + (f"; command `{info['command']}`" if info["command"] else "")
                           + ("" if run.wall_full is not False else f" (a run from scratch has {steps} steps)"))
    return run


def machine_memory_mb() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("MemTotal:")) / 1024
    except (OSError, StopIteration, ValueError):
        return None


COLS = [Col("rule", "rule"), Col("phase", "phase"), Col("jobs", "jobs", "jobs"), Col("total", "total s", "s"),
        Col("epoch_s", "in epochs s", "s"), Col("other_s", "outside epochs s", "s"), Col("mean", "mean s", "s"),
        Col("max", "max s", "s"), Col("peak_max_rss", "peak max_rss MB", "MB")]


def jobs_section(run: Run) -> Section:
    s = Section("full_run", "Full run, per rule",
                "Snakemake benchmark files (`rules.RULES[rule].benchmark`; `s` = the job's wall seconds, "
                "`max_rss` = its peak resident memory), each file's rule and wildcards those of the rule "
                "pattern it matches. They hold the latest run of each job, whichever invocation ran it. "
                "`in epochs s` sums the `(N s)` of the epoch lines (`progress.parse_epochs`) in each job's "
                "log (`rules.RULES[rule].log`).")
    rows = J.per_rule(run.jobs)
    s.tables.append(Table(COLS, rows, ("rule",), "benchmark files; epoch lines of the job logs"))
    planned = run.plan.jobs() if run.plan.ok else None
    s.facts.append(Fact("jobs_found", len(run.jobs), "jobs",
                        f"Benchmark files found for {len(run.jobs)} of the {planned if planned is not None else '?'} "
                        "jobs of a run from scratch (`snakemake -n --forceall`"
                        + ("" if run.plan.ok else f": failed, {run.plan.error}") + ").",
                        f"of {planned} planned"))
    if run.stale:
        shown = ", ".join(f"`{p}`" for p in run.stale[:3]) + (", …" if len(run.stale) > 3 else "")
        s.facts.append(Fact("stale_files", len(run.stale), "files",
                            f"Left out: {len(run.stale)} stale benchmark files (no rule's pattern, or no job the "
                            f"workflow has now): {shown}.", "not counted"))
    peaks = sorted((j.max_rss for j in run.jobs if j.max_rss is not None), reverse=True)
    mem = machine_memory_mb()
    if peaks and mem:
        worst = sum(peaks[:run.cores])
        s.facts.append(Fact("worst_concurrent_rss", worst, "MB",
                            f"Memory: the {run.cores} largest per-job peaks together take {worst:.0f} MB of the "
                            f"machine's {mem:.0f} MB ({100 * worst / mem:.0f} %).",
                            f"sum of the {run.cores} largest job max_rss; machine {mem:.0f} MB"))
    return s


def wall_section(run: Run, peak_rss_mb: float | None, cpu: str = "") -> Section:
    total = J.summary("all", "", run.jobs)
    floor = total["epoch_s"] / run.cores
    s = Section("full_run", "Wall time against the epochs",
                f"the wall of the run ({run.wall_source or 'not available'}); job-seconds and seconds inside "
                f"epochs from section 1; {run.cores} cores. The epochs alone need epoch seconds / cores of wall: "
                "a ratio near 1 leaves nothing to schedule better, the rest is the work outside epochs.")
    f = s.facts
    if run.wall is None:
        s.notes.append("Wall time not available: no `.snakemake/log/*.snakemake.log` reached \"steps (100%) done\" "
                       "and no `--wall-seconds` was given.")
    else:
        part = "" if run.wall_full is not False else " (not a run of every job)"
        f.append(Fact("wall", run.wall, "s", f"Wall: **{run.wall / 60:.1f} min** ({run.wall:.0f} s){part}.",
                      run.wall_source.replace("`", "")))
    f.append(Fact("epoch_floor", floor, "s", f"Inside epochs: {total['epoch_s']:.0f} job-seconds, which on "
                  f"{run.cores} cores need at least **{floor / 60:.1f} min** of wall (the epoch floor).",
                  "in-epoch seconds / cores"))
    jobs_floor = total["total"] / run.cores
    f.append(Fact("job_floor", jobs_floor, "s", f"All {total['jobs']} jobs: {total['total']:.0f} job-seconds, "
                  f"which on {run.cores} cores need at least **{jobs_floor / 60:.1f} min** of wall (the job floor: "
                  "a run from scratch with every core busy; a run in segments is judged by it).",
                  "all job-seconds / cores"))
    ratio = run.wall / floor if run.wall is not None and floor else None
    f.append(Fact("wall_over_epoch_floor", ratio, "ratio",
                  f"Wall / (epoch seconds / cores): **{'n/a' if ratio is None else f'{ratio:.2f}'}**.",
                  "wall / epoch_floor", 2))
    # A run stopped and resumed redoes the jobs each stop cut (and any a code change
    # between segments reran): its summed wall overstates the default's cost, so the
    # targets judge its job floor, which holds each job once.
    judged, how = (jobs_floor, f" (job floor: a run in {run.segments} segments)") if run.segments > 1 else (run.wall, "")
    judged_ratio = judged / floor if judged is not None and floor else None
    budget = budget_minutes(cpu)
    s.targets.append(Target(
        f"Full default run within the budget ({BUDGET_CORES} cores, {'AVX-512' if budget == BUDGET_MIN else 'AVX2 only'})",
        f"≤ {budget:.0f} min", "n/a" if judged is None else f"{judged / 60:.1f} min{how}",
        None if judged is None or run.cores != BUDGET_CORES else judged / 60 <= budget))
    s.targets.append(Target("Wall / (epoch seconds / cores)", f"≤ {RATIO_GOAL:.2f}",
                            "n/a" if judged_ratio is None else f"{judged_ratio:.2f}{how}",
                            None if judged_ratio is None else judged_ratio <= RATIO_GOAL))
    share = 100 * total["other_s"] / total["total"] if total["total"] else None
    f.append(Fact("non_epoch_share", share, "%",
                  f"Outside epochs: {total['other_s']:.0f} of {total['total']:.0f} job-seconds, "
                  f"**{'n/a' if share is None else f'{share:.1f}'} %** (start-up, loading, tracing, test passes, "
                  "saving, conversions, evaluations).", "job-seconds outside epochs / all job-seconds"))
    if run.use:
        u = run.use
        idle = 100 * u["idle_core_s"] / (run.cores * u["wall"]) if u["wall"] else 0.0
        f.append(Fact("mean_jobs_running", u["mean_running"], "jobs",
                      f"Core use: on average {u['mean_running']:.2f} jobs ran on the {run.cores} cores; "
                      f"{u['idle_core_s']:.0f} core-seconds ({idle:.1f} %) went without a job "
                      f"({run.use_source}, job starts and finishes).", run.use_source.replace("`", ""), 2))
        f.append(Fact("idle_core_seconds", u["idle_core_s"], "s", "", run.use_source.replace("`", "")))
    rss, src = ((peak_rss_mb, "--peak-rss-mb (measured by the caller)") if peak_rss_mb is not None
                else (total["peak_max_rss"], "the largest max_rss of one job in the benchmark files"))
    f.append(Fact("peak_rss", rss, "MB", f"Peak RSS: **{'n/a' if rss is None else f'{rss:.1f}'} MB** ({src}).", src))
    return s


def startup_rows(run: Run, imports: dict[str, dict]) -> list[dict]:
    """Per start kind: jobs, import seconds, their product, its share of the seconds outside epochs."""
    outside = J.summary("all", "", run.jobs)["other_s"]
    rows = []
    for kind, imp in imports.items():
        n = sum(commands.start_kind(j.rule) == kind for j in run.jobs)
        rows.append({"kind": kind, "imports": imp["code"], "jobs": n, "import_s": imp["seconds"],
                     "total": n * imp["seconds"], "ok": imp["ok"]})
    for r in rows:
        r["share"] = 100 * r["total"] / outside if outside > 0 else None
    return rows


def startup_section(rows: list[dict]) -> Section:
    s = Section("startup", "Process start-up",
                "median of 3 timed runs of each import line (TF_CPP_MIN_LOG_LEVEL=3), now, on this machine; "
                "a job's kind from the library modules its rule runs (`rules.RULES[rule].code`), job counts "
                "from section 1. The share is of the job-seconds outside epochs.")
    cols = [Col("kind", "kind"), Col("imports", "imports"), Col("jobs", "jobs", "jobs"),
            Col("import_s", "import s", "s", 2), Col("total", "start-up s", "s"),
            Col("share", "% of outside-epoch s", "%")]
    s.tables.append(Table(cols, rows, ("kind",)))
    s.notes += [f"Warning: `{r['imports']}` exited non-zero; its time is not a start-up cost." for r in rows
                if not r["ok"]]
    return s
