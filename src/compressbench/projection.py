"""projection: the job floor of a planned run, from the job seconds of a measured one.

    python -m compressbench.projection [--params params.yaml] [--measured reports/benchmarks.csv | DIR]
        [--measured-params FILE] [--cores 2] [--budget-min 240] [--threads RULE=N]
        [--estimate RULE=SECONDS_PER_JOB | DATASET/ARCH=SECONDS_PER_EPOCH] ...
    (or: make projection [MEASURED=...])

The planned jobs come from the matrix (`planned_jobs`: the jobs `snakemake -n --forceall`
lists, per rule). Each job costs its rule's measured seconds outside epochs (per job) plus
its training work times its rule's measured seconds per unit of work, where the work of a
job is epochs x training images x the model's forward MACs: so a protocol with more epochs,
or a dataset with more images, is projected from the measurement, not guessed. Measured
seconds come from a benchmarks.csv (`benchmarks/measure.py`'s per-rule totals and epoch
seconds, of a run of `--measured-params`, default the planned params) or from a workspace
(its Snakemake benchmark files logs/**/*.bench.tsv and the epoch lines of the job logs).
MACs come from the measured run's results.csv. A rule without measurements, or a model
without MACs (a new architecture), is listed as unmeasured unless an estimate is given.
Job floor = sum(job seconds x threads) / cores, as the benchmarks define it.

>>> round(Cost(other=2.0, rate=1e-9).seconds(work=3e9), 1)
5.0
"""
from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from . import matrix as M
from . import params as P
from . import progress
from .catalog import datasets as D
from .rules import RULES

BUDGET_MIN = 240.0  # the brief's job floor on 2 cores
# Rules whose jobs reserve every core (workflow/rules/evaluate.smk: nothing runs beside a latency job).
ALL_CORES = ("latency",)
TRAINING = tuple(dict.fromkeys(b.rule for b in M.BASES.values()))


@dataclass(frozen=True)
class Job:
    rule: str
    wildcards: tuple  # ((name, value), ...) in the rule's job pattern order

    @property
    def wc(self) -> dict:
        return dict(self.wildcards)

    @property
    def benchmark(self) -> str:
        return RULES[self.rule].benchmark.format(**self.wc)


def _job(rule: str, **wc) -> Job:
    return Job(rule, tuple((k, str(v)) for k, v in wc.items()))


def planned_jobs(cfg: dict) -> list[Job]:
    """Every job of a full run of the resolved params `cfg`, in DAG order."""
    cells = M.cells(cfg)
    jobs = [_job(r, dataset=ds) for r in ("download", "prepare") for ds in cfg["matrix"]["datasets"]]
    jobs += [_job(M.bases(cfg)[b].rule, dataset=ds, seed=s, base=b) for ds, s, b in M.base_models(cfg)]
    jobs += list(dict.fromkeys(_job("prune", dataset=c.dataset, seed=c.seed, ft=c.ft, base=c.base, prune=c.prune)
                               for c in cells if c.prune != "none"))
    jobs += list(dict.fromkeys(_job("cluster", dataset=c.dataset, seed=c.seed, ft=c.ft, base=c.base, prune=c.prune,
                                    cluster=c.cluster) for c in cells if c.cluster != M.NO_CLUSTER))
    export = {**{q: "convert" for q in M.ptq_schemes(cfg)}, **{q: "qat" for q in M.qat_schemes(cfg)},
              **{q: "float32_ft" for q in M.control_schemes(cfg)}}  # int8io exports come with their qat job
    cell_wc = lambda c: dict(dataset=c.dataset, seed=c.seed, ft=c.ft, base=c.base, prune=c.prune,  # noqa: E731
                             cluster=c.cluster, quant=c.quant)
    jobs += [_job(export[c.quant], **cell_wc(c)) for c in cells if c.quant in export]
    jobs += [_job("latency", **cell_wc(c)) for c in cells if M.timed(cfg, c)]
    jobs += [_job("evaluate", **cell_wc(c)) for c in cells]
    trained = {(ds, b) for ds, _, b in M.base_models(cfg)}
    jobs += [_job("sensitivity", dataset=ds, seed=cfg["seeds"][0], base=b) for ds in cfg["matrix"]["datasets"]
             for b in cfg["sensitivity"]["bases"] if (ds, b) in trained]
    return jobs + [_job("report")]


