"""The projection made before the run (`python -m compressbench.projection > FILE`) beside
what the run measured: the job floor, in all and per rule."""
from __future__ import annotations

import re
from pathlib import Path

from compressbench import projection as PJ

from . import jobs as J
from .render import Col, Fact, Section, Table, Target

TOLERANCE = 10.0  # % the measured job floor may differ from the projected one
_HEAD = re.compile(r"^Projection of the planned run \((\d+) jobs\) from (.+), on (\d+) cores\.", re.M)
_FLOOR = re.compile(r"^Job floor: ([\d.]+) min of the ([\d.]+)-min budget", re.M)
_NOT_COUNTED = re.compile(r"^Not counted: (\d+) jobs", re.M)


def _num(text: str) -> float | None:
    return J.number(text.replace(",", "").strip())


def parse(text: str) -> dict:
    """What the projection's markdown says: planned jobs, source, cores, job floor and budget
    (min), jobs not counted, and its per-rule table (jobs, epochs, job-s, floor min)."""
    head, floor, missing = _HEAD.search(text), _FLOOR.search(text), _NOT_COUNTED.search(text)
    out = {"jobs": int(head.group(1)) if head else None, "source": head.group(2) if head else None,
           "cores": int(head.group(3)) if head else None, "floor_min": float(floor.group(1)) if floor else None,
           "budget_min": float(floor.group(2)) if floor else None,
           "not_counted": int(missing.group(1)) if missing else 0, "rules": {}}
    header = None
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.lstrip().startswith("|") else None
        if not cells or set("".join(cells)) <= set("-: "):
            header = header if cells else None
            continue
        if header is None:
            header = cells
            continue
        row = dict(zip(header, cells))
        if {"rule", "jobs", "job-s", "floor min"} <= set(header) and "model" not in header:
            out["rules"][row["rule"]] = {"jobs": _num(row["jobs"]), "epochs": _num(row.get("epochs", "")),
                                         "job_s": _num(row["job-s"]), "floor_min": _num(row["floor min"])}
    return out


def compare(projection: dict, run_jobs: list[J.Job], cores: int) -> tuple[list[dict], float]:
    """Per rule of either (projection order, then the run's): projected and measured jobs,
    job-seconds and floor minutes, measured / projected. The measured floor counts a job's
    seconds x the threads the projection gives its rule (latency: every core), as it does.
    Returns the rows and the measured job floor (min) in that sense."""
    threads = PJ.rule_threads(cores)
    measured = {r["rule"]: r for r in J.per_rule(run_jobs) if r["rule"] != "all"}
    rows = []
    for rule in dict.fromkeys([*projection["rules"], *measured]):
        p, m = projection["rules"].get(rule, {}), measured.get(rule)
        m_floor = m["total"] * threads.get(rule, 1) / cores / 60 if m else None
        rows.append({"rule": rule, "p_jobs": p.get("jobs"), "m_jobs": m["jobs"] if m else None,
                     "p_job_s": p.get("job_s"), "m_job_s": m["total"] if m else None,
                     "p_floor": p.get("floor_min"), "m_floor": m_floor,
                     # job-s, not the rounded floor minutes: the same ratio, as both count the same threads
                     "ratio": m["total"] / p["job_s"] if m and p.get("job_s") else None})
    return rows, sum(r["m_floor"] or 0.0 for r in rows)


COLS = [Col("rule", "rule"), Col("p_jobs", "projected jobs", "jobs", 0), Col("m_jobs", "measured jobs", "jobs"),
        Col("p_job_s", "projected job-s", "s", 0), Col("m_job_s", "measured job-s", "s", 0),
        Col("p_floor", "projected floor min", "min"), Col("m_floor", "measured floor min", "min"),
        Col("ratio", "measured / projected", "ratio", 2)]


def section(text: str | None, shown: str, run_jobs: list[J.Job], cores: int) -> Section:
    s = Section("projection", "Projection against the measured job floor",
                f"`{shown}`, written by `python -m compressbench.projection` before the run (its per-rule table and "
                "its `Job floor:` line), against the run's job-seconds per rule (section 1). The measured floor is "
                "counted as the projection counts it: sum(job seconds × threads) / cores, the latency jobs "
                f"holding every core (`projection.rule_threads`); section 2's job floor counts one thread a job.")
    if text is None:
        s.notes.append(f"Not available: `{shown}` does not exist.")
        s.targets.append(Target(f"Job floor within {TOLERANCE:.0f} % of the projection", f"± {TOLERANCE:.0f} %",
                                "n/a", None))
        return s
    p = parse(text)
    rows, m_floor = compare(p, run_jobs, cores)
    plain = J.summary("all", "", run_jobs)["total"] / cores / 60
    if p["cores"] is not None and p["cores"] != cores:
        s.notes.append(f"Warning: the projection is for {p['cores']} cores, the run had {cores}.")
    if p["not_counted"]:
        s.notes.append(f"The projection left {p['not_counted']} jobs without measurements out of its floor.")
    if rows:
        s.tables.append(Table(COLS, rows, ("rule",), "projected before the run / measured"))
    ratio = m_floor / p["floor_min"] if p["floor_min"] and run_jobs else None
    if p["floor_min"] is not None:
        s.facts.append(Fact("projected_floor", p["floor_min"], "min",
                            f"Projected job floor: **{p['floor_min']:.1f} min** for {p['jobs']} planned jobs "
                            f"(of a {p['budget_min']:g}-min budget; from {p['source']}).", shown))
    if run_jobs:
        s.facts.append(Fact("measured_floor", m_floor, "min",
                            f"Measured job floor: **{m_floor:.1f} min** for {len(run_jobs)} jobs as the projection "
                            f"counts it ({plain:.1f} min at one thread a job, section 2).",
                            "sum(job s x rule threads) / cores"))
    s.facts.append(Fact("floor_ratio", ratio, "ratio",
                        f"Measured / projected: **{'n/a' if ratio is None else f'{ratio:.2f}'}**.", "", 2))
    s.targets.append(Target(f"Job floor within {TOLERANCE:.0f} % of the projection", f"± {TOLERANCE:.0f} %",
                            "n/a" if ratio is None else f"{m_floor:.1f} min vs {p['floor_min']:.1f} min projected "
                            f"({ratio:.2f}×)", None if ratio is None else abs(ratio - 1) * 100 <= TOLERANCE))
    return s


def read(path: Path | None) -> str | None:
    return path.read_text() if path is not None and path.is_file() else None
