"""Achieved GFLOP/s of each training rule and model against the attainable GFLOP/s of the
machine (benchmarks/attainable.py --csv: a large 3x3 convolution in TensorFlow, float32 and
bfloat16, on 1 and on all threads).

A training job's arithmetic is compressbench.projection.work() (epochs x training images x
forward MACs of the model it trains, plus a third of the teacher's forward MACs per image when
an online teacher runs on the augmented batches) times 6: forward and backward take 3 forward
passes, 2 FLOPs per MAC each; so the teacher adds its forward MACs x 2 per image. Its seconds
are those inside the epochs of its log (compressbench.progress.parse_epochs)."""
from __future__ import annotations

import csv
import re
import zipfile
from pathlib import Path

from compressbench import matrix as M, projection as PJ, rules as R

from . import jobs as J
from .render import Col, Fact, Section, Table, Target

FLOPS_PER_WORK = 6            # FLOPs per unit of projection.work(): forward + backward, 2 FLOPs a MAC
TARGET_SHARE = 70.0           # % of float32 attainable at the job's threads (issue 32)
MIN_MACS = 4e6                # forward MACs: smaller models are bound by per-step overhead, not judged
FAMILY = "converged"          # the protocol family judged (batch 128); the study's batch 32 is not
RULES = tuple(PJ.EPOCHS)      # the rules whose jobs train: base training, fine-tunes, QAT and its control
DEPTHWISE = re.compile(r'"class_name":\s*"(?:DepthwiseConv2D|SeparableConv2D)"')
COMMAND = ".venv/bin/python benchmarks/attainable.py --csv reports/attainable.csv"


# ---- the machine's ceiling ------------------------------------------------------------

