"""Results of the run against references: inference latency relative to the float32
teacher (reports/results.csv), and job seconds, wall and accuracy against a previous
run's benchmarks.csv and results.csv (--baseline)."""
from __future__ import annotations

import csv
import statistics
from pathlib import Path

from .jobs import number
from .render import Col, Fact, Section, Table

REFERENCE = ("teacher", "none", "float32")
# Older benchmarks.csv files total the trainers per kind; these rules are summed into them.
KIND = {"train_teacher": "train", "train_student_scratch": "train",
        "distill_ta": "distill", "distill_student": "distill"}


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def latency_ratios(rows: list[dict]) -> list[dict]:
    """Per dataset, median latency per quant scheme and per base over the dataset's
    teacher+none+float32 latency (median over seeds). Order: first appearance."""
    out = []
    for ds in dict.fromkeys(r["dataset"] for r in rows):
        sub = [r for r in rows if r["dataset"] == ds and number(r.get("latency_ms")) is not None]
        ref = [float(r["latency_ms"]) for r in sub if (r["base"], r["prune"], r["quant"]) == REFERENCE]
        if not ref:
            continue
        ref_ms = statistics.median(ref)
        for by in ("quant", "base"):
            for group in dict.fromkeys(r[by] for r in sub):
                med = statistics.median(float(r["latency_ms"]) for r in sub if r[by] == group)
                out.append({"dataset": ds, "by": by, "group": group, "n": sum(r[by] == group for r in sub),
                            "ratio": med / ref_ms if ref_ms > 0 else float("nan")})
    return out


def latency_section(results: Path) -> Section:
    s = Section("inference", "Inference latency ratios",
                "`reports/results.csv` (`latency_ms`, LiteRT, one thread). Median latency of each group over "
                "its dataset's `teacher+none+float32` latency: ratios, not times.")
    if not results.exists():
        s.notes.append("Not available: `reports/results.csv` does not exist yet.")
        return s
    ratios = latency_ratios(read_csv(results))
    if not ratios:
        s.notes.append("Not available: `reports/results.csv` has no latency of a `teacher+none+float32` cell.")
    for by in ("quant", "base"):
        cols = [Col("dataset", "dataset"), Col("group", by), Col("n", "rows"),
                Col("ratio", "latency / float32 teacher", "ratio", 3)]
        s.tables.append(Table(cols, [r for r in ratios if r["by"] == by], ("dataset", "by", "group"),
                              "median over the group / teacher+none+float32"))
    return s


# ---- before and after ----------------------------------------------------------------

def stage_totals(bench_rows: list[dict]) -> dict[str, float]:
    """Stage kind -> job seconds, from a benchmarks.csv written by this harness (any version)."""
    out: dict[str, float] = {}
    for r in bench_rows:
        if r["section"] == "full_run" and r["name"].endswith(".total") and number(r["value"]) is not None:
            kind = KIND.get(r["name"].rsplit(".", 1)[0], r["name"].rsplit(".", 1)[0])
            out[kind] = out.get(kind, 0.0) + float(r["value"])
    return out


def accuracy_deltas(before: list[dict], after: list[dict]) -> list[dict]:
    """Cells present in both results.csv files, with accuracy after - before in points (pp). A
    cell is a dataset, training seed, fine-tune seed (0 in files before it existed) and variant."""
    key = lambda r: (r["dataset"], r["seed"], r.get("ft_seed") or "0", r["variant"])  # noqa: E731
    old = {key(r): float(r["accuracy"]) for r in before}
    out = []
    for r in after:
        if (k := key(r)) in old:
            a, b = float(r["accuracy"]), old[k]
            out.append({"dataset": r["dataset"], "seed": r["seed"], "ft_seed": k[2],
                        "variant": r["variant"], "base": r["base"], "prune": r["prune"],
                        "quant": r["quant"], "before": 100 * b, "after": 100 * a, "delta_pp": 100.0 * (a - b)})
    return out


