"""The experiment matrix: base models, variant names and artefact paths.

The one place names and artefact paths are made; the rule table (rules.py),
the Snakefile and the report all ask here."""
from __future__ import annotations

import os
from dataclasses import dataclass
from itertools import product


DATASETS = ("mnist", "cifar10")  # models.INPUT_SHAPES and data's decoders know these


@dataclass(frozen=True)
class Base:
    name: str
    arch: str            # key into params.zoo.<dataset>
    teacher: str | None  # base whose logits it is distilled from; None = trained on labels
    phase: str           # the phase (and models/ folder) that produces it
    rule: str            # the rule that trains it


BASES = {b.name: b for b in [
    Base("teacher", "teacher", None, "train_baseline", "train_teacher"),
    Base("student-scratch", "student", None, "train_baseline", "train_student_scratch"),
    Base("ta", "ta", "teacher", "teacher_assistant", "distill_ta"),
    Base("student-kd", "student", "teacher", "student_distill", "distill_student"),
    Base("student-takd", "student", "ta", "student_distill", "distill_student"),
]}
TEACHERS = sorted({b.teacher for b in BASES.values() if b.teacher})
SEP = "+"  # base+prune+quant; names themselves never contain it


def variant(base: str, prune: str, quant: str) -> str:
    return SEP.join((base, prune, quant))


def parse_variant(name: str) -> tuple[str, str, str]:
    base, prune, quant = name.split(SEP)
    return base, prune, quant


@dataclass(frozen=True)
class Cell:
    dataset: str
    seed: int
    base: str
    prune: str
    quant: str

    @property
    def variant(self) -> str:
        return variant(self.base, self.prune, self.quant)


AXES = {"dataset": "datasets", "base": "bases", "prune": "prune", "quant": "quant"}  # Cell field -> matrix key


def runs_in(cell: Cell, only: dict) -> bool:
    """False when one of the cell's schemes is limited (matrix.only) to cells this is not."""
    for name in (cell.base, cell.prune, cell.quant):
        limits = only.get(name, {})
        if any(getattr(cell, field) not in limits[key] for field, key in AXES.items() if key in limits):
            return False
    return True


def cells(cfg: dict) -> list[Cell]:
    """The product of the matrix's axes and seeds, less the cells `matrix.only` excludes."""
    m = cfg["matrix"]
    only = m.get("only") or {}
    product_ = product(m["datasets"], cfg["seeds"], m["bases"], m["prune"], m["quant"])
    return [c for c in (Cell(*p) for p in product_) if runs_in(c, only)]


def needed_bases(cfg: dict) -> list[str]:
    """Bases in the matrix plus the teachers they are distilled from."""
    need, todo = set(), list(cfg["matrix"]["bases"])
    while todo:
        b = todo.pop()
        if b not in need:
            need.add(b)
            if BASES[b].teacher:
                todo.append(BASES[b].teacher)
    return [b for b in BASES if b in need]


def quant_method(cfg: dict, quant: str) -> str:
    return cfg["quantize"]["schemes"][quant]["method"]


TRAINED_EXPORTS = ("qat", "float32-ft")  # quantization methods that train first: QAT and its control


def ptq_schemes(cfg: dict) -> list[str]:
    """Post-training schemes in the matrix: one conversion job each per model."""
    return [q for q in cfg["matrix"]["quant"] if quant_method(cfg, q) not in TRAINED_EXPORTS]


def qat_schemes(cfg: dict) -> list[str]:
    """Schemes that train before they export (one `qat` job each per model)."""
    return [q for q in cfg["matrix"]["quant"] if quant_method(cfg, q) in TRAINED_EXPORTS]


# ---- artefact paths (relative to the workflow root) -------------------------

def raw_dir(dataset: str) -> str:
    return f"data/raw/{dataset}"


def prepared(dataset: str) -> str:
    return f"data/prepared/{dataset}.npz"


def model_stem(dataset: str, seed, base: str, phase: str | None = None) -> str:
    """Path without suffix of a base model's files; `phase` for a wildcard `base`."""
    return f"models/{phase or BASES[base].phase}/{dataset}/s{seed}/{base}"


def model(dataset: str, seed, base: str, prune: str = "none") -> str:
    """The Keras model a variant starts from: the base model or its pruned form."""
    if prune == "none":
        return model_stem(dataset, seed, base) + ".keras"
    return f"models/prune/{dataset}/s{seed}/{base}{SEP}{prune}.keras"


def history(dataset: str, seed, base: str) -> str:
    return model_stem(dataset, seed, base) + ".history.csv"


def logits(dataset: str, seed, base: str) -> str:
    return model_stem(dataset, seed, base) + ".logits.npz"


def tflite(dataset: str, seed, base: str, prune: str, quant: str) -> str:
    return f"tflite/{dataset}/s{seed}/{variant(base, prune, quant)}.tflite"


def metrics(dataset: str, seed, base: str, prune: str, quant: str) -> str:
    return f"metrics/{dataset}/s{seed}/{variant(base, prune, quant)}.json"


def record(path: str) -> str:
    """The JSON written beside an artefact (its metrics, facts or export record);
    a teacher's logits share its model's record."""
    stem = path.removesuffix(".logits.npz") if path.endswith(".logits.npz") else os.path.splitext(path)[0]
    return stem + ".json"