# ---- what a job does: epochs and work ------------------------------------------------

def _protocol_epochs(cfg, wc):
    return cfg["protocols"][wc["dataset"]][wc["base"]]["epochs"]


def _export_epochs(cfg, wc):
    scheme = cfg["quantize"]["schemes"][wc["quant"]]
    return _protocol_epochs(cfg, wc) if scheme["method"] == "qat-scratch" else scheme["epochs"]


# Rule -> the epochs one of its jobs trains (rules not here train none).
EPOCHS = {**{r: _protocol_epochs for r in TRAINING},
          "prune": lambda cfg, wc: cfg["prune"]["schemes"][wc["prune"]].get("epochs",
                                                                             cfg["prune"]["fine_tune"]["epochs"]),
          "cluster": lambda cfg, wc: cfg["cluster"]["fine_tune"]["epochs"],
          "qat": _export_epochs, "float32_ft": _export_epochs}


def arch_of(cfg: dict, job: Job) -> str | None:
    return M.bases(cfg)[job.wc["base"]].arch if "base" in job.wc else None


def model_of(cfg: dict, job: Job) -> str:
    """DATASET/ARCH of the model a job trains (the key of a per-epoch estimate)."""
    return f"{job.wc.get('dataset')}/{arch_of(cfg, job)}"


def epochs(cfg: dict, job: Job) -> int:
    return int(EPOCHS[job.rule](cfg, job.wc)) if job.rule in EPOCHS else 0


def work(cfg: dict, job: Job, macs: dict) -> float | None:
    """Epochs x training images x forward MACs of the model it trains (0 without epochs;
    None when the model's MACs are unknown)."""
    n = epochs(cfg, job)
    if not n:
        return 0.0
    ds = job.wc["dataset"]
    mac = macs.get((ds, arch_of(cfg, job)))
    if mac is not None and job.rule in TRAINING and _online_teacher(cfg, job):
        # The teacher runs forward on every augmented batch: a third of a training step's MACs.
        teacher = macs.get((ds, M.bases(cfg)[M.bases(cfg)[job.wc["base"]].teacher].arch))
        mac = None if teacher is None else mac + teacher / 3
    return None if mac is None else n * images(cfg, job) * float(mac)


def images(cfg: dict, job: Job) -> int:
    """The images one epoch of the job trains on: the training split (data.slice's size where
    set), less the validation images where the model's protocol fits on `train` alone."""
    ds = job.wc["dataset"]
    data = cfg.get("data") or {}
    n = D.get(ds, cfg).train_size() or 1
    n = min(n, int((data.get("slice") or {}).get("train", n)))
    protocol = ((cfg.get("protocols") or {}).get(ds) or {}).get(job.wc.get("base")) or {}
    return max(1, n - int(data.get("val_size", 0))) if protocol.get("data") == "train" else n


def _online_teacher(cfg: dict, job: Job) -> bool:
    """A distilled base under an augmenting protocol (distill.py's OnlineTeacher)."""
    base = job.wc["base"]
    return bool(M.bases(cfg)[base].teacher) and cfg["protocols"][job.wc["dataset"]][base]["augment"]


def macs_of(results_csv: str, cfg: dict) -> dict[tuple[str, str], float]:
    """(dataset, arch) -> forward MACs, from the dense float32 rows of a results.csv."""
    out = {}
    for row in csv.DictReader(io.StringIO(results_csv)):
        base = row.get("base")
        if base in M.bases(cfg) and row.get("prune") == "none" and row.get("macs"):
            out.setdefault((row["dataset"], M.bases(cfg)[base].arch), float(row["macs"]))
    return out


# ---- measured seconds -> a cost per rule ----------------------------------------------

