"""What the claims read: the schemes they are about (by the methods' traits), and once per
training protocol (params claims.protocols) the runs each protocol's claims read, under the
claims' base names, with the params they are read with."""
from __future__ import annotations

import pandas as pd

from . import matrix
from .catalog import methods as M


def matrix_family(params: dict) -> str:
    """The protocol family the matrix's bases train under: params matrix.protocol, else
    train's own name (the study's)."""
    train = params.get("train") or {}
    return (params.get("matrix") or {}).get("protocol") or train.get("name") or "study"


def family_of(params: dict, dataset: str, base: str) -> str | None:
    """The family a base trains under on `dataset` (resolved params `protocols`; None: not resolved)."""
    return (((params.get("protocols") or {}).get(dataset) or {}).get(base) or {}).get("family")


def as_protocol(frame: pd.DataFrame, mapping: dict, params: dict | None = None) -> pd.DataFrame:
    """The runs of one protocol under the claims' base names. A mapping (role -> base under the
    protocol) keeps the bases it names, each under its role's name, and the roles it does not
    name as the matrix trains them (shared); an empty mapping keeps the bases of the matrix's
    own family (the five roles and bases derived under it, such as a catalog architecture's
    student). So no protocol reads another's models, nor the reproduction's (resolved `params`
    name each base's family; without them, an empty mapping keeps every base)."""
    if not len(frame):
        return frame
    if not mapping:
        protocols = (params or {}).get("protocols") or {}
        if not protocols:
            return frame
        family = matrix_family(params)
        keep = [family_of(params, ds, b) == family for ds, b in zip(frame["dataset"], frame["base"])]
        return frame[keep]
    back = {b: role for role, b in mapping.items()}
    shared = set(matrix.BASES) - set(mapping)
    f = frame[frame["base"].isin(set(back) | shared)].copy()
    parts = f["variant"].map(matrix.parse_variant)
    f["base"] = f["base"].map(lambda b: back.get(b, b))
    f["variant"] = [matrix.variant(back.get(b, b), p, q, k) for b, p, k, q in parts]
    return f


def as_protocol_params(params: dict, mapping: dict) -> dict:
    """`params` with each role resolved as the base that plays it under the protocol, so the
    renamed runs find their own protocol (and family pool) under the role's name."""
    if not mapping:
        return params
    protocols = {ds: {**per, **{role: per[b] for role, b in mapping.items() if b in per}}
                 for ds, per in (params.get("protocols") or {}).items()}
    return {**params, "protocols": protocols}


def magnitude_schemes(cfg: dict) -> list[str]:
    """Unstructured, ranked (not random) weight pruning: the schemes the study's pruning claims are about."""
    return M.schemes_with(cfg, M.PRUNE, role=M.COMPRESS, removes="weights", random=False, structured=False)


def eight_bit_schemes(cfg: dict) -> list[str]:
    """Quantization to 8-bit weights and activations that fine-tunes a model or none (not from scratch)."""
    return M.schemes_with(cfg, M.QUANTIZE, role=M.COMPRESS, weight_bits=8, activation_bits=8, from_scratch=False)


def baselines(params: dict) -> set[str]:
    """Pruning schemes that are baselines (a random-ranking method), not techniques the study claims about."""
    try:
        return set(M.schemes_with(params, M.PRUNE, random=True))
    except (KeyError, TypeError):
        return set()
