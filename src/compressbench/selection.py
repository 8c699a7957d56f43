"""Choices made on validation images instead of the test set.

Recipes (the best variant, the smallest within N pp of the teacher, the best at each
target compression per architecture, the Pareto front) are chosen on each .tflite's
validation accuracy and reported with its test accuracy (selected_by), among the variants
of the matrix's protocol family only (in_matrix_family: another family's models, the
study protocol's twins, trained on the validation images); val_seen says where the
validation images were not unseen (the model, or a teacher it learnt from, trained on them).

A derived sweep whose members train on the split without the validation images
(protocol `data: train`) ranks its values by each member's final-epoch validation
accuracy (its training history); the value its `like` base runs with is then the
best, within noise of the best, or below it. Pure functions; no I/O."""
from __future__ import annotations

import math

import pandas as pd

from . import claims as C
from . import protocol_frames as PF
from . import matrix
from .catalog.architectures import ZOO

HELD_OUT = "train"  # the training data that leaves the validation images out
BEST, WITHIN, BELOW = "best", "within noise of the best", "below the best"
VALIDATION, TEST = "val_accuracy", "accuracy"


def selected_by(st: pd.DataFrame) -> str:
    """The column recipes are chosen on: validation accuracy; the test accuracy only for
    results evaluated before validation accuracy was measured (no variant has one)."""
    has = VALIDATION in st and st[VALIDATION].notna().any()
    return VALIDATION if has else TEST


TARGETS = (4.0, 10.0, 30.0, 100.0)  # compressions (teacher gzip / variant gzip) a practitioner asks for


def at_targets(st: pd.DataFrame, targets=TARGETS) -> list[tuple[float, pd.Series | None]]:
    """Per target compression, the variant of one dataset at least that much smaller than its
    teacher (compression_ratio) that is most accurate on validation (selected_by); None where
    no variant is that small.

    >>> st = pd.DataFrame({"variant": ["a", "b"], "compression_ratio": [5.0, 12.0], "val_accuracy": [0.9, 0.8]})
    >>> [(t, r["variant"] if r is not None else None) for t, r in at_targets(st, (4, 10, 30))]
    [(4, 'a'), (10, 'b'), (30, None)]"""
    by, out = selected_by(st), []
    for t in targets:
        ok = st[(st["compression_ratio"].astype(float) >= t) & st[by].notna()]
        out.append((t, ok.loc[ok[by].astype(float).idxmax()] if len(ok) else None))
    return out


matrix_family = PF.matrix_family  # the family the first screen chooses among (one definition)


family_of = PF.family_of


def in_matrix_family(st: pd.DataFrame, params: dict) -> pd.Series:
    """Which variants (rows of `st`) come from a base of the matrix's protocol family: the
    recipes and the Pareto front are chosen among them only, since another family's models
    (the study protocol's twins) trained on the validation images the choice is made on.
    Every row of a dataset the params resolve no protocols for (hand-made or older params).

    >>> cfg = {"matrix": {"protocol": "converged"}, "protocols": {"mnist": {
    ...     "teacher": {"family": "converged"}, "teacher-st": {"family": "study"}}}}
    >>> st = pd.DataFrame({"dataset": ["mnist", "mnist"], "base": ["teacher", "teacher-st"]})
    >>> in_matrix_family(st, cfg).tolist()
    [True, False]"""
    family, protocols = matrix_family(params), params.get("protocols") or {}
    keep = [family_of(params, ds, b) == family if protocols.get(ds) else True
            for ds, b in zip(st["dataset"], st["base"])]
    return pd.Series(keep, index=st.index, dtype=bool)


STUDY_STACKS = "study stacks"  # the study's layer stacks (params zoo): teacher, ta, student


def architecture(params: dict, base: str) -> str:
    """The architecture group of a base: STUDY_STACKS for the zoo's layer stacks (the study's
    teacher, TA and student), else the name of its catalog architecture (`mobilenet`); a base
    the params do not declare counts with the study's stacks."""
    info = matrix.bases(params).get(base)
    return STUDY_STACKS if info is None or info.arch in ZOO else info.arch


def targets_by_architecture(st: pd.DataFrame, params: dict,
                            targets=TARGETS) -> list[tuple[str, list[tuple[float, pd.Series | None]]]]:
    """at_targets for each architecture group of one dataset's variants (architecture), the
    study's stacks first, then the catalog's in the order the params declare them: a
    practitioner deploying a MobileNet-style student wants its recipe, not the best of all."""
    groups = st["base"].map(lambda b: architecture(params, b))
    declared = [STUDY_STACKS, *(params.get("architectures") or {})]
    order = sorted(dict.fromkeys(groups), key=lambda g: (declared.index(g) if g in declared else len(declared), g))
    return [(g, at_targets(st[(groups == g).to_numpy()], targets)) for g in order]