@dataclass(frozen=True)
class Cost:
    other: float   # seconds per job outside epochs (start-up, loading, conversion, evaluation)
    rate: float    # seconds inside epochs per unit of work

    def seconds(self, work: float) -> float:
        return self.other + self.rate * work


@dataclass
class Measured:
    """Per rule (and per (rule, DATASET/ARCH) where measured job by job): jobs, job-seconds,
    seconds inside epochs, and the work of those jobs."""
    jobs: dict
    seconds: dict
    epoch_s: dict
    work: dict

    def costs(self) -> dict:
        return {r: Cost((self.seconds[r] - self.epoch_s[r]) / n,
                        self.epoch_s[r] / self.work[r] if self.work.get(r) else 0.0)
                for r, n in self.jobs.items() if n}


def from_benchmarks_csv(text: str, cfg: dict, macs: dict) -> Measured:
    """A benchmarks.csv's per-rule totals; the work of the run's jobs from its params `cfg`."""
    rows = {r["name"]: float(r["value"]) for r in csv.DictReader(io.StringIO(text))
            if r["section"] == "full_run" and r["value"] not in ("", "n/a")}
    jobs = {r: int(rows[f"{r}.jobs"]) for r in RULES if f"{r}.jobs" in rows}
    work, planned = defaultdict(float), defaultdict(int)
    for job in planned_jobs(cfg):
        work[job.rule] += work_or_zero(cfg, job, macs)
        planned[job.rule] += 1
    differ = [f"{r} {n} measured, {planned[r]} in its params" for r, n in jobs.items() if planned[r] != n]
    if differ:  # the work a rule's epoch seconds are divided by is that of other jobs
        raise ValueError("the measured run's jobs are not those of its params (--measured-params): "
                         + "; ".join(differ))
    return Measured(jobs, {r: rows[f"{r}.total"] for r in jobs}, {r: rows.get(f"{r}.epoch_s", 0.0) for r in jobs},
                    dict(work))


def from_workspace(root: Path, cfg: dict, macs: dict) -> Measured:
    """The benchmark files and job logs a run left in `root`, for the jobs of `cfg`."""
    m = Measured(defaultdict(int), defaultdict(float), defaultdict(float), defaultdict(float))
    for job in planned_jobs(cfg):
        bench = root / job.benchmark
        secs = bench_seconds(bench) if bench.is_file() else None
        if secs is None:
            continue
        log = root / RULES[job.rule].log.format(**job.wc)
        epoch_s = progress.epoch_seconds(log.read_text(errors="replace")) if log.is_file() else 0.0
        # Per rule, and per rule and model where the job trains one: its own rate, when measured.
        for key in (job.rule, *([(job.rule, model_of(cfg, job))] if job.rule in EPOCHS else [])):
            m.jobs[key] += 1
            m.seconds[key] += secs
            m.epoch_s[key] += epoch_s
            m.work[key] += work_or_zero(cfg, job, macs)
    return m


def work_or_zero(cfg, job, macs) -> float:
    return work(cfg, job, macs) or 0.0


def bench_seconds(path: Path) -> float | None:
    """The wall seconds (column `s`, mean over repeats) of a Snakemake benchmark TSV."""
    secs = []
    for row in csv.DictReader(path.read_text().splitlines(), delimiter="\t"):
        try:
            secs.append(float(row.get("s")))
        except (TypeError, ValueError):
            pass  # NA
    return sum(secs) / len(secs) if secs else None


# ---- the projection -----------------------------------------------------------------

@dataclass(frozen=True)
class Projected:
    job: Job
    seconds: float | None   # None: unmeasured and no estimate
    threads: int
    how: str                # measured | estimate | unmeasured: <what is missing>
    per_epoch: float | None = None  # seconds per training epoch, for jobs that train


