"""Running Snakemake, DVC and Python in the workflow root, timed. Only dry runs and
status queries: nothing in the root is built or changed."""
from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from compressbench import rules as R

from .render import Col, Section, Table, Target

BIN = Path(sys.executable).parent


def child_env(root: Path, **extra) -> dict:
    e = dict(os.environ)
    e["PATH"] = f"{BIN}{os.pathsep}{e.get('PATH', '')}"
    e["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root / "src"), e.get("PYTHONPATH")]))
    e.update({k: str(v) for k, v in extra.items()})
    return e


def timed(args, cwd: Path, env: dict | None = None, runs: int = 3):
    """Median wall seconds of `runs` runs, and the last run's CompletedProcess."""
    secs, proc = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run([str(a) for a in args], cwd=cwd, env=env or child_env(cwd),
                              capture_output=True, text=True)
        secs.append(time.perf_counter() - t0)
    return statistics.median(secs), proc


@dataclass
class DryRun:
    command: str
    seconds: float
    returncode: int
    counts: dict[str, int] = field(default_factory=dict)   # rule -> jobs (rules.planned_jobs)
    benches: list[str] = field(default_factory=list)       # the planned jobs' benchmark files
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def jobs(self) -> int:
        """Planned jobs without the target rules (`all`, `phase_*`), which do no work."""
        return sum(n for rule, n in self.counts.items() if rule in R.RULES)


_BENCH_LINE = re.compile(r"^\s+benchmark: (\S.*?)\s*$", re.M)


def planned_benches(dry_run_stdout: str) -> list[str]:
    """The benchmark file of every job a (not --quiet rules) dry run lists."""
    return _BENCH_LINE.findall(dry_run_stdout)


def dry_run(root: Path, *args, configfile: Path | None = None) -> DryRun:
    """`snakemake -n [--configfile F] ARGS --` in the root, once: its job-count table and the
    benchmark file of every job it lists (Snakemake prints each planned job's `benchmark:`)."""
    cmd = ["snakemake", "-n", *args, *(["--configfile", configfile] if configfile else []), "--"]
    secs, proc = timed([BIN / cmd[0], *cmd[1:]], root, runs=1)
    shown = " ".join(str(c) for c in cmd)
    if proc.returncode:
        tail = (proc.stderr.strip().splitlines() or [""])[-1][:200]
        return DryRun(shown, secs, proc.returncode, error=tail)
    return DryRun(shown, secs, 0, R.planned_jobs(proc.stdout), planned_benches(proc.stdout))


# ---- no-op: the workflow up to date ---------------------------------------------------

NOOP = [  # label, command, what it prints when there is nothing to do, target seconds
    ("snakemake -n", ["snakemake", "-n"], "Nothing to be done", 3.0),
    ("dvc status", ["dvc", "status"], "up to date", 1.0),
]


def noop(root: Path) -> list[dict]:
    """Median of 3 timed runs of each no-op command: seconds, outcome, target, met."""
    rows = []
    for label, cmd, idle, target in NOOP:
        secs, proc = timed([BIN / cmd[0], *cmd[1:]], root)
        text = proc.stdout + proc.stderr
        outcome = (f"error (exit {proc.returncode})" if proc.returncode else
                   "exit 0; " + ("nothing to do" if idle in text else "reports work to do"))
        rows.append({"command": label, "seconds": secs, "outcome": outcome, "target_s": target,
                     "ok": proc.returncode == 0 and secs <= target})
    return rows


# ---- process start-up ----------------------------------------------------------------

IMPORTS = {  # what a job's process imports before it works
    "tensorflow": "import compressbench, tensorflow, tf_keras",
    "litert": "import compressbench.evaluate",
    "python": "import compressbench",
}
TF_MODULES = {"models", "training", "quantize", "prune", "distill"}  # modules importing TensorFlow


def start_kind(rule: str) -> str:
    """What a rule's job imports, from the library modules it runs (rules.RULES[rule].code)."""
    code = set(R.RULES[rule].code)
    return "tensorflow" if code & TF_MODULES else ("litert" if "evaluate" in code else "python")


def import_seconds(root: Path) -> dict[str, dict]:
    """Median of 3 timed imports per start kind: seconds and whether it exited 0."""
    env = child_env(root, TF_CPP_MIN_LOG_LEVEL=3)
    out = {}
    for kind, code in IMPORTS.items():
        secs, proc = timed([sys.executable, "-c", code], root, env)
        out[kind] = {"seconds": secs, "ok": proc.returncode == 0, "code": code}
    return out


def noop_section(rows: list[dict] | None) -> Section:
    s = Section("noop", "No-op", "median of 3 timed runs of each command in the root, now, with nothing changed.")
    if rows is None:
        s.notes.append("Skipped (--skip-noop).")
        s.targets += [Target(f"No-op `{label}`", f"≤ {target:.0f} s", "n/a", None) for label, _, _, target in NOOP]
        return s
    shown = [{**r, "shown": f"`{r['command']}`"} for r in rows]
    s.tables.append(Table([Col("shown", "command"), Col("seconds", "median s", "s", 2), Col("outcome", "outcome")],
                          shown, ("command",), "median of 3"))
    s.targets += [Target(f"No-op `{r['command']}`", f"≤ {r['target_s']:.0f} s", f"{r['seconds']:.2f} s", r["ok"])
                  for r in rows]
    return s