def val_seen(params: dict, dataset: str, base: str) -> bool:
    """Whether a base model's validation accuracy is not unseen: it, or a teacher on its
    chain, trained on the validation images (protocol data other than HELD_OUT).

    >>> val_seen({"protocols": {"mnist": {"t": {"data": "train+val"}}}}, "mnist", "t")
    True"""
    protocols = (params.get("protocols") or {}).get(dataset) or {}
    bases = matrix.bases(params) if params.get("matrix") else {}
    seen, b = False, base
    while b is not None and not seen:
        seen = (protocols.get(b) or {}).get("data", HELD_OUT) != HELD_OUT
        b = bases[b].teacher if b in bases else None
    return seen


def final_val_accuracy(history: pd.DataFrame) -> float | None:
    """The last epoch's validation accuracy (Keras names it val_<metric>), None without one
    (or where it is NaN: a diverged run ranks nowhere rather than poisoning the max)."""
    cols = [c for c in history.columns if c.startswith("val_") and c.endswith("accuracy")]
    value = float(history[cols[0]].iloc[-1]) if cols and len(history) else math.nan
    return None if math.isnan(value) else value


def swept_key(protocols: dict, members: list[str]) -> str | None:
    """The one protocol key whose value differs between the members (None: not exactly one)."""
    keys = {k for a in members for b in members for k in {*protocols[a], *protocols[b]}
            if protocols[a].get(k) != protocols[b].get(k)}
    return keys.pop() if len(keys) == 1 else None


def choices(params: dict, histories: dict, n_val: dict, spreads: dict | None = None) -> pd.DataFrame:
    """One row per member of every validation sweep that ran: dataset, sweep, key, like,
    default (the value `like` runs with), value, base, seeds, val_accuracy (mean over seeds),
    gap_pp (best − this), noise_pp (the claims' rule, claims.compare: the binomial error on
    the dataset's n_val images or its measured seed spread, `spreads`, if larger) and verdict
    (BEST, WITHIN or BELOW). histories: (dataset, seed, base) -> history frame."""
    derived, rows = params.get("derived") or {}, []
    for sweep, members in (params.get("sweeps") or {}).items():
        for ds, protocols in (params.get("protocols") or {}).items():
            here = [m for m in members if protocols.get(m, {}).get("data") == HELD_OUT and m in derived]
            key = swept_key(protocols, here) if len(here) >= 2 else None
            if key is None:
                continue
            like = derived[here[0]].get("like")
            found = []
            for m in here:
                accs = [a for (d, _, b), h in sorted(histories.items(), key=lambda kv: kv[0][1])
                        if d == ds and b == m for a in [final_val_accuracy(h)] if a is not None]
                if accs:
                    found.append((m, protocols[m][key], sum(accs) / len(accs), len(accs)))
            if not found:
                continue
            spread = float((spreads or {}).get(ds, math.nan))
            point = {m: {"n": n, "accuracy": a, "accuracy_std": math.nan, "spread": spread} for m, _, a, n in found}
            top = max(found, key=lambda f: f[2])[0]
            for m, value, acc, n in found:
                gap, noise, _ = C.compare(point[top], point[m], n_val.get(ds, 0))
                rows.append({"dataset": ds, "sweep": sweep, "key": key, "like": like,
                             "default": protocols.get(like, {}).get(key), "value": value, "base": m,
                             "seeds": n, "val_accuracy": acc, "gap_pp": gap, "noise_pp": noise,
                             "verdict": BEST if gap == 0 else WITHIN if gap <= noise else BELOW})
    cols = ["dataset", "sweep", "key", "like", "default", "value", "base", "seeds", "val_accuracy", "gap_pp",
            "noise_pp", "verdict"]
    return pd.DataFrame(rows, columns=cols)


def default_verdict(rows: pd.DataFrame) -> str:
    """What the sweep says of the default value: the verdict of the member running it."""
    at = rows[[not pd.isna(d) and float(v) == float(d) for v, d in zip(rows["value"], rows["default"])]]
    if not len(at):
        return "the default value is not in the sweep"
    best = rows.loc[rows["gap_pp"].idxmin()]
    verdict = at.iloc[0]["verdict"]
    return verdict if verdict == BEST else f"{verdict} ({best['key']} {best['value']:g})"