def project(cfg: dict, costs: dict[str, Cost], macs: dict, estimates: dict[str, float] | None = None,
            threads: dict[str, int] | None = None) -> list[Projected]:
    """Every planned job's seconds. `estimates`: RULE -> seconds per job (a rule never measured),
    DATASET/ARCH -> seconds per epoch (a model without MACs)."""
    estimates, threads = estimates or {}, threads or {}
    out = []
    for job in planned_jobs(cfg):
        n, w, model = threads.get(job.rule, 1), work(cfg, job, macs), model_of(cfg, job)
        cost = costs.get((job.rule, model)) or costs.get(job.rule)
        if cost is None and job.rule in estimates:
            out.append(Projected(job, estimates[job.rule], n, "estimate"))
        elif cost is None:
            out.append(Projected(job, None, n, f"unmeasured: rule {job.rule}"))
        elif w is None and model in estimates:
            out.append(Projected(job, cost.other + epochs(cfg, job) * estimates[model], n, "estimate",
                                 estimates[model]))
        elif w is None:
            out.append(Projected(job, None, n, f"unmeasured: model {model}"))
        else:
            n_epochs = epochs(cfg, job)
            out.append(Projected(job, cost.seconds(w), n, "measured", cost.rate * w / n_epochs if n_epochs else None))
    return out


def rule_threads(cores: int, given: dict[str, int] | None = None) -> dict[str, int]:
    """Threads a rule's jobs hold on `cores` (1 unless listed): ALL_CORES rules hold every core.

    >>> rule_threads(2, {"evaluate": 2})
    {'latency': 2, 'evaluate': 2}
    """
    return {r: cores for r in ALL_CORES} | (given or {})


def job_floor(rows: list[Projected], cores: int) -> float:
    """Seconds: sum(job seconds x threads) / cores over the jobs with a projection."""
    return sum(r.seconds * r.threads for r in rows if r.seconds is not None) / cores


def render(cfg: dict, rows: list[Projected], cores: int, budget_min: float, source: str) -> str:
    from .tables import table  # tabulate: only for the command, not for the ETA a run loads
    by_rule = {}
    for r in rows:
        by_rule.setdefault(r.job.rule, []).append(r)
    lines = [f"Projection of the planned run ({len(rows)} jobs) from {source}, on {cores} cores.", ""]
    body = []
    for rule, rs in by_rule.items():
        counted = [r for r in rs if r.seconds is not None]
        body.append([rule, len(rs), sum(epochs(cfg, r.job) for r in rs), f"{sum(r.seconds for r in counted):,.0f}",
                     f"{job_floor(counted, cores) / 60:.1f}", sum(r.how == "estimate" for r in rs) or "",
                     len(rs) - len(counted) or ""])
    lines += [table(body, ["rule", "jobs", "epochs", "job-s", "floor min", "estimated", "unmeasured"]), ""]
    models = {}
    for r in rows:
        if r.per_epoch is not None:
            models.setdefault((r.job.rule, model_of(cfg, r.job)), []).append(r)
    if models:
        lines += ["Seconds per training epoch, by rule and model (what more epochs cost):", "", table(
            [[rule, model, len(rs), sum(epochs(cfg, r.job) for r in rs), f"{rs[0].per_epoch:.1f}"]
             for (rule, model), rs in models.items()], ["rule", "model", "jobs", "epochs", "s/epoch"]), ""]
    floor = job_floor(rows, cores) / 60
    lines.append(f"Job floor: {floor:.1f} min of the {budget_min:g}-min budget ({100 * floor / budget_min:.0f} %)"
                 + ("." if floor <= budget_min else ": OVER BUDGET."))
    missing = sorted({r.how.split(": ", 1)[1] for r in rows if r.seconds is None})
    if missing:
        lines.append(f"Not counted: {sum(r.seconds is None for r in rows)} jobs without measurements "
                     f"({', '.join(missing)}); give --estimate RULE=SECONDS_PER_JOB or "
                     "DATASET/ARCH=SECONDS_PER_EPOCH.")
    return "\n".join(lines) + "\n"


