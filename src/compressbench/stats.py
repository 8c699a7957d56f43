"""The statistics every verdict rests on: pure functions of numbers (scipy's t
distribution), no frames, no names.

- prediction_interval: where one new run of a configuration should land, t-based,
  from its own seeds or, with one seed, from a pooled spread with that pool's
  degrees of freedom (pooled).
- paired / welch: an effect (a − b) with its standard error, degrees of freedom
  and confidence interval. Paired where a and b share a base model (the variance
  of the difference across fine-tune seeds), Welch where they do not (training-seed
  variances, Welch–Satterthwaite degrees of freedom).
- tost: equivalence within ±margin by two one-sided tests.
- adjust: Holm (or Benjamini–Hochberg) across the rows of one claim.

Accuracies in percentage points throughout.

>>> e = paired([71.0, 70.5, 71.2], [70.0, 70.1, 70.3])
>>> round(e.estimate, 2), e.df
(0.77, 2.0)
>>> prediction_interval(67.93, 0.925, 5)   # doctest: +ELLIPSIS
(65.11..., 70.74...)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as st

LEVEL = 0.95
HOLM, BH = "holm", "bh"
CORRECTIONS = (HOLM, BH)


def t_quantile(df: float, level: float = LEVEL) -> float:
    """The two-sided t quantile (df = inf: the normal's)."""
    q = 0.5 + level / 2
    return float(st.norm.ppf(q)) if math.isinf(df) else float(st.t.ppf(q, df))


@dataclass(frozen=True)
class Spread:
    """A standard deviation and the degrees of freedom it was estimated with (inf: known)."""
    sd: float
    df: float

    @property
    def known(self) -> bool:
        return not math.isnan(self.sd) and self.df > 0


NO_SPREAD = Spread(math.nan, 0.0)


def spread(values) -> Spread:
    """The sample std of `values` with n − 1 degrees of freedom (NO_SPREAD below 2 values)."""
    v = np.asarray(values, dtype=float)
    return Spread(float(np.std(v, ddof=1)), float(len(v) - 1)) if len(v) >= 2 else NO_SPREAD


def pooled(groups) -> Spread:
    """The pooled std of several groups' (sd, n): sqrt(Σ (n−1) s² / Σ (n−1)), df Σ (n−1).

    >>> pooled([(1.0, 3), (2.0, 3)]).df
    4.0"""
    ok = [(float(s), int(n)) for s, n in groups if n >= 2 and not math.isnan(float(s))]
    dof = sum(n - 1 for _, n in ok)
    if not dof:
        return NO_SPREAD
    return Spread(math.sqrt(sum((n - 1) * s * s for s, n in ok) / dof), float(dof))


def prediction_interval(mean: float, sd: float, n: int, df: float | None = None,
                        level: float = LEVEL) -> tuple[float, float]:
    """Where one new run lands with probability `level`: mean ± t(df)·sd·sqrt(1 + 1/n).
    df defaults to n − 1 (sd from the n runs); pass a pool's df when sd is pooled."""
    df = n - 1 if df is None else df
    if n < 1 or df <= 0 or math.isnan(sd):
        return math.nan, math.nan
    half = t_quantile(df, level) * sd * math.sqrt(1 + 1 / n)
    return mean - half, mean + half


@dataclass(frozen=True)
class Estimate:
    """An effect (a − b), its standard error and degrees of freedom; `how` says which test."""
    estimate: float
    se: float
    df: float
    how: str = ""

    def ci(self, level: float = LEVEL) -> tuple[float, float]:
        if not self.defined:
            return math.nan, math.nan
        half = t_quantile(self.df, level) * self.se
        return self.estimate - half, self.estimate + half

    @property
    def defined(self) -> bool:
        return self.df > 0 and not math.isnan(self.se)

    def p_value(self) -> float:
        """Two-sided p of 'no difference'."""
        if not self.defined:
            return math.nan
        if self.se == 0:
            return 0.0 if self.estimate else 1.0
        return float(2 * st.t.sf(abs(self.estimate) / self.se, self.df))


UNDEFINED = Estimate(math.nan, math.nan, 0.0, "no spread")


def paired(a, b, fallback: Spread = NO_SPREAD) -> Estimate:
    """a − b over runs that share a base model (aligned: a[i] and b[i] from the same base
    and fine-tune seed): the mean difference, se = sd(d)/sqrt(n), df n − 1. With one pair,
    sd(d) is `fallback` (a pool of such differences) with its df."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if len(d) == 0:
        return UNDEFINED
    own = spread(d)
    s = own if own.known else fallback
    if not s.known:
        return Estimate(float(d.mean()), math.nan, 0.0, "paired, no spread")
    return Estimate(float(d.mean()), s.sd / math.sqrt(len(d)), s.df,
                    "paired" if own.known else "paired, pooled spread")


@dataclass(frozen=True)
class Sample:
    """One side of an unpaired comparison: its mean over n independent runs and the spread
    of one run (its own, df n − 1, or a pool's)."""
    mean: float
    n: int
    spread: Spread


def sample(values, fallback: Spread = NO_SPREAD) -> Sample:
    """A Sample of independent runs, the pool's spread when they are fewer than 2."""
    v = np.asarray(values, dtype=float)
    own = spread(v)
    return Sample(float(v.mean()) if len(v) else math.nan, len(v), own if own.known else fallback)


def welch(a: Sample, b: Sample) -> Estimate:
    """a − b for independently trained models: se = sqrt(s_a²/n_a + s_b²/n_b), df by
    Welch–Satterthwaite (each side's own df: n − 1, or its pool's)."""
    if not (a.spread.known and b.spread.known) or not (a.n and b.n):
        return Estimate(a.mean - b.mean, math.nan, 0.0, "unpaired, no spread")
    va, vb = a.spread.sd ** 2 / a.n, b.spread.sd ** 2 / b.n
    if va + vb == 0:
        return Estimate(a.mean - b.mean, 0.0, math.inf, "unpaired (Welch)")
    df = (va + vb) ** 2 / ((va ** 2 / a.spread.df if va else 0.0) + (vb ** 2 / b.spread.df if vb else 0.0))
    return Estimate(a.mean - b.mean, math.sqrt(va + vb), df, "unpaired (Welch)")


def one_sided_p(e: Estimate, bound: float, greater: bool) -> float:
    """p of H0 'effect <= bound' (greater) or 'effect >= bound' (not greater)."""
    if not e.defined:
        return math.nan
    if e.se == 0:
        return 0.0 if (e.estimate > bound if greater else e.estimate < bound) else 1.0
    t = (e.estimate - bound) / e.se
    return float(st.t.sf(t, e.df) if greater else st.t.cdf(t, e.df))


def tost(e: Estimate, margin: float) -> float:
    """The TOST p of equivalence within ±margin: the larger of the two one-sided p's
    (equivalent at alpha when p < alpha, i.e. the 1 − 2·alpha CI lies inside ±margin)."""
    lower, upper = one_sided_p(e, -margin, True), one_sided_p(e, margin, False)
    return max(lower, upper) if not (math.isnan(lower) or math.isnan(upper)) else math.nan


def adjust(pvalues, method: str = HOLM) -> list[float]:
    """p-values adjusted across one family (a claim's rows): Holm's step-down, or
    Benjamini–Hochberg (scipy.stats.false_discovery_control). NaN stays NaN and does
    not count in the family."""
    p = np.asarray(list(pvalues), dtype=float)
    out = np.full(len(p), math.nan)
    ok = ~np.isnan(p)
    if not ok.any():
        return out.tolist()
    q = p[ok]
    if method == BH:
        out[ok] = st.false_discovery_control(q, method="bh")
    elif method == HOLM:
        m, order = len(q), np.argsort(q, kind="stable")
        steps = np.maximum.accumulate((m - np.arange(m)) * q[order])
        adj = np.empty(m)
        adj[order] = np.minimum(steps, 1.0)
        out[ok] = adj
    else:
        raise ValueError(f"claims.correction: {method!r}; allowed: {', '.join(CORRECTIONS)}")
    return out.tolist()
