"""Cells a technique refused (refusal.py): the plan leaves them out, so the rest of the
run and its report go on, and the report lists each with its reason.

A job that refuses (filter removal into a join, N:M on a layer too narrow, QAT of a layer
tfmot cannot wrap) fails once, writing `<its log>.refused.json` with its wildcards; every
later plan (the Snakefile's `CELLS`) leaves out the cells that job would have fed.
`python -m compressbench.launch` (`make run`) plans again at once when a run refused a
cell. A record stays until deleted: `rm logs/**/*.refused.json` retries every refused cell
(after a change of the model or the params that lets the technique apply).

>>> from compressbench.matrix import Cell
>>> record = {"refused": "filters refuses layer conv3: ...", "wildcards": {"dataset": "mnist", "seed": "0",
...           "ft": "0", "base": "kd", "prune": "filters"}}
>>> kept, out = split([Cell("mnist", 0, 0, "kd", "filters", "float32"), Cell("mnist", 0, 0, "kd", "none", "float32")],
...                   [record])
>>> [c.variant for c in kept], [r["variant"] for r in out]
(['kd+none+float32'], ['kd+filters+float32'])
"""
from __future__ import annotations

import json
from pathlib import Path

from .matrix import INT8_IO
from .refusal import SUFFIX

LOGS = "logs"
FIELDS = ("dataset", "seed", "ft", "base", "prune", "cluster", "quant")  # a cell's wildcards


def records(root=".") -> list[dict]:
    """Every refusal record under logs/, in path order; an unreadable one is skipped (a job
    killed while writing it leaves none: io.write_json writes atomically)."""
    out = []
    for path in sorted((Path(root) / LOGS).rglob(f"*{SUFFIX}")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and isinstance(record.get("wildcards"), dict) and record.get("refused"):
            out.append(record | {"path": path.relative_to(root).as_posix()})
    return out


def covers(record: dict, cell) -> bool:
    """Whether the refused job would have fed `cell`: the cell has every wildcard value the job had
    (a pruning job's record covers each export of that pruned model)."""
    wildcards = record["wildcards"]
    keys = [k for k in FIELDS if k in wildcards]

    def value(k):  # a QAT job writes its integer-only export too: that cell is the job's as well
        v = str(getattr(cell, k))
        return v.removesuffix(INT8_IO) if k == "quant" else v
    return bool(keys) and all(value(k) == str(wildcards[k]) for k in keys)


def split(cells, recs: list[dict]) -> tuple[list, list[dict]]:
    """(the cells no record covers, one row per covered cell: its variant, dataset, seeds, the
    rule that refused and why), both in the cells' order."""
    kept, refused = [], []
    for c in cells:
        hit = next((r for r in recs if covers(r, c)), None)
        if hit is None:
            kept.append(c)
        else:
            refused.append({"dataset": c.dataset, "variant": c.variant, "seed": int(c.seed), "ft_seed": int(c.ft),
                            "rule": hit.get("rule", hit.get("technique", "")), "reason": hit["refused"],
                            "record": hit.get("path", "")})
    return kept, refused


def announce(refused: list[dict]) -> str | None:
    """The line a plan prints when it leaves cells out (None when none)."""
    if not refused:
        return None
    files = sorted({r["record"] for r in refused})
    return (f"{len(refused)} cell(s) left out, refused by an earlier job ({', '.join(files[:3])}"
            f"{', ...' if len(files) > 3 else ''}); the report lists them. Delete a record to try again.")


def section(rows: list[dict], table) -> list[str]:
    """The report's list of refused cells (markdown lines; none when nothing was refused):
    one row per variant and dataset, its seeds, the rule that refused and why."""
    if not rows:
        return []
    grouped: dict[tuple, dict] = {}
    for r in rows:
        g = grouped.setdefault((r["dataset"], r["variant"]), {"runs": 0, "rule": r["rule"], "reason": r["reason"]})
        g["runs"] += 1
    body = [[ds, f"`{v}`", g["runs"], g["rule"], g["reason"]] for (ds, v), g in grouped.items()]
    return [f"{len(grouped)} variant(s) of the params did not run: a technique refused their model before "
            "training (the record beside the refusing job's log names it; delete it to try again).", "",
            table(body, ["dataset", "variant", "runs", "refused by", "reason"]), ""]
