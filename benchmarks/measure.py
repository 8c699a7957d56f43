#!/usr/bin/env python
"""Benchmark harness: how long the workflow takes, and where the time goes.

    python benchmarks/measure.py [--root .] [--out reports] [--skip-noop] [--skip-incremental]
                                 [--wall-seconds N [--wall-note TEXT] [--segments N]] [--peak-rss-mb N] [--cores N]
                                 [--step-times reports/step-times.csv] [--baseline DIR ...]
                                 [--attainable reports/attainable.csv] [--quicklook-seconds N]
                                 [--projection FILE] [--logs-since ISO-TIME]

Writes <out>/benchmarks.md and <out>/benchmarks.csv (section, name, value, unit,
note; one row per measured quantity). Each measurement (benchmarks/harness/)
returns rows and the section that shows them; harness.render writes both files.
Only Snakemake dry runs, `dvc status` and imports are run: nothing in --root is
built or changed. benchmarks/README.md says what each section measures and how.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "src")]

import yaml  # noqa: E402

from harness import (commands, compare, flops, fullrun, incremental, projected, quicklook, render,  # noqa: E402
                     segments, steptimes)
from harness.jobs import per_rule, run_machine  # noqa: E402
from harness.snakelog import core_use  # noqa: E402,F401  (tests/test_pipeline.py uses it)


def parse(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=".", help="workflow root (default: .)")
    ap.add_argument("--out", default="reports", help="output folder, relative to --root unless absolute")
    ap.add_argument("--skip-noop", action="store_true", help="do not time `snakemake -n` / `dvc status`")
    ap.add_argument("--skip-incremental", action="store_true", help="do not run the one-param dry runs")
    ap.add_argument("--wall-seconds", type=float, help="wall time of the full run, measured by the caller")
    ap.add_argument("--wall-note", default="", help="how the caller measured --wall-seconds (e.g. a run in segments)")
    ap.add_argument("--segments", type=int, default=1,
                    help="how many segments of a stopped and resumed run --wall-seconds sums; above 1 the "
                         "budget and ratio targets judge the job floor, which redone work does not inflate")
    ap.add_argument("--peak-rss-mb", type=float, help="peak RSS of the full run, measured by the caller")
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 1,
                    help="cores the run had (default: this machine's)")
    ap.add_argument("--step-times", default="reports/step-times.csv",
                    help="CSV of benchmarks/step_time.py --csv, relative to --root unless absolute")
    ap.add_argument("--baseline", action="append", metavar="DIR",
                    help="folder with a previous run's benchmarks.csv and results.csv; a before/after "
                         "section against each one given (repeatable)")
    ap.add_argument("--attainable", default="reports/attainable.csv",
                    help="CSV of benchmarks/attainable.py --csv (the machine's GFLOP/s), relative to --root unless "
                         "absolute")
    ap.add_argument("--quicklook-seconds", type=float,
                    help="wall of `make quicklook`, measured by the caller (e.g. `time make quicklook`)")
    ap.add_argument("--projection", help="markdown written by `python -m compressbench.projection` before the "
                                         "run (e.g. benchmarks/run9/projection-before.md), relative to --root "
                                         "unless absolute")
    ap.add_argument("--logs-since", metavar="ISO-TIME",
                    help="replay every .snakemake/log/*.snakemake.log that ran jobs and started at or after this "
                         "time (the run's start; a zone or Z is converted to the logs' local time): the busy "
                         "cores of all the run's segments (default: the newest completed log alone)")
    return ap.parse_args(argv)


def _under(root: Path, path: str) -> Path:
    return Path(path) if Path(path).is_absolute() else root / path


def _shown(root: Path, path: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _resolved(root: Path) -> dict | None:
    """The run's params as jobs see them (sweeps expanded, protocols added), or None."""
    from compressbench import params
    try:
        return params.load(str(root / "params.yaml"))
    except (params.ParamsError, OSError):
        return None


def sections(args, root: Path) -> list[render.Section]:
    cfg = yaml.safe_load((root / "params.yaml").read_text())
    run = fullrun.gather(root, args.cores, args.wall_seconds, args.wall_note, args.segments)
    cpu, _ = run_machine(run.jobs)
    cpu_source = "the records of the run's jobs"
    if cpu is None:
        from compressbench import machine  # no records: the machine measuring now
        cpu, cpu_source = machine.cpu(), "no records: this machine, now"
    out = [fullrun.jobs_section(run), fullrun.wall_section(run, args.peak_rss_mb, cpu),
           segments.section(*segments.gather(root, args.logs_since, args.cores), args.segments)]
    if args.projection:
        proj = _under(root, args.projection)
        out.append(projected.section(projected.read(proj), _shown(root, proj), run.jobs, args.cores))
    out += [fullrun.startup_section(fullrun.startup_rows(run, commands.import_seconds(root))),
            commands.noop_section(None if args.skip_noop else commands.noop(root))]
    if args.skip_incremental:
        out.append(render.Section("incremental", "Incremental reruns", notes=["Skipped (--skip-incremental)."]))
    else:
        out.append(incremental.section(*incremental.measure(root, cfg, run.jobs, args.cores), args.cores))
    step_csv = _under(root, args.step_times)
    out.append(steptimes.section(step_csv, _shown(root, step_csv), cpu, cpu_source))
    results = root / "reports" / "results.csv"
    att_csv = _under(root, args.attainable)
    out.append(flops.section(*flops.gather(root, _resolved(root), run.jobs, results), flops.read_attainable(att_csv),
                             _shown(root, att_csv), cpu, cpu_source))
    out.append(quicklook.section(args.quicklook_seconds, args.cores, cpu))
    out.append(compare.latency_section(results))
    totals = {r["rule"]: r["total"] for r in per_rule(run.jobs)}  # and "all"
    for base in args.baseline or ():
        base_dir = _under(root, base).resolve()
        out.append(compare.before_after(base_dir, _shown(root, base_dir), totals, run.wall, results))
    return out


def main(argv=None) -> int:
    args = parse(argv)
    root = Path(args.root).resolve()
    out = _under(root, args.out)
    intro = (f"Written by `benchmarks/measure.py` for `{root.name}/` on {os.cpu_count()} CPUs "
             f"(the run: {args.cores} cores). Every number names its source.")
    render.write(out, "Workflow benchmarks", intro, sections(args, root))
    print(f"wrote {out / 'benchmarks.md'} and {out / 'benchmarks.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
