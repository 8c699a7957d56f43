"""From the results frame (one row per .tflite) to what the statistics need: which
runs are one trained model, the samples of independent runs, the paired
differences of two variants sharing base models, and the pooled spreads a
one-seed comparison borrows. Variants are told apart by their methods' traits
(catalog.methods), never by a scheme's name.

Accuracies come out in percentage points (stats.py's unit)."""
from __future__ import annotations

import pandas as pd

from . import matrix
from . import stats as S
from .catalog import methods as M
from .controls import method

POST = "post"  # the training step of a post-training export: none (the model's own weights)
# The keys of a protocol that make a family: runs trained alike vary alike with their seed
# (the epochs, the data split and the KD settings may differ inside a family).
FAMILY_KEYS = ("precision", "optimizer", "learning_rate", "schedule", "batch_size", "augment")


def training_quant(cfg: dict, quant: str) -> str:
    """The quantization step that trained the model behind an export: the scheme itself
    for a method that trains (a QAT scheme for its integer-only export), else POST."""
    q = quant.removesuffix(matrix.INT8_IO)
    m = method(cfg, M.QUANTIZE, q)
    return q if m is not None and m.trains else POST


def trained_model(cfg: dict, dataset: str, variant: str) -> tuple:
    """The key of the trained model a variant exports: its float32, dynamic-range, float16
    and int8 exports share it (one finding, one row in every count), e.g.
    ("mnist", "teacher", "none", "none", "post") for teacher+none+ptq-fp16 and teacher+none+float32."""
    base, prune, cluster, quant = matrix.parse_variant(variant)
    return dataset, base, prune, cluster, training_quant(cfg, quant)


def one_per_model(cfg: dict, rows: list[dict], order: list[str] | None = None) -> list[dict]:
    """The first row of each trained model (rows carry `dataset` and `variant`); with
    `order` (quantization schemes), the export earliest in it represents its model."""
    rank = {q: i for i, q in enumerate(order or [])}
    ranked = sorted(rows, key=lambda r: rank.get(matrix.parse_variant(r["variant"])[3], len(rank)))
    seen, out = set(), []
    for r in ranked:
        key = trained_model(cfg, r["dataset"], r["variant"])
        if key not in seen:
            seen.add(key)
            out.append(r)
    return sorted(out, key=rows.index)


def normalized(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with the columns older results lack: cluster "none", ft_seed 0."""
    missing = {"cluster": matrix.NO_CLUSTER, "ft_seed": 0}
    return frame.assign(**{c: v for c, v in missing.items() if c not in frame})


def family(protocol: dict) -> tuple:
    return tuple(protocol.get(k) for k in FAMILY_KEYS)


class Runs:
    """Every run's test accuracy in pp, indexed once: (dataset, variant) -> {(seed, ft_seed): pp}."""

    def __init__(self, frame: pd.DataFrame):
        self.by: dict[tuple, dict[tuple, float]] = {}
        if len(frame):
            f = normalized(frame)
            for ds, v, s, ft, a in zip(f["dataset"], f["variant"], f["seed"], f["ft_seed"], f["accuracy"]):
                self.by.setdefault((ds, v), {})[(int(s), int(ft))] = 100.0 * float(a)

    def of(self, dataset: str, variant: str) -> dict[tuple, float]:
        return self.by.get((dataset, variant), {})


def seed_means(runs: Runs, dataset: str, variant: str) -> list[float]:
    """One value per independently trained base model (training seed): the mean over its
    fine-tune seeds, so that a seed's fine-tunes do not count as independent runs."""
    by_seed: dict[int, list] = {}
    for (seed, _), acc in sorted(runs.of(dataset, variant).items()):
        by_seed.setdefault(seed, []).append(acc)
    return [sum(v) / len(v) for v in by_seed.values()]


def training_spreads(runs: Runs, cfg: dict) -> dict[tuple, S.Spread]:
    """(dataset, family) -> the pooled training-seed spread of the uncompressed reference
    (float32) exports of every base model with 2 seeds or more: one entry per trained model."""
    protocols = cfg.get("protocols") or {}
    groups: dict[tuple, list] = {}
    for ds, variant in runs.by:
        base, prune, cluster, quant = matrix.parse_variant(variant)
        m = method(cfg, M.QUANTIZE, quant)
        if (prune, cluster) != ("none", matrix.NO_CLUSTER) or m is None or m.role != M.REFERENCE \
                or base not in protocols.get(ds, {}):
            continue
        s = S.spread(seed_means(runs, ds, variant))
        groups.setdefault((ds, family(protocols[ds][base])), []).append((s.sd, int(s.df) + 1))
    return {k: S.pooled(v) for k, v in groups.items()}


def training_spread(runs: Runs, cfg: dict, dataset: str, base: str, pools: dict | None = None) -> S.Spread:
    """The pool of the family `base` trains in on `dataset` (NO_SPREAD where none ran)."""
    protocol = ((cfg.get("protocols") or {}).get(dataset) or {}).get(base)
    pools = training_spreads(runs, cfg) if pools is None else pools
    return pools.get((dataset, family(protocol)), S.NO_SPREAD) if protocol is not None else S.NO_SPREAD


def sample_of(runs: Runs, cfg: dict, dataset: str, variant: str, pools: dict | None = None) -> S.Sample:
    """A variant's independent runs (training seeds) with its family's pool as fallback."""
    base = matrix.parse_variant(variant)[0]
    return S.sample(seed_means(runs, dataset, variant), training_spread(runs, cfg, dataset, base, pools))


def pairs(runs: Runs, dataset: str, a: str, b: str) -> list[tuple[float, float]]:
    """(a, b) accuracies of the runs from the same base model and fine-tune seed."""
    ra, rb = runs.of(dataset, a), runs.of(dataset, b)
    return [(ra[k], rb[k]) for k in sorted(ra) if k in rb]


def _same_base(a: str, b: str) -> bool:
    return matrix.parse_variant(a)[0] == matrix.parse_variant(b)[0]


def paired_spread(runs: Runs, dataset: str, comparisons) -> S.Spread:
    """The pooled spread of the difference a − b over the comparisons (a, b) of one base
    model with 2 shared runs or more: what a one-pair comparison of the same kind borrows."""
    groups = []
    for a, b in comparisons:
        p = pairs(runs, dataset, a, b) if _same_base(a, b) else []
        s = S.spread([x - y for x, y in p])
        if s.known:
            groups.append((s.sd, len(p)))
    return S.pooled(groups)


def contrast(runs: Runs, cfg: dict, dataset: str, a: str, b: str, fallback: S.Spread = S.NO_SPREAD,
             pools: dict | None = None) -> S.Estimate:
    """a − b in pp: paired where they share base models (the same base, training and
    fine-tune seeds), else Welch over their training seeds."""
    p = pairs(runs, dataset, a, b) if _same_base(a, b) else []
    if p:
        return S.paired([x for x, _ in p], [y for _, y in p], fallback)
    return S.welch(sample_of(runs, cfg, dataset, a, pools), sample_of(runs, cfg, dataset, b, pools))
