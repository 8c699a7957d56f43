"""report: read every metrics JSON, stage record, sensitivity table, the dataset
facts and the study's published figures; write results.csv, variants.csv,
summary.json, report.md, per dataset the Pareto figure with its data and, where
the params run what they show (report_files.written), the trade-off, fine-tune
budget and sensitivity figures with their data, and the KD-temperature figure with its data.

Deterministic: the same inputs give byte-identical files (stable ordering,
fixed float formats, no timestamps, PNGs without software metadata)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

import numpy as np

from . import claims as C
from . import evidence, figures, forgetting, io, markdown, matrix, provenance, results, selection, sweep_figures
from . import report_files as RF
from . import stats as S
from . import reproduction as R
from .paramfile import load_yaml
from .report_files import REPORT_FILES

# The output paths (relative to the workflow root; "reports" is out_dir): the rule table's.
RESULTS, VARIANTS = REPORT_FILES["results"], REPORT_FILES["variants"]
SUMMARY, REPORT = REPORT_FILES["summary"], REPORT_FILES["report"]
FIGURE, PLOT_DATA = REPORT_FILES["figure"], REPORT_FILES["plot"]
TRADEOFF, TRADEOFF_DATA = REPORT_FILES["tradeoff"], REPORT_FILES["tradeoff_plot"]
BUDGET, BUDGET_DATA = REPORT_FILES["budget"], REPORT_FILES["budget_plot"]
SENSITIVITY, SENSITIVITY_DATA = REPORT_FILES["sensitivity"], REPORT_FILES["sensitivity_table"]
TEMPERATURE, TEMPERATURE_DATA = REPORT_FILES["temperature"], REPORT_FILES["temperature_plot"]


def _path(pattern: str, out_dir: Path, **kw) -> Path:
    return out_dir / pattern.format(**kw).removeprefix("reports/")


def _sensitivity(root: Path, paths) -> dict:
    """(dataset, base) -> its per-layer sensitivity table, named by the record beside it."""
    out = {}
    for p in paths:
        record = io.read_json(root / matrix.record(str(p)))
        out[(record["dataset"], record["base"])] = pd.read_csv(root / p)
    return out


SENSITIVITY_COLUMNS = ["base", "layer", "weights", "sparsity", "accuracy"]


def _sensitivity_csv(tables: dict) -> str:
    """One dataset's per-layer tables (base -> table) as one CSV, a base column first."""
    frames = [t.assign(base=b) for b, t in tables.items()] or [pd.DataFrame(columns=SENSITIVITY_COLUMNS)]
    return pd.concat(frames, ignore_index=True)[SENSITIVITY_COLUMNS].to_csv(
        index=False, float_format="%.6f", lineterminator="\n")


def _labels(root: Path, metrics_paths, metrics: list[dict]) -> dict:
    """(dataset, seed, ft_seed, variant) -> the labels a run's evaluate job kept beside its
    metrics (checked against the sha256 its metrics hold); runs evaluated without them are left out."""
    out = {}
    for p, m in zip(metrics_paths, metrics):
        path = root / matrix.predictions(str(p))
        if path.is_file():
            io.verify(path, root / p)
            with np.load(path, allow_pickle=False) as npz:
                out[(m["dataset"], int(m["seed"]), int(m.get("ft_seed", 0)), m["variant"])] = dict(npz)
    return out


def annotate(stats: pd.DataFrame, frame: pd.DataFrame, params: dict, labels: dict) -> pd.DataFrame:
    """The variant stats with what the report adds: val_seen (selection.val_seen), the
    half-width of the 95 % confidence interval of the mean test accuracy in pp (own training
    seeds, else the protocol family's pool: evidence.py), the 95 % interval of its loss against
    the teacher (loss_low_pp, loss_high_pp: paired or Welch), and what compression forgets
    (forgetting.py: agreement with the uncompressed model, the worst class and its drop)."""
    runs = evidence.Runs(frame)
    pools = evidence.training_spreads(runs, params)
    ci = []
    for ds, v in zip(stats["dataset"], stats["variant"]):
        e = evidence.sample_of(runs, params, ds, v, pools)
        ci.append(S.t_quantile(e.spread.df) * e.spread.sd / np.sqrt(e.n) if e.spread.known and e.n else np.nan)
    loss = [evidence.contrast(runs, params, ds, C.TEACHER, v, pools=pools).ci() if v != C.TEACHER else (0.0, 0.0)
            for ds, v in zip(stats["dataset"], stats["variant"])]
    out = stats.assign(val_seen=[selection.val_seen(params, ds, b) for ds, b in zip(stats["dataset"], stats["base"])],
                       accuracy_ci_pp=ci, loss_low_pp=[lo for lo, _ in loss], loss_high_pp=[hi for _, hi in loss])
    return out.merge(forgetting.forgetting(params, labels), on=["dataset", "variant"], how="left")


