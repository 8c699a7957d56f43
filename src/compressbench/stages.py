"""What each Snakemake rule reads: its DVC phase, its code and its params.

The Snakefile builds each rule's `params:` and code inputs from this table, so
a rule reruns exactly when a value it reads changes; tests/test_dvc_consistency.py
checks dvc.yaml against the same table."""
from __future__ import annotations

from dataclasses import dataclass, field

from . import matrix

PHASES = ["download", "train_baseline", "teacher_assistant", "student_distill",
          "prune", "quantize", "evaluate", "report"]

# The folders each phase writes: dvc.yaml's outs. They are created up front so a
# phase the matrix needs nothing from still has (empty) outputs for DVC to record.
PHASE_DIRS = {
    "download": ["data/raw", "data/prepared", "logs/download"],
    "train_baseline": ["models/baseline", "logs/train_baseline"],
    "teacher_assistant": ["models/ta", "logs/teacher_assistant"],
    "student_distill": ["models/distill", "logs/student_distill"],
    "prune": ["models/pruned", "logs/prune"],
    "quantize": ["tflite", "logs/quantize"],
    "evaluate": ["metrics", "logs/evaluate"],
    "report": ["reports/figures", "reports/plots", "logs/report"],
}

_TRAIN = {"precision": "train.precision", "optimizer": "train.optimizer", "learning_rate": "train.learning_rate",
          "batch_size": "train.batch_size", "augment": "train.augment",
          "epochs": "train.epochs.{dataset}.{base}", "arch": "zoo.{dataset}.{arch}"}
_KD = {"alpha": "distill.alpha", "temperature": "distill.temperature"}


@dataclass(frozen=True)
class RuleSpec:
    phase: str
    code: tuple[str, ...]                      # modules of src/compressbench it runs
    params: dict[str, str] = field(default_factory=dict)  # name in the script -> dotted key


RULES = {
    # Sources and the mirror are not tracked: the files are verified by hash, so
    # where they came from cannot change them.
    "download": RuleSpec("download", ("data", "io")),
    "prepare": RuleSpec("download", ("data", "io"),
                        {"val_size": "data.val_size", "split_seed": "data.split_seed"}),
    "train_teacher": RuleSpec("train_baseline", ("data", "io", "models", "training"), _TRAIN),
    "train_student_scratch": RuleSpec("train_baseline", ("data", "io", "models", "training"), _TRAIN),
    "distill_ta": RuleSpec("teacher_assistant", ("data", "io", "models", "training", "distill"), _TRAIN | _KD),
    "distill_student": RuleSpec("student_distill", ("data", "io", "models", "training", "distill"), _TRAIN | _KD),
    "prune": RuleSpec("prune", ("data", "io", "models", "training", "prune"),
                      {"scheme": "prune.schemes.{prune}", "fine_tune": "prune.fine_tune",
                       "precision": "train.precision"}),
    "convert": RuleSpec("quantize", ("data", "io", "models", "quantize"),
                        {"schemes": "quantize.schemes.{ptq}"}),
    "qat": RuleSpec("quantize", ("data", "io", "models", "training", "quantize"),
                    {"scheme": "quantize.schemes.{quant}"}),
    "evaluate": RuleSpec("evaluate", ("data", "io", "evaluate"), {"evaluate": "evaluate"}),
    "report": RuleSpec("report", ("io", "matrix", "report", "claims"),
                       {"params": "seeds matrix zoo train distill prune quantize evaluate "
                                  "data.val_size data.split_seed"}),
}


def _get(cfg: dict, dotted: str):
    node = cfg
    for part in dotted.split("."):
        node = node[part]
    return node


def resolve(cfg: dict, template: str, wildcards: dict):
    """The value of a dotted key template for one job.

    `{ptq}` stands for every post-training scheme of the matrix (one job converts
    them all); a space-separated template gives a mapping of several keys."""
    if " " in template:
        return {key: resolve(cfg, key, wildcards) for key in template.split()}
    if "{ptq}" in template:
        return {q: _get(cfg, template.replace("{ptq}", q)) for q in matrix.ptq_schemes(cfg)}
    names = dict(wildcards)
    if "base" in names:
        names["arch"] = matrix.BASES[names["base"]].arch
    return _get(cfg, template.format(**names))


def params_for(rule: str, cfg: dict, wildcards: dict) -> dict:
    return {name: resolve(cfg, t, wildcards) for name, t in RULES[rule].params.items()}


def code_for(rule: str) -> list[str]:
    # Every script runs through runner (logging, threads, the error line).
    return [f"src/compressbench/{m}.py" for m in ("runner", *RULES[rule].code)]


def rules_of(phase: str) -> list[str]:
    return [r for r, spec in RULES.items() if spec.phase == phase]


def planned_jobs(dry_run_stdout: str) -> dict[str, int]:
    """Rule -> number of jobs, from the `job count` table `snakemake -n` prints."""
    jobs, started = {}, False
    for line in dry_run_stdout.splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            started = True
            continue
        if started and parts[:1] == ["total"]:
            break  # the table ends here; job details follow
        if started and len(parts) == 2 and parts[1].isdigit():
            jobs[parts[0]] = int(parts[1])
    return dict(sorted(jobs.items()))
