"""report: read every metrics JSON, stage record, the dataset facts and the
study's published figures; write results.csv, summary.json, report.md and, per
dataset, the Pareto figure and its plot data.

Deterministic: the same inputs give byte-identical files (stable ordering,
fixed float formats, no timestamps, PNGs without software metadata)."""
from __future__ import annotations

from pathlib import Path

import yaml

from . import claims as C
from . import figures, io, markdown, provenance, results
from . import reproduction as R
from .rules import REPORT_FILES

# The output paths (relative to the workflow root; "reports" is out_dir): the rule table's.
RESULTS, VARIANTS = REPORT_FILES["results"], REPORT_FILES["variants"]
SUMMARY, REPORT = REPORT_FILES["summary"], REPORT_FILES["report"]
FIGURE, PLOT_DATA = REPORT_FILES["figure"], REPORT_FILES["plot"]


def _path(pattern: str, out_dir: Path, **kw) -> Path:
    return out_dir / pattern.format(**kw).removeprefix("reports/")


def build(metrics_paths, stage_paths, facts_paths, reference_path, params: dict, out_dir="reports",
          root=".", sensitivity=()) -> None:
    """Write results.csv, summary.json, report.md, the Pareto figures and plot data under out_dir."""
    root = Path(root)
    out = root / out_dir
    metrics = [io.read_json(root / p) for p in metrics_paths]
    stages = [io.read_json(root / p) for p in stage_paths]
    facts = {}
    for p in facts_paths:
        f = io.read_json(root / p)
        facts[f.get("dataset", Path(p).stem)] = f
    reference = {}
    if reference_path:
        with open(root / reference_path) as fh:
            reference = yaml.safe_load(fh) or {}
    frame = results.results_frame(metrics, params)
    stats = C.variant_stats(frame)
    n_test = {ds: int(f.get("counts", {}).get("test", C.DEFAULT_N_TEST)) for ds, f in facts.items()}
    claims = C.evaluate_claims(frame, n_test)
    found = R.rows(reference, stats, params, n_test)

    io.write_text(_path(RESULTS, out), results.csv_text(frame))
    io.write_text(_path(VARIANTS, out), results.variants_csv(stats))
    io.write_json(_path(SUMMARY, out), results.summary(stats, frame, claims, R.counts(found)))
    for ds in dict.fromkeys(stats["dataset"]):
        st = stats[stats["dataset"] == ds].reset_index(drop=True)
        io.write_text(_path(PLOT_DATA, out, dataset=ds), figures.plot_csv(st))
        figures.figure(st, ds, params, _path(FIGURE, out, dataset=ds))
    times = provenance.rule_times(stages + metrics)
    text = markdown.document(frame, stats, claims, reference, params, facts, times,
                             code=provenance.code_version(root), packages=provenance.package_versions(),
                             figure=_path(FIGURE, Path("."), dataset="{dataset}").as_posix(), found=found)
    io.write_text(_path(REPORT, out), text)
