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