def deployed_bases(deltas: list[dict]) -> list[dict]:
    """The deltas of the base models as deployed, `<base>+none+float32`: by the variant's
    name, so a clustered cell (prune none, quant float32) is not taken for its base."""
    return [d for d in deltas if d["variant"] == "+".join((d["base"], *REFERENCE[1:]))]


def delta_summary(deltas: list[dict]) -> dict:
    d = [x["delta_pp"] for x in deltas]
    return {"cells": len(d), "mean": statistics.fmean(d), "median_abs": statistics.median(abs(x) for x in d),
            "max_abs": max(abs(x) for x in d), "within_half": sum(abs(x) <= 0.5 for x in d),
            "within_one": sum(abs(x) <= 1.0 for x in d)}


def job_seconds(before: dict[str, float], after: dict[str, float], wall: tuple) -> list[dict]:
    """Per stage kind (then `wall`): seconds before and after, and the speed-up."""
    kinds = [k for k in dict.fromkeys([*after, *before]) if k != "all"] + ["all"]
    rows = [{"kind": k, "before": before.get(k), "after": after.get(k)} for k in kinds]
    rows += [{"kind": "wall", "before": wall[0], "after": wall[1]}] if any(v is not None for v in wall) else []
    for r in rows:
        r["speedup"] = r["before"] / r["after"] if r["before"] and r["after"] else None
    return rows


def before_after(base_dir: Path, shown: str, totals: dict[str, float], wall: float | None,
                 results: Path) -> Section:
    """Against one previous run: job seconds per stage kind and wall, and the accuracy change
    of every cell present in both runs. CSV names start with the baseline's folder name."""
    label, before = base_dir.name, read_csv(base_dir / "benchmarks.csv")
    before_wall = next((number(r["value"]) for r in before if r["section"] == "full_run" and r["name"] == "wall"), None)
    after: dict[str, float] = {}
    for rule, secs in totals.items():  # per rule and "all"
        after[KIND.get(rule, rule)] = after.get(KIND.get(rule, rule), 0.0) + secs
    s = Section("before_after", f"Before and after: against `{shown}`",
                f"`{shown}` (a previous run's benchmarks.csv and results.csv; its README says how it was made) "
                "against section 1 and `reports/results.csv` of this run. Trainers are summed per kind "
                "(train, distill) as older files have them.")
    s.tables.append(Table([Col("kind", "stage kind"), Col("before", "before: job s", "s"),
                           Col("after", "after: job s", "s"), Col("speedup", "speed-up ×", "ratio", 2)],
                          job_seconds(stage_totals(before), after, (before_wall, wall)), ("kind",), prefix=f"{label}."))
    deltas = accuracy_deltas(read_csv(base_dir / "results.csv"), read_csv(results)) if results.exists() else []
    if deltas:
        per_ds = [{"dataset": ds, **delta_summary([d for d in deltas if d["dataset"] == ds])}
                  for ds in dict.fromkeys(d["dataset"] for d in deltas)]
        s.tables.append(Table([Col("dataset", "dataset"), Col("cells", "cells"),
                               Col("mean", "mean Δ pp", "pp", 2, sign=True), Col("median_abs", "median abs Δ pp", "pp", 2),
                               Col("max_abs", "max abs Δ pp", "pp", 2), Col("within_half", "abs Δ ≤ 0.5 pp"),
                               Col("within_one", "abs Δ ≤ 1 pp")], per_ds, ("dataset",),
                              "accuracy after - before", prefix=f"{label}.",
                              caption="Test accuracy of every cell present in both runs (LiteRT, full test set), "
                                      "after − before in percentage points:"))
        s.tables.append(Table([Col("dataset", "dataset"), Col("base", "base"), Col("seed", "seed"),
                               Col("before", "before %", digits=2),
                               Col("after", "after %", digits=2), Col("delta_pp", "Δ pp", digits=2, sign=True)],
                              deployed_bases(deltas),
                              caption="The base models as deployed (`<base>+none+float32`):"))
    s.facts.append(Fact(f"{label}.cells_compared", len(deltas), "cells",
                        f"{len(deltas)} cells present in both runs.", shown))
    return s
