"""The one renderer: sections of rows -> reports/benchmarks.md and benchmarks.csv.

A measurement returns rows (dicts); its section says how to show them: tables
(columns of those rows), facts (one sentence and one number each), notes and
the targets it checks. Markdown tables come from compressbench.tables (the
project's one table writer); every number a table or fact shows is also a CSV
row (section, name, value, unit, note).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from compressbench.tables import table

CSV_HEADER = ["section", "name", "value", "unit", "note"]


@dataclass(frozen=True)
class Col:
    key: str                  # the rows' key
    header: str               # markdown header; "" = CSV only
    unit: str | None = None   # CSV unit; None = a label, not written as a CSV row
    digits: int = 1
    sign: bool = False        # show "+" on positive numbers


@dataclass
class Table:
    cols: list[Col]
    rows: list[dict]
    name: tuple[str, ...] = ()   # label keys whose values, joined by ".", prefix each CSV name
    note: str = ""               # CSV note of its rows
    prefix: str = ""             # before those values in each CSV name
    caption: str = ""            # markdown paragraph before the table


@dataclass
class Fact:
    name: str                    # CSV name
    value: object
    unit: str
    text: str                    # the markdown sentence (shows the value itself); "" = CSV only
    note: str = ""
    digits: int = 1


@dataclass
class Target:
    name: str
    goal: str
    measured: str
    ok: bool | None              # None: not measured


@dataclass
class Section:
    key: str                     # CSV section
    title: str
    source: str = ""             # what was read or run, and how
    tables: list[Table] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)   # warnings, "skipped", remarks
    targets: list[Target] = field(default_factory=list)


def fmt(value, digits: int = 1, sign: bool = False) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        return f"{value:{'+' if sign else ''}.{digits}f}"
    return str(value)


def verdict(ok: bool | None, bold: bool = False) -> str:
    text = "not measured" if ok is None else ("met" if ok else "not met")
    return f"**{text}**" if bold and ok is False else text


def _markdown_table(t: Table) -> str:
    shown = [c for c in t.cols if c.header]
    return table([[fmt(r.get(c.key), c.digits, c.sign) for c in shown] for r in t.rows], [c.header for c in shown])


def _csv_rows(section: Section) -> list[list[str]]:
    out = []
    for t in section.tables:
        if not t.name:
            continue
        for r in t.rows:
            stem = t.prefix + ".".join(str(r[k]) for k in t.name)
            out += [[section.key, f"{stem}.{c.key}", fmt(r.get(c.key), c.digits), c.unit, t.note]
                    for c in t.cols if c.unit is not None]
    out += [[section.key, f.name, fmt(f.value, f.digits), f.unit, f.note] for f in section.facts]
    return out


def targets_section(sections: list[Section]) -> Section:
    """Every target the sections checked, in one table."""
    rows = [{"target": t.name, "goal": t.goal, "measured": t.measured, "verdict": verdict(t.ok, bold=True)}
            for s in sections for t in s.targets]
    cols = [Col("target", "target"), Col("goal", "goal"), Col("measured", "measured"), Col("verdict", "verdict")]
    return Section("targets", "Targets", tables=[Table(cols, rows)])


def markdown(title: str, intro: str, sections: list[Section]) -> str:
    lines = [f"# {title}", "", intro, ""]
    for i, s in enumerate(sections, 1):
        lines += [f"## {i}. {s.title}", ""]
        if s.source:
            lines += [f"Source: {s.source}", ""]
        for note in s.notes:
            lines += [note, ""]
        for t in s.tables:
            lines += ([t.caption, ""] if t.caption else []) + ([_markdown_table(t), ""] if t.rows else [])
        shown = [f"- {f.text}" for f in s.facts if f.text]
        lines += shown + [""] if shown else []
    return "\n".join(lines).rstrip() + "\n"


def write(out: Path, title: str, intro: str, sections: list[Section]) -> None:
    """<out>/benchmarks.md and <out>/benchmarks.csv of the sections, then the targets."""
    sections = [*sections, targets_section(sections)]
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmarks.md").write_text(markdown(title, intro, sections))
    with open(out / "benchmarks.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(CSV_HEADER)
        for s in sections[:-1]:
            w.writerows(_csv_rows(s))
        w.writerows(["targets", t.name.replace("`", ""), t.measured, "", f"{t.goal}; {verdict(t.ok)}"]
                    for s in sections for t in s.targets)
