"""The experiment matrix: base models, variant names and artefact paths.

The one place names and artefact paths are made; the rule table (rules.py),
the Snakefile and the report all ask here."""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from itertools import product

from . import io
from .catalog import methods


@dataclass(frozen=True)
class Base:
    name: str
    arch: str            # a zoo key (params.zoo.<dataset>) or an `architectures` name (catalog.architectures)
    teacher: str | None  # base whose logits it is distilled from; None = trained on labels
    phase: str           # the phase (and models/ folder) that produces it
    rule: str            # the rule that trains it
    like: str | None = None  # a derived base (params `derived`): the base it is trained like


BASES = {b.name: b for b in [
    Base("teacher", "teacher", None, "train_baseline", "train_teacher"),
    Base("student-scratch", "student", None, "train_baseline", "train_student_scratch"),
    Base("ta", "ta", "teacher", "teacher_assistant", "distill_ta"),
    Base("student-kd", "student", "teacher", "student_distill", "distill_student"),
    Base("student-takd", "student", "ta", "student_distill", "distill_student"),
]}
TEACHERS = sorted({b.teacher for b in BASES.values() if b.teacher})  # their rules write logits
SEP = "+"  # base+prune+quant; names themselves never contain it


def bases(cfg: dict) -> dict[str, Base]:
    """The five bases and the derived ones of `cfg` (params.resolve expanded their sweeps):
    each trained by the rule of the base it is `like`, with its own teacher and architecture
    (`arch`) if it names them."""
    out = dict(BASES)
    for name, d in (cfg.get("derived") or {}).items():
        like = out[d["like"]]
        out[name] = Base(name, d.get("arch", like.arch), d.get("teacher", like.teacher), like.phase, like.rule,
                         like.name)
    return out


def chain_below(cfg: dict, base: str) -> int:
    """How many generations of students learn (in turn) from `base`: 2 for the teacher
    (TA, then the TAKD student), 1 for the TA, 0 for a student."""
    info = bases(cfg)
    pupils = [b for b, i in info.items() if i.teacher == base]
    return 1 + max(chain_below(cfg, p) for p in pupils) if pupils else 0


def root(cfg: dict, base: str) -> str:
    """The one of the five bases a (derived) base is trained like."""
    all_ = bases(cfg)
    while all_[base].like:
        base = all_[base].like
    return base


NO_CLUSTER = "none"


def variant(base: str, prune: str, quant: str, cluster: str = NO_CLUSTER) -> str:
    """base+prune+quant, or base+prune+cluster+quant when a cluster step is present:
    the name a variant has in the results (made here only; its parts travel as fields)."""
    return SEP.join((base, prune, quant) if cluster == NO_CLUSTER else (base, prune, cluster, quant))


def parse_variant(name: str) -> tuple[str, str, str, str]:
    """(base, prune, cluster, quant) of a variant name (cluster "none" for 3 parts)."""
    parts = name.split(SEP)
    if len(parts) == 3:
        return parts[0], parts[1], NO_CLUSTER, parts[2]
    base, prune, cluster, quant = parts
    return base, prune, cluster, quant


@dataclass(frozen=True)
class Cell:
    dataset: str
    seed: int            # training seed of the base model
    ft: int              # seed of the fine-tune after it (pruning, QAT); 0 for cells without one
    base: str
    prune: str
    quant: str
    cluster: str = NO_CLUSTER  # weight clustering between pruning and quantization

    @property
    def variant(self) -> str:
        return variant(self.base, self.prune, self.quant, self.cluster)

    @property
    def compressed(self) -> bool:
        """Whether its export starts from a pruned or clustered model (not the base model)."""
        return self.prune != "none" or self.cluster != NO_CLUSTER


# Cell field -> matrix key
AXES = {"dataset": "datasets", "base": "bases", "prune": "prune", "cluster": "cluster", "quant": "quant"}


def _selects(cell: Cell, limits: dict) -> bool:
    return all(getattr(cell, field) in limits[key] for field, key in AXES.items() if key in limits)


