"""The base models per protocol (the first screen, after the verdicts): per dataset and
protocol family, each role's float32 test accuracy over its training seeds next to the
study's published number, and whether the teacher beats the scratch student beyond noise
(a one-sided test) with the TA between them."""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from . import controls, evidence, matrix, selection
from . import stats as S
from .overview import ROLES, _drop_empty_columns
from .results import DASH, fmt_num, orders
from .run_summary import claim_protocols
from .tables import table


def _reference(params: dict) -> str:
    """The quantization scheme of the uncompressed exports (float32)."""
    try:
        return controls.reference_scheme(params) or "float32"
    except (KeyError, TypeError):
        return "float32"


def _seeds(values: list[float]) -> str:
    """Mean test accuracy % over training seeds, ± their std, and n."""
    if not values:
        return DASH
    n, mean = len(values), sum(values) / len(values)
    sd = S.spread(values).sd if n >= 2 else math.nan
    return fmt_num(mean, 2) + ("" if math.isnan(sd) else f" ± {fmt_num(sd, 2)}") + f" ({n} seed{'s' * (n > 1)})"


def _published(found: dict | None, dataset: str, variants: set[str]) -> str:
    """The study's published accuracies of the reproduction rows that read one of `variants`."""
    rows = [r for r in (found or {}).get(dataset, []) if r.quantity == "accuracy %" and r.variant in variants]
    return ", ".join(f"{fmt_num(100 * r.study, 2)} ({r.notebook.removesuffix('_notebook')})" for r in rows) or DASH


def role_bases(params: dict) -> dict[str, dict[str, str]]:
    """protocol -> {role: the base that plays it} (params claims.protocols; one protocol, the
    matrix's family with the bases themselves, when the claims ran once)."""
    protocols = claim_protocols(params) or {selection.matrix_family(params): {}}
    return {name: {r: mapping.get(r, r) for r in ROLES} for name, mapping in protocols.items()}


@dataclass(frozen=True)
class Beats:
    """Whether the teacher beats the scratch student beyond noise: teacher − scratch (pp),
    the one-sided p of "the teacher is not more accurate", and how it was tested."""
    estimate: float
    p: float
    how: str


def teacher_beats(teacher: list[float], scratch: list[float], alpha: float,
                  pool: S.Spread = S.NO_SPREAD) -> Beats:
    """One-sided test of teacher > scratch over training seeds (pp): Welch's when both sides
    have 2 seeds or more; a one-seed side against the other side's one-sided (1 − alpha)
    prediction bound, mean ± t·s·sqrt(1 + 1/n) (the one seed is one new run of its own
    configuration); one seed each: Welch's with the family's pooled spread `pool`.

    >>> b = teacher_beats([99.0], [98.0, 98.2, 98.1], 0.05)
    >>> b.p < 0.05, b.how
    (True, "one teacher run against the scratch students' one-sided 95 % prediction bound 98.44 %")"""
    t, s = S.sample(teacher, pool), S.sample(scratch, pool)
    level = 1 - 2 * alpha  # the two-sided level whose upper (lower) end is the one-sided bound
    if len(teacher) >= 2 and len(scratch) >= 2 or (len(teacher) == len(scratch) == 1):
        e = S.welch(t, s)
        how = "Welch over both seed sets" if len(teacher) >= 2 else \
            "one seed each: Welch with the family's pooled spread"
        return Beats(e.estimate, S.one_sided_p(e, 0.0, True) if e.defined else math.nan,
                     how if e.defined else "one seed each and no pooled spread")
    one_teacher = len(teacher) == 1
    many = s if one_teacher else t
    sd, n = many.spread.sd, many.n
    e = S.Estimate(t.mean - s.mean, sd * math.sqrt(1 + 1 / n), n - 1.0, "prediction")
    lo, hi = S.prediction_interval(many.mean, sd, n, level=level)
    pct = f"{100 * (1 - alpha):g} %"
    how = (f"one teacher run against the scratch students' one-sided {pct} prediction bound {fmt_num(hi, 2)} %"
           if one_teacher else f"one scratch run against the teachers' one-sided {pct} prediction bound "
                               f"{fmt_num(lo, 2)} %")
    return Beats(e.estimate, S.one_sided_p(e, 0.0, True), how)


def _between(ta: list[float], teacher: list[float], scratch: list[float]) -> str:
    """Whether the TA's mean lies between the teacher's and the scratch student's."""
    if not ta:
        return "the TA did not run"
    m = [sum(v) / len(v) for v in (ta, teacher, scratch)]
    where = ("lies between them" if min(m[1], m[2]) <= m[0] <= max(m[1], m[2]) else
             "lies above both" if m[0] > max(m[1], m[2]) else "lies below both")
    return f"the TA, {_seeds(ta)}, {where}"


