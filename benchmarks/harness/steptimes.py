"""Training step times on the machine of the run: float32 with and without oneDNN,
and mixed bfloat16, from the CSV benchmarks/step_time.py --csv appends to."""
from __future__ import annotations

import csv
from pathlib import Path

from .jobs import number, machine
from .render import Col, Fact, Section, Table

# (precision, oneDNN) -> column of the table
SETTINGS = {("float32", "0"): "f32_off", ("float32", "1"): "f32_on", ("mixed_bfloat16", "1"): "bf16"}
COMMAND = ("for cfg in 'float32 0' 'float32 1' 'mixed_bfloat16 1'; do set -- $cfg; .venv/bin/python "
           "benchmarks/step_time.py --dataset mnist --arch teacher --precision $1 --onednn $2 "
           "--csv reports/step-times.csv; done")


def read(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def table_rows(rows: list[dict], cpu: str | None) -> list[dict]:
    """One row per (dataset, arch, kind) measured on `cpu`'s machine: ms per step of each
    setting (the newest row of each), and the speed-ups of oneDNN and of bfloat16."""
    out: dict[tuple, dict] = {}
    for r in rows:
        setting = SETTINGS.get((r["precision"], r["onednn"]))
        if setting and cpu and machine(r["cpu"]) == machine(cpu):
            key = (r["dataset"], r["arch"], r["kind"])
            out.setdefault(key, dict(zip(("dataset", "arch", "kind"), key)))[setting] = number(r["ms_per_step"])
    for r in out.values():
        off, on, bf16 = r.get("f32_off"), r.get("f32_on"), r.get("bf16")
        r["onednn_x"] = off / on if off and on else None
        r["bf16_x"] = on / bf16 if on and bf16 else None
    return list(out.values())


COLS = [Col("dataset", "dataset"), Col("arch", "arch"), Col("kind", "step"),
        Col("f32_off", "float32, oneDNN off ms", "ms"), Col("f32_on", "float32, oneDNN on ms", "ms"),
        Col("bf16", "mixed bfloat16 ms", "ms"), Col("onednn_x", "oneDNN speed-up ×", "ratio", 2),
        Col("bf16_x", "bfloat16 speed-up ×", "ratio", 2)]


def section(path: Path, shown: str, cpu: str | None, cpu_source: str) -> Section:
    rows = read(path)
    found = table_rows(rows, cpu)
    s = Section("step_time", "Training step time on the machine of the run",
                f"`{shown}`, written by `benchmarks/step_time.py --csv` (ms per training step, one thread, "
                "median of its timed fits after a warm-up; one process per setting, oneDNN set before "
                "TensorFlow loads). Rows measured on this machine only: the CPU model and flags "
                f"must equal those of the run ({cpu_source}).")
    s.facts.append(Fact("machine", machine(cpu), "", f"Machine of the run: `{cpu}`.", cpu_source))
    if found:
        s.tables.append(Table(COLS, found, ("dataset", "arch", "kind"), machine(cpu) or ""))
    else:
        others = sorted({machine(r["cpu"]) for r in rows} - {None})
        s.notes.append(f"No step times for this machine in `{shown}`"
                       + (f" (it has rows of: {'; '.join(others)})" if others else "")
                       + f". Measure them with `{COMMAND}` (and other datasets and archs).")
    return s