def runs_in(cell: Cell, only: dict) -> bool:
    """False when one of the cell's schemes is limited (matrix.only) to cells this is not."""
    return all(_selects(cell, only[name]) for name in (cell.base, cell.prune, cell.cluster, cell.quant)
               if name in only)


def fine_tunes(cfg: dict, cell: Cell) -> bool:
    """Whether the cell trains after its base model (a pruning or clustering fine-tune, a trained export)."""
    return cell.compressed or quant_method(cfg, cell.quant).trains


def _key(cfg: dict) -> str:
    return json.dumps({k: cfg.get(k) for k in ("seeds", "matrix", "derived")} | {
        "quant": {n: q["method"] for n, q in cfg["quantize"]["schemes"].items()},
        "prune": {n: q["method"] for n, q in cfg["prune"]["schemes"].items()}})  # in order


def cells(cfg: dict) -> list[Cell]:
    """The product of the matrix's axes (less what `matrix.only` excludes) and the
    derived bases' cells, each run with `seeds` and every seed and fine-tune seed a
    `matrix.replicates` entry selecting it adds (fine-tune seeds where it fine-tunes)."""
    return list(_cells(_key(cfg)))


@functools.lru_cache(maxsize=8)
def _cells(key: str) -> tuple[Cell, ...]:
    cfg = json.loads(key)
    cfg["quantize"] = {"schemes": {n: {"method": m} for n, m in cfg.pop("quant").items()}}
    cfg["prune"] = {"schemes": {n: {"method": m} for n, m in cfg.pop("prune").items()}}
    return tuple(_product(cfg))


def _product(cfg: dict) -> list[Cell]:
    """The product of the matrix's axes and the derived bases' cells, less what
    `matrix.only` excludes, each run with `seeds` and every seed and fine-tune seed a
    `matrix.replicates` entry selecting it adds (fine-tune seeds where it fine-tunes)."""
    m = cfg["matrix"]
    only = m.get("only") or {}
    grid = [Cell(ds, 0, 0, b, p, q, k) for ds, b, p, k, q in
            product(m["datasets"], m["bases"], m["prune"], m.get("cluster", [NO_CLUSTER]), m["quant"])]
    for name, d in (cfg.get("derived") or {}).items():
        grid += [Cell(ds, 0, 0, name, p, q) for ds, p, q in product(d.get("datasets", m["datasets"]),
                                                                      d.get("prune", ["none"]),
                                                                      d.get("quant", ["float32"]))
                 if ds in m["datasets"]]
    grid = [c for c in grid if runs_in(c, only)]  # `only` limits a scheme in derived bases' cells too
    out = []
    for c in grid:
        seeds, fts = list(cfg["seeds"]), [0]
        for r in m.get("replicates") or []:
            if _selects(c, r):
                seeds += r.get("seeds", [])
                fts += r.get("ft_seeds", []) if fine_tunes(cfg, c) else []
        quants = [c.quant] + ([c.quant + INT8_IO] if writes_int8io(quant_method(cfg, c.quant)) else [])
        out += [Cell(c.dataset, s, f, c.base, c.prune, q, c.cluster)
                for q in quants for s, f in product(dict.fromkeys(seeds), dict.fromkeys(fts))]
    return out


def teacher_seed(cfg: dict, dataset: str, seed: int, teacher: str) -> int:
    """The seed of the teacher a model of `seed` learns from: the same seed where the
    matrix trains the teacher with it, else the first of `seeds` (teachers train once)."""
    return int(seed) if (dataset, int(seed), teacher) in _trained(_key(cfg)) else cfg["seeds"][0]


@functools.lru_cache(maxsize=8)
def _trained(key: str) -> frozenset:
    return frozenset((c.dataset, c.seed, c.base) for c in _cells(key))


