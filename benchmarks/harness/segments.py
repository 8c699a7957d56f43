"""Busy cores over the whole run: every segment's Snakemake log replayed (a run stopped and
resumed has one .snakemake/log/*.snakemake.log per segment), busy core-seconds over the summed
wall of the segments."""
from __future__ import annotations

from pathlib import Path

from . import snakelog
from .render import Col, Fact, Section, Table, Target

GOAL = 95.0  # % of the cores busy over the run


def rows_of(logs: list[tuple[Path, dict]]) -> list[dict]:
    rows = []
    for i, (path, info) in enumerate(logs, 1):
        wall = info["wall"]
        rows.append({"segment": i, "log": path.name, "start": info["start"].isoformat(sep=" "), "wall": wall,
                     "cores": info["cores"], "jobs": info["jobs"], "ended": info["ended"],
                     "busy_core_s": info["busy_core_s"], "mean_busy": info["busy_core_s"] / wall if wall else None,
                     "share": 100 * info["busy_core_s"] / (info["cores"] * wall) if wall else None})
    return rows


COLS = [Col("segment", "segment"), Col("log", "log"), Col("start", "start"), Col("wall", "wall s", "s", 0),
        Col("cores", "cores", "cores"), Col("jobs", "jobs started", "jobs"), Col("ended", "jobs ended", "jobs"),
        Col("busy_core_s", "busy core-s", "s", 0), Col("mean_busy", "mean busy cores", "cores", 2),
        Col("share", "% busy", "%")]


def section(logs: list[tuple[Path, dict]], how: str, segments: int = 1) -> Section:
    """`logs`: (path, snakelog.busy()) of each segment, oldest first; `how`: how they were chosen."""
    s = Section("busy_cores", "Busy cores over the whole run",
                f"{how}. Each log replayed from its 1-second stamps: a job runs from its `rule` block to its "
                "`Finished jobid` (or its `Error in rule` block; a job still running at the log's last stamp, "
                "as when a segment is stopped, until then) and holds its `threads` (at most the segment's "
                "`Provided cores`); a segment's wall runs from its header's `Date:` to its last stamp.")
    rows = rows_of(logs)
    if not rows:
        s.notes.append("Not measured: no Snakemake log of a run that ran jobs (`.snakemake/log/`).")
    else:
        s.tables.append(Table(COLS, rows, ("segment",), "replayed Snakemake logs"))
    if rows and len(rows) < segments:
        s.notes.append(f"Warning: {len(rows)} log(s) for a run in {segments} segments (`--segments`): give "
                       "`--logs-since` the run's start to replay every segment.")
    wall = sum(r["wall"] for r in rows)
    capacity = sum(r["wall"] * r["cores"] for r in rows)
    busy_s = sum(r["busy_core_s"] for r in rows)
    share = 100 * busy_s / capacity if capacity else None
    if rows:
        s.facts += [
            Fact("segments", len(rows), "logs", ""),
            Fact("wall", wall, "s", f"{len(rows)} segment(s), **{wall / 60:.1f} min** of summed wall.", "", 0),
            Fact("busy_core_seconds", busy_s, "s", "", "", 0),
            Fact("mean_busy_cores", busy_s / wall if wall else None, "cores",
                 f"Busy cores over the whole run: **{busy_s / wall if wall else 0:.2f}** on average "
                 f"({busy_s:.0f} busy core-seconds / {wall:.0f} s), **{share:.1f} %** of the cores.",
                 "busy core-seconds / summed wall", 2),
            Fact("busy_share", share, "%", "", "busy core-seconds / (cores x summed wall)")]
    s.targets.append(Target("Busy cores over the whole run (all segments)", f"≥ {GOAL:.0f} % of the cores",
                            "n/a" if share is None else f"{share:.1f} % ({len(rows)} segment(s))",
                            None if share is None else share >= GOAL))
    return s


def gather(root: Path, since: str | None, cores: int) -> tuple[list[tuple[Path, dict]], str]:
    """The logs of the run: every log started at or after `since`, else the newest completed one."""
    if since:
        when = snakelog.parse_since(since)
        return (snakelog.run_logs(root, when, cores),
                "every `.snakemake/log/*.snakemake.log` that ran jobs and started at or after "
                f"{when:%Y-%m-%d %H:%M:%S} "
                f"(`--logs-since {since}`, as the logs' local time)")
    log = snakelog.completed_log(root, cores)
    if not log:
        return [], "the newest completed `.snakemake/log/*.snakemake.log` (none found)"
    path = log[0]
    info = snakelog.busy(path.read_text(errors="replace"), cores)
    return ([(path, info)] if info else []), (f"the newest completed log, `.snakemake/log/{path.name}`, alone "
                                              "(`--logs-since` replays every segment of a run)")
