"""The statistics on tiny numbers (stats.py): each rule flips when its numbers cross."""
import math

import numpy as np
import pytest
from scipy import stats as st

from compressbench import stats as S


def test_the_prediction_interval_is_t_based_and_widens_with_fewer_seeds():
    lo, hi = S.prediction_interval(67.93, 0.925, 5)          # the teacher-study5
    assert (round(lo, 2), round(hi, 2)) == (65.12, 70.74)
    assert lo <= 70.42 <= hi and not lo <= 70.80 <= hi        # inside, then outside: the verdict flips
    # n = 3: t(2) = 4.30 against z = 2 (the old rule): 2.15x wider
    half3 = S.prediction_interval(0.0, 1.0, 3)[1]
    assert half3 == pytest.approx(st.t.ppf(0.975, 2) * math.sqrt(1 + 1 / 3))
    # a pooled spread is used with the pool's degrees of freedom, not n - 1
    assert S.prediction_interval(0.0, 1.0, 1, df=4)[1] == pytest.approx(st.t.ppf(0.975, 4) * math.sqrt(2))
    assert math.isnan(S.prediction_interval(0.0, 1.0, 1)[0])   # one run, no pool: no interval


def test_pooled_spread_weights_by_degrees_of_freedom_and_skips_single_runs():
    p = S.pooled([(1.0, 3), (2.0, 5), (9.0, 1)])
    assert p.df == 6 and p.sd == pytest.approx(math.sqrt((2 * 1 + 4 * 4) / 6))
    assert not S.pooled([(1.0, 1)]).known


def test_paired_variance_finds_a_difference_that_the_unpaired_test_misses():
    # three base models of very different accuracy; the variant is 0.5 pp below its control on each
    control = [70.0, 72.0, 74.0]
    variant = [69.4, 71.5, 73.6]
    paired = S.paired(variant, control)
    unpaired = S.welch(S.sample(variant), S.sample(control))
    assert paired.estimate == pytest.approx(unpaired.estimate) == pytest.approx(-0.5)
    assert paired.p_value() < 0.05 < unpaired.p_value()
    assert paired.df == 2 and paired.how == "paired"
    # the same numbers with the pairing broken are no longer a clear difference
    assert S.paired([69.4, 73.6, 71.5], control).p_value() > 0.05


def test_welch_matches_scipy_and_a_one_run_side_borrows_the_pool():
    a, b = [70.1, 70.9, 71.4, 70.2], [69.0, 69.8, 68.1]
    e = S.welch(S.sample(a), S.sample(b))
    ref = st.ttest_ind(a, b, equal_var=False)
    assert e.p_value() == pytest.approx(ref.pvalue) and e.df == pytest.approx(ref.df)
    alone = S.sample([69.0], S.Spread(0.5, 10.0))
    assert alone.spread.df == 10 and S.welch(S.sample(a), alone).defined
    assert not S.welch(S.sample(a), S.sample([69.0])).defined  # no spread for the one run


def test_tost_is_equivalent_only_when_the_interval_lies_inside_the_margin():
    e = S.Estimate(0.1, 0.1, 10.0)
    assert S.tost(e, 0.5) < 0.05 < S.tost(e, 0.2)               # the margin crosses the 90 % interval
    wide = S.Estimate(0.1, 0.5, 10.0)                            # same estimate, more noise
    assert S.tost(wide, 0.5) > 0.05                              # low power is no equivalence
    lo, hi = e.ci(0.90)
    assert (-0.5 < lo and hi < 0.5) and not (-0.2 < lo and hi < 0.2)


def test_holm_adjusts_step_down_and_bh_is_scipys():
    p = [0.01, 0.04, 0.03]
    assert S.adjust(p, S.HOLM) == pytest.approx([0.03, 0.06, 0.06])
    # alone each of 0.04 and 0.03 passes alpha = 0.05; across the claim's three rows they do not
    assert [q < 0.05 for q in S.adjust(p, S.HOLM)] == [True, False, False]
    assert S.adjust(p, S.BH) == pytest.approx(list(st.false_discovery_control(p)))
    assert S.adjust([0.2, math.nan], S.HOLM)[0] == pytest.approx(0.2)  # NaN is no member of the family
    with pytest.raises(ValueError, match="claims.correction"):
        S.adjust(p, "bonferroni")


def test_a_spread_needs_two_values():
    assert not S.spread([1.0]).known and S.spread(np.array([1.0, 3.0])).df == 1