def base_models(cfg: dict) -> list[tuple[str, int, str]]:
    """(dataset, seed, base) of every base model the run trains: those of its cells and,
    recursively, the teachers they are distilled from."""
    info = bases(cfg)
    todo = list(dict.fromkeys((c.dataset, c.seed, c.base) for c in cells(cfg)))
    need = {}
    while todo:
        ds, seed, b = todo.pop()
        if (ds, seed, b) not in need:
            need[(ds, seed, b)] = True
            if info[b].teacher:
                todo.append((ds, teacher_seed(cfg, ds, seed, info[b].teacher), info[b].teacher))
    order = list(info)
    return sorted(need, key=lambda k: (k[0], k[1], order.index(k[2])))


def job_seed(seed: int, ft: int) -> int:
    """The random seed of a fine-tune: the training seed for ft 0 (one fine-tune per
    model), else a distinct one per (seed, ft)."""
    return (int(seed) + 1_000_003 * int(ft)) % 2**32


# The integer-only export of a QAT scheme's training (the same job): <scheme>-int8io.
INT8_IO = "-int8io"


def quant_method(cfg: dict, quant: str) -> methods.Method:
    """A scheme's method; a QAT scheme's integer-only export has its own, `int8io`."""
    if quant.endswith(INT8_IO) and quant.removesuffix(INT8_IO) in cfg["quantize"]["schemes"]:
        return methods.get("int8io", methods.QUANTIZE)
    return methods.of_scheme(cfg, methods.QUANTIZE, quant)


def writes_int8io(m: methods.Method) -> bool:
    """A quantization-aware training also writes its integer-only export."""
    return m.job == methods.TRAINED and m.role == methods.COMPRESS and m.weight_bits == 8


def _quant_names(cfg: dict) -> list[str]:
    names = list(cfg["matrix"]["quant"])
    for d in (cfg.get("derived") or {}).values():
        names += [q for q in d.get("quant", ["float32"]) if q not in names]
    return names


def _prune_names(cfg: dict) -> list[str]:
    names = list(cfg["matrix"]["prune"])
    for d in (cfg.get("derived") or {}).values():
        names += [p for p in d.get("prune", ["none"]) if p not in names]
    return names


def ptq_schemes(cfg: dict) -> list[str]:
    """Post-training schemes run: one conversion job each per model."""
    return [q for q in _quant_names(cfg) if not quant_method(cfg, q).trains]


def qat_schemes(cfg: dict) -> list[str]:
    """Quantization-aware schemes (one `qat` job each per model, writing two exports)."""
    return [q for q in _quant_names(cfg) if quant_method(cfg, q).trains and quant_method(cfg, q).role != methods.CONTROL]


def control_schemes(cfg: dict) -> list[str]:
    """QAT's float32 control schemes (one `float32_ft` job each per model)."""
    return [q for q in _quant_names(cfg) if quant_method(cfg, q).trains and quant_method(cfg, q).role == methods.CONTROL]


def prune_schemes(cfg: dict) -> list[str]:
    return [p for p in _prune_names(cfg) if p != "none"]


def cluster_schemes(cfg: dict) -> list[str]:
    return [k for k in cfg["matrix"].get("cluster", [NO_CLUSTER]) if k != NO_CLUSTER]


# ---- artefact paths (relative to the workflow root) -------------------------

def raw_dir(dataset: str) -> str:
    return f"data/raw/{dataset}"


def prepared(dataset: str) -> str:
    return f"data/prepared/{dataset}.npz"


def model_stem(dataset: str, seed, base: str, phase: str | None = None) -> str:
    """Path without suffix of a base model's files; `phase` for a wildcard `base`."""
    return f"models/{phase or BASES[base].phase}/{dataset}/s{seed}/{base}"


