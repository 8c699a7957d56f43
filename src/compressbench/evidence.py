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

POST = "post"  # the training step of a post-training export: none (the model's own weights)
# The keys of a protocol that make a family: runs trained alike vary alike with their seed
# (the epochs, the data split and the KD settings may differ inside a family).
FAMILY_KEYS = ("precision", "optimizer", "learning_rate", "schedule", "batch_size", "augment")


def method(cfg: dict, step: str, scheme: str) -> M.Method | None:
    """The method of a scheme, None where the config does not declare it (an older params
    file, a cluster scheme without `method:`): such a variant is left out of trait selections."""
    try:
        if step == M.QUANTIZE and scheme.endswith(matrix.INT8_IO):
            return M.get("int8io", M.QUANTIZE)
        return M.of_scheme(cfg, step, scheme)
    except (KeyError, TypeError):
        return None


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


def runs(frame: pd.DataFrame, dataset: str, variant: str) -> pd.DataFrame:
    """The runs of one variant: seed, ft_seed, accuracy in pp."""
    r = frame[(frame["dataset"] == dataset) & (frame["variant"] == variant)]
    ft = r["ft_seed"] if "ft_seed" in r else 0
    return pd.DataFrame({"seed": r["seed"].astype(int), "ft_seed": pd.Series(ft, index=r.index).astype(int),
                         "accuracy": 100.0 * r["accuracy"].astype(float)}).reset_index(drop=True)


def seed_means(frame: pd.DataFrame, dataset: str, variant: str) -> list[float]:
    """One value per independently trained base model (training seed): the mean over its
    fine-tune seeds, so that a seed's fine-tunes do not count as independent runs."""
    return runs(frame, dataset, variant).groupby("seed")["accuracy"].mean().tolist()


def training_spreads(frame: pd.DataFrame, cfg: dict) -> dict[tuple, S.Spread]:
    """(dataset, family) -> the pooled training-seed spread of the uncompressed float32
    exports of every base model with 2 seeds or more: one entry per trained model."""
    protocols = cfg.get("protocols") or {}
    groups: dict[tuple, list] = {}
    refs = frame[(frame["prune"] == "none") & (frame["cluster"] == matrix.NO_CLUSTER)]
    for (ds, variant), _ in refs.groupby(["dataset", "variant"], sort=False):
        m = method(cfg, M.QUANTIZE, matrix.parse_variant(variant)[3])
        base = matrix.parse_variant(variant)[0]
        if m is None or m.role != M.REFERENCE or base not in protocols.get(ds, {}):
            continue
        s = S.spread(seed_means(frame, ds, variant))
        groups.setdefault((ds, family(protocols[ds][base])), []).append((s.sd, int(s.df) + 1))
    return {k: S.pooled(v) for k, v in groups.items()}


def training_spread(frame: pd.DataFrame, cfg: dict, dataset: str, base: str,
                    pools: dict | None = None) -> S.Spread:
    """The pool of the family `base` trains in on `dataset` (NO_SPREAD where none ran)."""
    protocol = ((cfg.get("protocols") or {}).get(dataset) or {}).get(base)
    pools = training_spreads(frame, cfg) if pools is None else pools
    return pools.get((dataset, family(protocol)), S.NO_SPREAD) if protocol is not None else S.NO_SPREAD


def sample_of(frame: pd.DataFrame, cfg: dict, dataset: str, variant: str, pools: dict | None = None) -> S.Sample:
    """A variant's independent runs (training seeds) with its family's pool as fallback."""
    base = matrix.parse_variant(variant)[0]
    return S.sample(seed_means(frame, dataset, variant), training_spread(frame, cfg, dataset, base, pools))


def pairs(frame: pd.DataFrame, dataset: str, a: str, b: str) -> pd.DataFrame:
    """The runs of a and b from the same base model and fine-tune seed: seed, ft_seed, a, b."""
    ra, rb = runs(frame, dataset, a), runs(frame, dataset, b)
    return ra.merge(rb, on=["seed", "ft_seed"], suffixes=("_a", "_b")).rename(
        columns={"accuracy_a": "a", "accuracy_b": "b"})


def paired_spread(frame: pd.DataFrame, dataset: str, comparisons) -> S.Spread:
    """The pooled spread of the difference a − b over the comparisons (a, b) with 2 shared
    runs or more: what a one-pair comparison of the same kind borrows."""
    groups = []
    for a, b in comparisons:
        if matrix.parse_variant(a)[0] != matrix.parse_variant(b)[0]:
            continue  # different base models: not a paired comparison
        p = pairs(frame, dataset, a, b)
        s = S.spread(p["a"] - p["b"])
        if s.known:
            groups.append((s.sd, len(p)))
    return S.pooled(groups)


def contrast(frame: pd.DataFrame, cfg: dict, dataset: str, a: str, b: str, fallback: S.Spread = S.NO_SPREAD,
             pools: dict | None = None) -> S.Estimate:
    """a − b in pp: paired where they share base models (the same base, training and
    fine-tune seeds), else Welch over their training seeds."""
    p = pairs(frame, dataset, a, b)
    if len(p) and matrix.parse_variant(a)[0] == matrix.parse_variant(b)[0]:
        return S.paired(p["a"], p["b"], fallback)
    return S.welch(sample_of(frame, cfg, dataset, a, pools), sample_of(frame, cfg, dataset, b, pools))