def build(metrics_paths, stage_paths, facts_paths, reference_path, params: dict, out_dir="reports",
          root=".", sensitivity=(), histories=None) -> None:
    """Write results.csv, variants.csv, summary.json, report.md, the figures and their plot data under
    out_dir. histories: (dataset, seed, base) -> the path of that training job's history. The
    labels each evaluate job kept beside its metrics are read from beside them."""
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
        reference = load_yaml(root / reference_path) or {}
    frame = results.results_frame(metrics, params)
    stats = annotate(C.variant_stats(frame), frame, params, _labels(root, metrics_paths, metrics))
    n_test = {ds: int(f.get("counts", {}).get("test", C.DEFAULT_N_TEST)) for ds, f in facts.items()}
    claims = C.evaluate_claims(frame, params, n_test)
    found = R.rows(reference, stats, params, n_test, frame)

    io.write_text(_path(RESULTS, out), results.csv_text(frame))
    io.write_text(_path(VARIANTS, out), results.variants_csv(stats))
    io.write_json(_path(SUMMARY, out), results.summary(stats, frame, claims, R.counts(found, params),
                                                        chosen_from=selection.in_matrix_family(stats, params)))
    tables = _sensitivity(root, sensitivity)
    # Which optional figures exist is the params' choice (the rule declares them before the run).
    drawn = RF.written(params)
    swept, budgets, sensitive = {}, {}, {}
    for ds in dict.fromkeys(stats["dataset"]):
        st = stats[stats["dataset"] == ds].reset_index(drop=True)
        # The Pareto figure shows what the first screen chooses among: the matrix's protocol family.
        screened = st[selection.in_matrix_family(st, params).to_numpy()].reset_index(drop=True)
        io.write_text(_path(PLOT_DATA, out, dataset=ds), figures.plot_csv(screened))
        figures.figure(screened, ds, params, _path(FIGURE, out, dataset=ds))
        points = sweep_figures.curves(st, params)
        io.write_text(_path(TRADEOFF_DATA, out, dataset=ds), sweep_figures.tradeoff_csv(points))
        if ds in drawn["tradeoff"]:
            sweep_figures.tradeoff(points, st, ds, _path(TRADEOFF, out, dataset=ds))
            swept[ds] = _path(TRADEOFF, Path("."), dataset=ds).as_posix()
        if ds in drawn["budget"]:
            points = sweep_figures.budget_points(st, params)
            io.write_text(_path(BUDGET_DATA, out, dataset=ds), sweep_figures.budget_csv(points))
            sweep_figures.budget(points, ds, _path(BUDGET, out, dataset=ds))
            budgets[ds] = _path(BUDGET, Path("."), dataset=ds).as_posix()
        if ds in drawn["sensitivity"]:
            mine = {b: t for (d, b), t in tables.items() if d == ds}
            io.write_text(_path(SENSITIVITY_DATA, out, dataset=ds), _sensitivity_csv(mine))
            figures.sensitivity(mine, ds, _path(SENSITIVITY, out, dataset=ds))
            sensitive[ds] = _path(SENSITIVITY, Path("."), dataset=ds).as_posix()
    pairs = R.loss_pairs(stats, params)
    points = figures.temperature_points(stats, pairs, reference, n_test)
    io.write_text(_path(TEMPERATURE_DATA, out), figures.temperature_csv(points))
    figures.temperature(points, _path(TEMPERATURE, out))
    frames = {key: pd.read_csv(root / path) for key, path in (histories or {}).items()}
    spreads = stats.groupby("dataset")["spread"].first().to_dict()
    n_val = {ds: int(f.get("counts", {}).get("val", 0)) for ds, f in facts.items()}
    chosen = selection.choices(params, frames, n_val, spreads)
    times = provenance.rule_times(stages + metrics)
    text = markdown.document(frame, stats, claims, reference, params, facts, times,
                             code=provenance.code_version(root), packages=provenance.package_versions(),
                             figure=_path(FIGURE, Path("."), dataset="{dataset}").as_posix(), found=found,
                             tradeoff=swept, budget=budgets, sensitivity=sensitive,
                             temperature=_path(TEMPERATURE, Path(".")).as_posix(), pairs=pairs, chosen=chosen,
                             refused=params.get("refused") or [])
    io.write_text(_path(REPORT, out), text)