def model(dataset: str, seed, base: str, prune: str = "none", ft=0, phase: str | None = None,
          cluster: str = NO_CLUSTER) -> str:
    """The Keras model a variant's export starts from: the base model, its pruned form,
    or that clustered (each wildcard its own path segment: nothing is parsed back)."""
    if prune == "none" and cluster == NO_CLUSTER:
        return model_stem(dataset, seed, base, phase) + ".keras"
    if cluster == NO_CLUSTER:
        return f"models/prune/{dataset}/s{seed}/f{ft}/{base}/{prune}.keras"
    return f"models/cluster/{dataset}/s{seed}/f{ft}/{base}/{prune}/{cluster}.keras"


def logits(dataset: str, seed, base: str, phase: str | None = None) -> str:
    return model_stem(dataset, seed, base, phase) + ".logits.npz"


HISTORY = ".history.csv"  # a training job's per-epoch metrics, beside its model


def history(cfg: dict, dataset: str, seed, base: str) -> str:
    """The per-epoch history a base model's training job writes (its `history` output)."""
    return model_stem(dataset, seed, base, bases(cfg)[base].phase) + HISTORY


def _cell_path(dataset, seed, ft, base, prune, cluster, quant) -> str:
    return f"{dataset}/s{seed}/f{ft}/{base}/{prune}/{cluster}/{quant}"


def tflite(dataset: str, seed, ft, base: str, prune: str, quant: str, cluster: str = NO_CLUSTER) -> str:
    return f"tflite/{_cell_path(dataset, seed, ft, base, prune, cluster, quant)}.tflite"


def metrics(dataset: str, seed, ft, base: str, prune: str, quant: str, cluster: str = NO_CLUSTER) -> str:
    return f"metrics/{_cell_path(dataset, seed, ft, base, prune, cluster, quant)}.json"


def predictions(metrics_path: str) -> str:
    """The predicted labels (uint8 per split) beside a metrics JSON."""
    return metrics_path.removesuffix(".json") + ".labels.npz"


def latency(dataset: str, seed, ft, base: str, prune: str, quant: str, cluster: str = NO_CLUSTER) -> str:
    """The latency job's record of one .tflite (apart from the metrics: its own job)."""
    return f"metrics/latency/{_cell_path(dataset, seed, ft, base, prune, cluster, quant)}.json"


def timed(cfg: dict, cell: Cell) -> bool:
    """Whether the cell's export is timed (has a latency job): latency depends on the graph,
    not on the seed, so each cell is timed once, on its first seed's export without a
    repeated fine-tune (every cell has that one), and its other seeds' metrics take it."""
    return (int(cell.seed), int(cell.ft)) == (int(cfg["seeds"][0]), 0)


def latency_of(cfg: dict, dataset: str, base: str, prune: str, quant: str, cluster: str = NO_CLUSTER) -> str:
    """The latency record the metrics of every seed of a cell take (see timed)."""
    return latency(dataset, cfg["seeds"][0], 0, base, prune, quant, cluster)


def base_model(cfg: dict, dataset: str, seed, base: str, prune: str = "none", ft=0,
               cluster: str = NO_CLUSTER) -> str:
    """`model` for any base of `cfg`, derived ones included (their phase is their root's)."""
    return model(dataset, seed, base, prune, ft, bases(cfg)[base].phase, cluster)


def base_logits(cfg: dict, dataset: str, seed, base: str) -> str:
    return logits(dataset, seed, base, bases(cfg)[base].phase)


def sensitivity(dataset: str, seed, base: str) -> str:
    return f"metrics/sensitivity/{dataset}/s{seed}/{base}.csv"


def cell_model(cfg: dict, c: Cell) -> str:
    return base_model(cfg, c.dataset, c.seed, c.base, c.prune, c.ft, c.cluster)


def cell_tflite(c: Cell) -> str:
    return tflite(c.dataset, c.seed, c.ft, c.base, c.prune, c.quant, c.cluster)


def cell_metrics(c: Cell) -> str:
    return metrics(c.dataset, c.seed, c.ft, c.base, c.prune, c.quant, c.cluster)


def cell_predictions(c: Cell) -> str:
    return predictions(cell_metrics(c))


record = io.record_of  # the JSON beside an artefact
