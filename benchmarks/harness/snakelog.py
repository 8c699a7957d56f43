"""Snakemake's own log of a run (.snakemake/log/*.snakemake.log): its wall time, and
how many jobs ran at once, replayed from its 1-second job start and finish stamps."""
from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

_TS = re.compile(r"^\[(\w{3} \w{3} +\d{1,2} \d{2}:\d{2}:\d{2} \d{4})\]\s*$", re.M)
_STEPS = re.compile(r"^(\d+) of (\d+) steps \(100%\) done", re.M)
TARGET_RULES = ("all", "phase_")  # target rules: no work, not counted as running jobs


def _stamp(text: str) -> datetime:
    return datetime.strptime(" ".join(text.split()), "%a %b %d %H:%M:%S %Y")


def log_wall(text: str) -> dict | None:
    """Wall seconds between the first and last timestamp of a completed Snakemake log,
    its step count and its command line."""
    stamps = [_stamp(t) for t in _TS.findall(text)]
    done = _STEPS.search(text)
    if not stamps or not done:
        return None
    cmd = re.search(r"^\s*Command: (.*)$", text, re.M)
    return {"seconds": (stamps[-1] - stamps[0]).total_seconds(), "steps": int(done.group(2)),
            "command": cmd.group(1).strip() if cmd else None}


def _events(text: str) -> list[tuple[datetime, int]]:
    events, now = [], None
    for line in text.splitlines():
        m = _TS.match(line)
        if m:
            now = _stamp(m.group(1))
        elif now is None:
            continue
        elif line.startswith(("rule ", "localrule ")):
            name = line.split()[1].rstrip(":")
            if not name.startswith(TARGET_RULES):
                events.append((now, +1))
        elif line.startswith("Finished jobid:") and not any(f"Rule: {t}" in line for t in TARGET_RULES):
            events.append((now, -1))
    return events


def core_use(text: str, cores: int) -> dict | None:
    """The most and the mean number of jobs running, and the core-seconds left idle
    between the first job start and the last job finish of a Snakemake log."""
    events = _events(text)
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


PRETEND = {"--touch", "-t", "--dry-run", "--dryrun", "-n"}  # runs that ran no job


def completed_log(root: Path, cores: int = os.cpu_count() or 1) -> tuple[Path, dict] | None:
    """The newest .snakemake/log/*.snakemake.log of a run that ran its jobs (not --touch) and
    reached "steps (100%) done": its wall (log_wall) and, under "use", its core use (core_use)."""
    for path in sorted(root.glob(".snakemake/log/*.snakemake.log"), reverse=True):
        text = path.read_text(errors="replace")
        info = log_wall(text) if "steps (100%) done" in text else None
        if info and not PRETEND & set((info["command"] or "").split()):
            return path, {**info, "use": core_use(text, cores)}
    return None


# ---- every segment of a run: busy cores ------------------------------------------------

_DATE = re.compile(r"^\s*Date: (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})\s*$", re.M)
_PROVIDED = re.compile(r"^Provided cores: (\d+)", re.M)
_START = ("rule ", "localrule ", "checkpoint ", "localcheckpoint ")


def _job_spans(text: str) -> list[tuple[datetime, datetime | None, int]]:
    """(start, end or None, threads) of every job a log started (target rules left out): a job
    ends at its "Finished jobid: N" or its "Error in rule" block; `threads: N` lines (Snakemake
    prints them above 1) give its threads."""
    starts: dict[str, list] = {}
    ends: dict[str, datetime] = {}
    now = block = None
    for line in text.splitlines():
        m = _TS.match(line)
        if m:
            now, block = _stamp(m.group(1)), None
            continue
        if now is None:
            continue
        if line.startswith(_START) and line.rstrip().endswith(":"):
            name = line.split()[1].rstrip(":")
            block = None if name.startswith(TARGET_RULES) else {"kind": "start", "time": now, "threads": 1}
            if block:
                starts[f"#{len(starts)}"] = block  # keyed by its jobid once read
        elif line.startswith("Error in rule "):
            block = {"kind": "error"}
        elif line.startswith("Finished jobid:"):
            ends.setdefault(line.split()[2], now)
            block = None
        elif block is not None and line.startswith("    "):
            key, _, value = line.strip().partition(": ")
            if key == "jobid" and block["kind"] == "start":
                block["jobid"] = value.strip()
            elif key == "jobid":
                ends.setdefault(value.strip(), now)
            elif key == "threads" and value.strip().isdigit():
                block["threads"] = int(value)
        elif not line.startswith(" "):
            block = None
    return [(b["time"], ends.get(b.get("jobid", "")), b["threads"]) for b in starts.values()]


def busy(text: str, cores: int) -> dict | None:
    """A segment's wall (from its header's `Date:`, else its first stamp, to its last stamp),
    cores (its `Provided cores:`, else `cores`), jobs started and ended, and busy core-seconds:
    the threads of the running jobs, at most its cores, integrated over the wall. A job still
    running at the last stamp (a stopped segment) counts until then. None without timestamps."""
    stamps = [_stamp(t) for t in _TS.findall(text)]
    if not stamps:
        return None
    date = _DATE.search(text)
    start = min(stamps[0], datetime.strptime(date.group(1), "%Y-%m-%d %H:%M:%S")) if date else stamps[0]
    end = stamps[-1]
    provided = _PROVIDED.search(text)
    n = int(provided.group(1)) if provided else cores
    spans = _job_spans(text)
    events = sorted([(s, t) for s, _, t in spans] + [(e or end, -t) for _, e, t in spans])
    busy_s, running = 0.0, 0
    for (t, step), (t_next, _) in zip(events, events[1:] + [(end, 0)]):
        running += step
        busy_s += min(running, n) * max((t_next - t).total_seconds(), 0.0)
    wall = (end - start).total_seconds()
    return {"start": start, "end": end, "wall": wall, "cores": n, "jobs": len(spans),
            "ended": sum(e is not None for _, e, _ in spans), "busy_core_s": busy_s}


def parse_since(text: str) -> datetime:
    """An ISO time as the logs' local wall-clock time (naive); one with a zone or Z is converted."""
    when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return when.astimezone().replace(tzinfo=None) if when.tzinfo else when


def run_logs(root: Path, since: datetime, cores: int = os.cpu_count() or 1) -> list[tuple[Path, dict]]:
    """Every .snakemake/log/*.snakemake.log that started at or after `since` and ran jobs (not
    --touch, not a dry run), oldest first, with its busy() replay: the segments of a run."""
    out = []
    for path in sorted(root.glob(".snakemake/log/*.snakemake.log")):
        text = path.read_text(errors="replace")
        cmd = re.search(r"^\s*Command: (.*)$", text, re.M)
        if cmd and PRETEND & set(cmd.group(1).split()):
            continue
        info = busy(text, cores)
        if info and info["jobs"] and info["start"] >= since:
            out.append((path, info))
    return out