def _pairs(items, kind=float) -> dict:
    out = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"projection: {item!r}: expected KEY=VALUE")
        try:
            out[key] = kind(value)
        except ValueError:
            raise SystemExit(f"projection: {item!r}: {value!r} is not a number") from None
    return out


def measured(path: Path, measured_cfg: dict) -> tuple[dict[str, Cost], dict, str]:
    """Costs and MACs from a benchmarks.csv (with results.csv beside it or in reports/) or a
    workspace folder; and how the source is named."""
    if path.is_dir() and (path / "benchmarks.csv").is_file() and not (path / "logs").is_dir():
        path = path / "benchmarks.csv"  # a baseline folder
    folder = path if path.is_dir() else path.parent
    results = next((p for p in (folder / "results.csv", folder / "reports/results.csv") if p.is_file()), None)
    macs = macs_of(results.read_text(), measured_cfg) if results else {}
    if path.is_dir():
        return from_workspace(path, measured_cfg, macs).costs(), macs, f"the benchmark files under {path}/logs"
    return from_benchmarks_csv(path.read_text(), measured_cfg, macs).costs(), macs, str(path)


def params_of_measurement(path: Path, fallback: str) -> dict:
    """The params of the run that wrote `path`: a params.yaml beside it (a baseline folder, a
    workspace), else params.yaml at the last commit of `path` (reports/benchmarks.csv is
    committed with the params of its run), else `fallback`."""
    folder = path if path.is_dir() else path.parent
    if (folder / "params.yaml").is_file():
        return _older(folder / "params.yaml")
    last = subprocess.run(["git", "log", "-1", "--format=%H", "--", path.name], cwd=folder, capture_output=True,
                          text=True)
    top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=folder, capture_output=True, text=True)
    shown = subprocess.run(["git", "show", f"{last.stdout.strip()}:params.yaml"], cwd=top.stdout.strip() or ".",
                           capture_output=True, text=True) if last.stdout.strip() else None
    if shown is None or shown.returncode != 0:
        return P.load(fallback)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "params.yaml").write_text(shown.stdout)
        return _older(Path(tmp) / "params.yaml")


def _older(path: Path) -> dict:
    """Another run's params, resolved after filling in the keys added since (params.upgrade)."""
    return P.resolve(P.upgrade(P.load_yaml(path)), files=(str(path),))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m compressbench.projection", description=__doc__.split("\n\n")[0])
    ap.add_argument("--params", default="params.yaml", help="the planned run's params (default: params.yaml)")
    ap.add_argument("--measured", default="reports/benchmarks.csv", type=Path,
                    help="a benchmarks.csv, a folder holding one (benchmarks/baseline-*), or a workspace "
                         "with logs/ (default: reports/benchmarks.csv)")
    ap.add_argument("--measured-params", help="the params of the measured run (default: params.yaml at the "
                                               "last commit of --measured, else --params)")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--budget-min", type=float, default=BUDGET_MIN)
    ap.add_argument("--threads", action="append", metavar="RULE=N",
                    help="threads a rule's jobs hold (default 1; latency: --cores)")
    ap.add_argument("--estimate", action="append", metavar="KEY=SECONDS",
                    help="RULE=seconds per job, or DATASET/ARCH=seconds per epoch, for what has no measurement")
    args = ap.parse_args(argv)
    try:
        cfg = P.load(args.params)
        measured_cfg = (_older(Path(args.measured_params)) if args.measured_params
                        else params_of_measurement(args.measured, args.params))
    except P.ParamsError as exc:
        print(f"projection: {exc}", file=sys.stderr)
        return 2
    if not args.measured.exists():
        print(f"projection: {args.measured}: no such file or folder", file=sys.stderr)
        return 2
    try:
        costs, macs, source = measured(args.measured, measured_cfg)
    except ValueError as exc:
        print(f"projection: {args.measured}: {exc}", file=sys.stderr)
        return 2
    rows = project(cfg, costs, macs, _pairs(args.estimate), rule_threads(args.cores, _pairs(args.threads, int)))
    sys.stdout.write(render(cfg, rows, args.cores, args.budget_min, source))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
