"""kd_helpers.stats.paired, checked against scipy's own paired t-test and by hand."""
import math

import pytest
from scipy import stats

from kd_helpers import paired


def test_mean_sd_interval_match_scipy():
    variant, baseline = [290, 301, 284, 296], [303, 310, 292, 301]
    r = paired(variant, baseline)
    d = [v - b for v, b in zip(variant, baseline)]
    assert r.diffs == tuple(d) and r.n == 4
    assert r.mean == pytest.approx(sum(d) / 4)
    assert r.sd == pytest.approx(stats.tstd(d))
    # the interval is the one of scipy's paired t-test (scipy >= 1.10: confidence_interval)
    ci = stats.ttest_rel(variant, baseline).confidence_interval(0.95)
    assert (r.low, r.high) == pytest.approx((ci.low, ci.high))
    assert r.wins == 4 and r.verdict == "better"


def test_worse_and_no_difference():
    assert paired([10, 12, 11], [5, 6, 5]).verdict == "worse"
    r = paired([10, 3, 7], [6, 8, 6])
    assert r.verdict == "no difference measurable with 3 seeds"
    assert r.wins == 1


def test_higher_is_better_flips_the_verdict_and_wins():
    r = paired([0.99, 0.98, 0.985], [0.97, 0.96, 0.968], higher_is_better=True)
    assert r.verdict == "better" and r.wins == 3
    assert paired([0.99, 0.98, 0.985], [0.97, 0.96, 0.968]).verdict == "worse"


def test_one_seed_has_no_interval_and_no_verdict():
    r = paired([500], [576])
    assert math.isnan(r.low) and r.sd == 0.0 and r.wins == 1
    assert r.verdict == "no difference measurable with 1 seed"
    assert "no interval, sd n/a" in str(r) and "of 1 seed:" in str(r)


def test_identical_runs_are_no_difference_and_ties_are_not_wins():
    r = paired([5, 5, 5], [5, 5, 5])
    assert r.mean == 0 and r.wins == 0 and r.verdict.startswith("no difference")


def test_str_is_one_line_with_every_number():
    line = str(paired([290, 301, 284], [303, 310, 292]))
    assert "\n" not in line and "95% CI" in line and "better on 3 of 3 seeds: better" in line


@pytest.mark.parametrize("variant, baseline", [([], []), ([1, 2], [1])])
def test_bad_input_names_the_arguments(variant, baseline):
    with pytest.raises(ValueError, match="variant and baseline"):
        paired(variant, baseline)


def test_bad_confidence():
    with pytest.raises(ValueError, match="confidence must be in"):
        paired([1, 2], [2, 3], confidence=95)


def test_non_finite_values_are_rejected():
    with pytest.raises(ValueError, match="finite"):
        paired([1.0, float("nan")], [1.0, 2.0])