def _alpha(params: dict) -> float:
    """The claims' level (params claims.alpha), which the first screen's own tests use too."""
    return float(((params.get("claims") or {}).get("alpha")) or 0.05)


def _ladder(runs: evidence.Runs, params: dict, ds: str, name: str, bases: dict[str, str], ref: str,
            pools: dict) -> str:
    """One line: does the teacher beat the scratch student beyond noise, and is the TA between."""
    seeds = {r: evidence.seed_means(runs, ds, matrix.variant(b, "none", ref)) for r, b in bases.items()}
    teacher, scratch = seeds.get("teacher", []), seeds.get("student-scratch", [])
    label = f"{ds} · {name}"
    if not teacher or not scratch:
        return f"- **{label}**: the teacher or the scratch student did not run."
    alpha = _alpha(params)
    pool = evidence.training_spread(runs, params, ds, bases["teacher"], pools)
    b = teacher_beats(teacher, scratch, alpha, pool)
    verdict = (f"not tested ({b.how})" if math.isnan(b.p) else
               f"**beats it beyond noise** (one-sided p {b.p:.3f}: {b.how})" if b.p < alpha else
               f"does not beat it beyond noise (one-sided p {b.p:.3f}: {b.how})")
    return (f"- **{label}**: teacher {_seeds(teacher)} vs scratch student {_seeds(scratch)}: {verdict}; "
            f"{_between(seeds.get('ta', []), teacher, scratch)}.")


def base_models(frame: pd.DataFrame, params: dict, found: dict | None = None) -> list[str]:
    """"Base models per protocol": per dataset and protocol (claims.protocols) a row, per role
    (teacher, TA, the three students, paired across protocols by claims.protocols; then the
    matrix family's other bases, such as a catalog architecture's student) the float32 test
    accuracy of the base playing it, mean ± std over training seeds with n; a row of the
    study's published numbers where a reproduction row reads one of those bases (`found`:
    reproduction.rows). Under it, per dataset and protocol, whether the teacher beats the
    scratch student beyond noise and whether the TA lies between (_ladder)."""
    if not len(frame):
        return []
    runs, ref = evidence.Runs(frame), _reference(params)
    pools = evidence.training_spreads(runs, params)
    protocols = role_bases(params)
    mapped = {b for bases in protocols.values() for b in bases.values()}
    family = selection.matrix_family(params)
    own = next((n for n, m in protocols.items() if all(m[r] == r for r in ROLES)), next(iter(protocols)))
    datasets = [d for d in orders(params)["dataset"] if d in set(frame["dataset"])]
    datasets += [d for d in dict.fromkeys(frame["dataset"]) if d not in datasets]
    extra = list(dict.fromkeys(b for ds, b in zip(frame["dataset"], frame["base"])
                               if b not in mapped and selection.family_of(params, ds, b) == family))
    columns = [*ROLES, *extra]
    rows, lines = [], []
    for ds in datasets:
        played = {name: {**bases, **({b: b for b in extra} if name == own else {})}
                  for name, bases in protocols.items()}
        for name, bases in played.items():
            rows.append([ds, name, *(_seeds(evidence.seed_means(runs, ds, matrix.variant(bases[r], "none", ref)))
                                     if r in bases else DASH for r in columns)])
        published = [_published(found, ds, {matrix.variant(b[r], "none", ref) for b in played.values() if r in b})
                     for r in columns]
        if any(p != DASH for p in published):
            rows.append([ds, "study's published", *published])
        lines += [_ladder(runs, params, ds, name, bases, ref, pools) for name, bases in protocols.items()]
    rows = [r for r in rows if any(c != DASH for c in r[2:])]
    if not rows:
        return []
    rows, headers = _drop_empty_columns(rows, ["dataset", "protocol family", *columns])
    twins = [f"*{n}*: {', '.join(f'`{b}`' for b in m.values())}" for n, m in protocols.items() if n != own]
    return ["## Base models per protocol", "",
            f"Test accuracy % of each base model's float32 export (`base+none+{ref}`), mean ± std over its "
            "training seeds (n), per protocol family"
            + (f" (the bases playing each role: {'; '.join(twins)})" if twins else "")
            + "; the study's published number where a reproduction row reads that very base. Under it, per "
            "dataset and protocol: does the teacher beat the scratch student beyond noise (one-sided test at α = "
            f"{_alpha(params):g}), and does the TA lie between?", "",
            table(rows, headers), "", *lines, ""]
