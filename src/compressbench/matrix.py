"""The experiment matrix: base models, variant names and artefact paths.

The one place names and paths are made; the Snakefile, the stages and the
report all ask here."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product


@dataclass(frozen=True)
class Base:
    name: str
    arch: str            # key into params.zoo.<dataset>
    teacher: str | None  # base whose logits it is distilled from; None = trained on labels
    phase: str           # the DVC phase (and models/ folder) that produces it


BASES = {b.name: b for b in [
    Base("teacher", "teacher", None, "baseline"),
    Base("student-scratch", "student", None, "baseline"),
    Base("ta", "ta", "teacher", "ta"),
    Base("student-kd", "student", "teacher", "distill"),
    Base("student-takd", "student", "ta", "distill"),
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


def cells(cfg: dict) -> list[Cell]:
    m = cfg["matrix"]
    return [Cell(*c) for c in product(m["datasets"], cfg["seeds"], m["bases"], m["prune"], m["quant"])]


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


def ptq_schemes(cfg: dict) -> list[str]:
    """Post-training schemes in the matrix: converted together, one process per model."""
    return [q for q in cfg["matrix"]["quant"] if quant_method(cfg, q) != "qat"]


def qat_schemes(cfg: dict) -> list[str]:
    return [q for q in cfg["matrix"]["quant"] if quant_method(cfg, q) == "qat"]


# ---- artefact paths (relative to the workflow root) -------------------------

def raw_dir(dataset: str) -> str:
    return f"data/raw/{dataset}"


def prepared(dataset: str) -> str:
    return f"data/prepared/{dataset}.npz"


def model_stem(dataset: str, seed, base: str) -> str:
    return f"models/{BASES[base].phase}/{dataset}/s{seed}/{base}"


def model(dataset: str, seed, base: str, prune: str = "none") -> str:
    """The Keras model a variant starts from: the base model or its pruned form."""
    if prune == "none":
        return model_stem(dataset, seed, base) + ".keras"
    return f"models/pruned/{dataset}/s{seed}/{base}{SEP}{prune}.keras"


def logits(dataset: str, seed, base: str) -> str:
    return model_stem(dataset, seed, base) + ".logits.npz"


def tflite(dataset: str, seed, base: str, prune: str, quant: str) -> str:
    return f"tflite/{dataset}/s{seed}/{variant(base, prune, quant)}.tflite"


def metrics(dataset: str, seed, base: str, prune: str, quant: str) -> str:
    return f"metrics/{dataset}/s{seed}/{variant(base, prune, quant)}.json"


def record(path: str) -> str:
    """The JSON written beside an artefact (its metrics, facts or export record)."""
    return path.rsplit(".", 1)[0] + ".json"