def read_attainable(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def attainable_of(rows: list[dict], cpu: str | None) -> dict[tuple[str, int], float]:
    """(dtype, threads) -> GFLOP/s of the rows measured on `cpu`'s machine (the last row of each)."""
    out = {}
    for r in rows:
        gflops = J.number(r.get("gflops"))
        if cpu and gflops is not None and J.machine(r.get("cpu")) == J.machine(cpu):
            out[(r["dtype"], int(r["threads"]))] = gflops
    return out


# ---- what the models are ----------------------------------------------------------------

def has_depthwise(model_file: Path) -> bool | None:
    """Whether a saved .keras model (a zip with config.json) has a depthwise or separable conv;
    None when the file is missing or not a readable .keras archive."""
    try:
        with zipfile.ZipFile(model_file) as z:
            return bool(DEPTHWISE.search(z.read("config.json").decode(errors="replace")))
    except (OSError, KeyError, zipfile.BadZipFile):
        return None


def depthwise_of(root: Path, cfg: dict, run_jobs: list[J.Job]) -> dict[tuple[str, str], bool | None]:
    """(dataset, arch) -> has depthwise layers: from the first readable model file a job of the
    run wrote for it; else False for a `zoo` stack (built of conv, pool, dense layers only);
    else None (unknown)."""
    out: dict[tuple[str, str], bool | None] = {}
    for j in run_jobs:
        model = R.RULES[j.rule].outputs.get("model")
        base = M.bases(cfg).get(j.wildcards.get("base"))
        key = (j.wildcards.get("dataset"), base.arch if base else None)
        if model and base and out.get(key) is None:
            out[key] = has_depthwise(root / model.format(**j.wildcards))
    for ds, arch in {(j.wildcards.get("dataset"), b.arch) for j in run_jobs
                     if (b := M.bases(cfg).get(j.wildcards.get("base")))}:
        if out.get((ds, arch)) is None:
            out[(ds, arch)] = False if arch in (cfg.get("zoo") or {}).get(ds, {}) else None
    return out


# ---- achieved rates ---------------------------------------------------------------------

def achieved(cfg: dict, run_jobs: list[J.Job], macs: dict, depthwise: dict) -> tuple[list[dict], list[str]]:
    """One row per (training rule, DATASET/ARCH, protocol family, threads): jobs, epochs, seconds
    inside epochs, GFLOP and achieved GFLOP/s; and why jobs were left out."""
    groups: dict[tuple, dict] = {}
    skipped: dict[str, int] = {}
    for j in run_jobs:
        if j.rule not in RULES:
            continue
        job = PJ._job(j.rule, **j.wildcards)
        try:
            family = cfg["protocols"][j.wildcards["dataset"]][j.wildcards["base"]]["family"]
            w = PJ.work(cfg, job, macs)
        except KeyError:  # a job of a base or scheme the params no longer have
            w, family = None, None
        planned = PJ.epochs(cfg, job) if family is not None else None
        reason = ("not a job of the params (base or scheme unknown)" if family is None
                  else "no MACs of the model (or its teacher) in reports/results.csv" if w is None
                  else "no epoch lines in its log" if j.epochs == 0 or j.epoch_s <= 0
                  else "its log has other than its planned epochs (cut short, or still running)"
                  if j.epochs != planned else None)
        if reason:
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        ds, arch = j.wildcards["dataset"], PJ.arch_of(cfg, job)
        key = (j.rule, f"{ds}/{arch}", family, j.threads or 1)
        g = groups.setdefault(key, {"rule": j.rule, "model": key[1], "family": family, "threads": key[3], "jobs": 0,
                                    "epochs": 0, "mmacs": macs[(ds, arch)] / 1e6, "online": set(), "epoch_s": 0.0,
                                    "gflop": 0.0, "depthwise": depthwise.get((ds, arch))})
        g["jobs"] += 1
        g["epochs"] += planned
        g["online"].add(j.rule in PJ.TRAINING and PJ._online_teacher(cfg, job))
        g["epoch_s"] += j.epoch_s
        g["gflop"] += FLOPS_PER_WORK * w / 1e9
    order = {r: i for i, r in enumerate(RULES)}
    rows = sorted(groups.values(), key=lambda g: (order[g["rule"]], g["model"], g["family"], g["threads"]))
    for g in rows:
        g["online"] = "yes" if g["online"] == {True} else "no" if g["online"] == {False} else "some"
        g["gflops"] = g["gflop"] / g["epoch_s"]
    return rows, [f"{n} jobs: {why}" for why, n in skipped.items()]


def judge(rows: list[dict], ceiling: dict[tuple[str, int], float]) -> list[dict]:
    """The attainable rates at each row's threads, its share of float32's, and whether it is
    judged (the converged family, >= 4 M forward MACs, no depthwise layers) and met."""
    for r in rows:
        r["f32"], r["bf16"] = ceiling.get(("float32", r["threads"])), ceiling.get(("bfloat16", r["threads"]))
        r["share"] = 100 * r["gflops"] / r["f32"] if r["f32"] else None
        r["judged"] = r["family"] == FAMILY and r["mmacs"] * 1e6 >= MIN_MACS and r["depthwise"] is False
        r["met"] = (r["share"] >= TARGET_SHARE if r["share"] is not None else None) if r["judged"] else None
        r["verdict"] = "—" if not r["judged"] else "n/a" if r["met"] is None else "yes" if r["met"] else "**no**"
        r["dw"] = {True: "yes", False: "no"}.get(r["depthwise"], "?")
    return rows


COLS = [Col("rule", "rule"), Col("model", "model"), Col("family", "protocol"), Col("threads", "threads", "threads"),
        Col("jobs", "jobs", "jobs"), Col("epochs", "epochs", "epochs"), Col("mmacs", "fwd M MACs", "MMAC", 2),
        Col("online", "online teacher"), Col("dw", "depthwise"), Col("epoch_s", "in epochs s", "s"),
        Col("gflop", "GFLOP", "GFLOP", 0), Col("gflops", "achieved GFLOP/s", "GFLOP/s", 2),
        Col("f32", "float32 attainable GFLOP/s", "GFLOP/s"), Col("bf16", "bf16 attainable GFLOP/s", "GFLOP/s"),
        Col("share", "% of float32", "%"), Col("verdict", f"≥ {TARGET_SHARE:.0f} %"),
        Col("met", "", "bool")]


def section(rows: list[dict], skipped: list[str], notes: list[str], ceiling_rows: list[dict], shown: str,
            cpu: str | None, cpu_source: str) -> Section:
    """`rows`, `skipped`, `notes`: of `gather`; `ceiling_rows`: the attainable CSV's rows."""
    ceiling = attainable_of(ceiling_rows, cpu)
    judge(rows, ceiling)
    s = Section("flops", "Achieved against attainable GFLOP/s",
                f"`{shown}` (written by `benchmarks/attainable.py --csv`: a 64x32x32x128 3x3 convolution, forward, "
                "median of 20 calls, one process per dtype and thread count), rows of the run's machine only "
                f"({cpu_source}). Achieved: {FLOPS_PER_WORK} × `projection.work()` of each job (epochs × training "
                "images × forward MACs, the MACs of `reports/results.csv`; an online teacher's forward MACs × 2 "
                "per image added) / the seconds inside its epochs (section 1), per rule, model, protocol family "
                "and the job's threads (its record). Images per epoch are the training split before the "
                "validation images are carved off (`projection.work()`), and the epoch seconds include each "
                "epoch's validation pass: under `data: train` the rate is overstated by train / (train − "
                "val_size) and understated by the validation forward passes.")
    s.notes += list(notes)
    if not ceiling:
        others = sorted({J.machine(r.get("cpu")) for r in ceiling_rows} - {None})
        s.notes.append(f"No attainable GFLOP/s of this machine in `{shown}`"
                       + (f" (it has rows of: {'; '.join(others)})" if others else "")
                       + f". Measure them with the machine idle: `{COMMAND}`.")
    else:
        s.facts += [Fact(f"attainable.{dt}.{n}", g, "GFLOP/s", f"Attainable {dt} on {n} thread{'s' * (n > 1)}: "
                         f"**{g:.1f} GFLOP/s**.", J.machine(cpu) or "") for (dt, n), g in sorted(ceiling.items())]
    if skipped:
        s.notes.append("Left out: " + "; ".join(skipped) + ".")
    if rows:
        s.tables.append(Table(COLS, rows, ("rule", "model", "family", "threads"), "achieved / attainable"))
    judged = [r for r in rows if r["judged"]]
    measured = [r for r in judged if r["met"] is not None]
    low = min(measured, key=lambda r: r["share"], default=None)
    s.targets.append(Target(
        f"Training at ≥ {TARGET_SHARE:.0f} % of float32 attainable GFLOP/s ({FAMILY} protocol, "
        f"≥ {MIN_MACS / 1e6:.0f} M "
        "forward MACs, no depthwise; at the job's threads)", f"≥ {TARGET_SHARE:.0f} % in every such rule and model",
        "n/a" if low is None else f"{sum(r['met'] for r in measured)} of {len(judged)} met; lowest "
        f"{low['share']:.1f} % ({low['rule']} {low['model']})",
        None if not judged or len(measured) < len(judged) else all(r["met"] for r in measured)))
    return s


def gather(root: Path, cfg: dict | None, run_jobs: list[J.Job],
           results: Path) -> tuple[list[dict], list[str], list[str]]:
    """Rows, skipped jobs and notes for `section`, from the run's jobs and results.csv."""
    if cfg is None:
        return [], [], ["Not measured: the params did not load."]
    if not results.is_file():
        return [], [], ["Not measured: `reports/results.csv` (the models' MACs) does not exist yet."]
    macs = PJ.macs_of(results.read_text(), cfg)
    rows, skipped = achieved(cfg, run_jobs, macs, depthwise_of(root, cfg, run_jobs))
    return rows, skipped, []

