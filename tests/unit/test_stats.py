"""kd_helpers.stats: paired against SciPy's paired t-test, its one-line report against the values it
prints, family against an independent Holm step-down, and choose on hand cases."""
import math
import re

import numpy as np
import pytest
import torch
from scipy import stats

from kd_helpers import Paired, choose, family, paired

NUMBER = re.compile(r"[+-]?\d+\.\d+")


# -- paired ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant, baseline", [([290, 301, 284, 296], [303, 310, 292, 301]),
                                               ([0.9812, 0.9790, 0.9833], [0.9801, 0.9795, 0.9811]),
                                               ([5, 9, 2, 7, 7, 1], [6, 6, 4, 9, 3, 3])])
def test_mean_sd_interval_and_p_match_scipy(variant, baseline):
    r = paired(variant, baseline)
    d = [v - b for v, b in zip(variant, baseline)]
    assert r.diffs == pytest.approx(tuple(d)) and r.n == len(d)
    assert r.mean == pytest.approx(np.mean(d)) and r.sd == pytest.approx(stats.tstd(d))
    test = stats.ttest_rel(variant, baseline)
    ci = test.confidence_interval(0.95)
    assert (r.low, r.high) == pytest.approx((ci.low, ci.high))
    assert r.p == pytest.approx(test.pvalue)
    assert paired(variant, baseline, confidence=0.8).high == pytest.approx(test.confidence_interval(0.8).high)


def test_verdicts_and_wins():
    r = paired([290, 301, 284, 296], [303, 310, 292, 301])
    assert r.wins == 4 and (r.call, r.verdict) == ("better", "better")
    worse = paired([10, 12, 11], [5, 6, 5])
    assert worse.wins == 0 and (worse.call, worse.verdict) == ("worse", "worse")
    none = paired([10, 3, 7], [6, 8, 6])
    assert none.wins == 1 and none.call == "none" and none.verdict == "no difference measurable with 3 seeds"


def test_higher_is_better_flips_the_verdict_and_wins_not_p():
    accuracies = [0.99, 0.98, 0.985], [0.97, 0.96, 0.968]
    up, down = paired(*accuracies, higher_is_better=True), paired(*accuracies)
    assert (up.call, up.wins) == ("better", 3) and (down.call, down.wins) == ("worse", 0)
    assert up.p == down.p and (up.low, up.high) == (down.low, down.high)


def test_one_seed_has_no_interval_and_no_verdict():
    r = paired([500], [576])
    assert math.isnan(r.low) and math.isnan(r.high) and math.isnan(r.p) and r.sd == 0.0 and r.wins == 1
    assert r.call == "none" and r.verdict == "no difference measurable with 1 seed"
    assert str(r) == "-76.0 (one seed: no interval), better on 1 of 1: no difference measurable with 1 seed"


def test_identical_runs_and_constant_differences():
    same = paired([5, 5, 5], [5, 5, 5])
    assert same.mean == 0 and same.wins == 0 and same.call == "none" and same.p == 1.0  # ties are not wins
    shifted = paired([6, 7, 8], [5, 6, 7])  # sd 0: the interval is the point +1
    assert (shifted.low, shifted.high, shifted.p, shifted.call) == (1.0, 1.0, 0.0, "worse")


def test_numpy_and_tensor_numbers_are_accepted():
    plain = paired([3, 1, 4], [2, 2, 2])
    assert paired(np.array([3, 1, 4]), [np.int64(2)] * 3) == plain
    assert paired(torch.tensor([3, 1, 4]), [torch.tensor(2.0)] * 3) == plain


@pytest.mark.parametrize("variant, baseline", [([], []), ([1, 2], [1]), ([1.0, float("nan")], [1.0, 2.0]),
                                               ([1.0, 2.0], [1.0, float("inf")])])
def test_bad_input_names_the_arguments(variant, baseline):
    with pytest.raises(ValueError, match="variant and baseline must be finite numbers, one per seed"):
        paired(variant, baseline)


def test_a_confidence_outside_0_1_is_refused():
    with pytest.raises(ValueError, match="confidence"):
        paired([1, 2, 3], [2, 3, 5], confidence=95)


# -- the one-line report ----------------------------------------------------------------------------


def printed(r, text):
    """The mean, interval ends and sd as printed, checked to be the true values rounded to the printed
    decimals; returns the number of decimals."""
    numbers = NUMBER.findall(text)[:4]
    decimals = len(numbers[0].split(".")[1])
    for shown, value in zip(numbers, (r.mean, r.low, r.high, r.sd)):
        assert len(shown.split(".")[1]) == decimals
        assert abs(float(shown) - value) <= 0.5 * 10**-decimals * (1 + 1e-9), (shown, value)
    return decimals


@pytest.mark.parametrize("variant, baseline", [([0.991, 0.985, 0.987], [0.982, 0.980, 0.984]),  # accuracies
                                               ([0.0312, 0.0405, 0.0288], [0.0297, 0.0311, 0.0301]),  # ECEs
                                               ([0.00041, 0.00052, 0.00039], [0.00012, 0.00019, 0.00011])])
def test_str_of_fractions_prints_their_digits(variant, baseline):
    r = paired(variant, baseline)
    line = str(r)
    assert "\n" not in line and "+0.0 " not in line and "sd 0.0;" not in line
    decimals = printed(r, line)
    assert float(NUMBER.findall(line)[0]) != 0  # the mean, shown with digits of its own
    assert 10**-decimals <= max(abs(d) for d in r.diffs) / 10  # two significant digits of the largest difference
    assert line.endswith(f"better on {r.wins} of 3: {r.verdict}") and "95% CI" in line


def test_str_of_error_counts_keeps_one_decimal():
    r = paired([290, 301, 284], [303, 310, 292])
    assert str(r) == "-10.0 (95% CI -16.6 to -3.4; sd 2.6), better on 3 of 3: better"
    assert printed(r, str(r)) == 1


@pytest.mark.parametrize("spec, decimals", [(".3f", 3), (".1f", 1), (".5f", 5)])
def test_format_sets_the_decimals(spec, decimals):
    r = paired([0.991, 0.985, 0.987], [0.982, 0.980, 0.984])
    text = format(r, spec)
    assert text.startswith(f"{r.mean:+{spec}} (95% CI {r.low:+{spec}} to {r.high:+{spec}}; sd {r.sd:{spec}})")
    assert printed(r, text) == decimals and f"{r:{spec}}" == text


# -- family: Holm's step-down rule ----------------------------------------------------------------


def holm_rejects(pvalues, level=0.05):
    """An independent Holm: adjusted p(i) = max over j <= i of min(1, (m - j + 1) p(j)) in sorted order."""
    m, order = len(pvalues), sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    adjusted, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return [a <= level for a in adjusted]


def made_up(p, call="better"):
    """A Paired with only what family reads (p, call through low/high, n)."""
    low, high = (-2.0, -1.0) if call == "better" else (1.0, 2.0) if call == "worse" else (-1.0, 1.0)
    return Paired((0.0, 0.0, 0.0), 0.0, 1.0, low, high, 0, p)


def test_holm_by_hand():
    # m = 4: p(1) = 0.010 <= 0.05/4, p(2) = 0.013 <= 0.05/3, p(3) = 0.030 > 0.05/2: it stops there,
    # and 0.040 is not a verdict although 0.040 < 0.05
    results = {"a": made_up(0.030), "b": made_up(0.010), "c": made_up(0.040, "worse"), "d": made_up(0.013, "worse")}
    f = family(results)
    assert list(f.verdicts) == ["a", "b", "c", "d"]  # the caller's order
    assert f.verdicts["b"] == "better" and f.verdicts["d"] == "worse"
    assert f.verdicts["a"] == f.verdicts["c"] == "no difference measurable (Holm, 4 comparisons, 3 seeds)"
    assert f.m == 4 and str(f) == "4 comparisons, judged together (Holm's rule at 5%): 2 measurable (b, d)"
    assert holm_rejects([0.030, 0.010, 0.040, 0.013]) == [False, True, False, True]  # the oracle agrees


def test_family_matches_an_independent_holm_on_random_sweeps():
    rng = np.random.default_rng(0)
    seen = set()
    for trial in range(200):
        m, n = int(rng.integers(2, 8)), int(rng.integers(3, 8))
        effects = rng.choice([0.0, 0.5, 2.0, 4.0], size=m)
        results = {f"s{k}": paired(list(rng.normal(effects[k], 1.0, n)), [0.0] * n) for k in range(m)}
        pvalues = [stats.ttest_1samp(r.diffs, 0.0).pvalue for r in results.values()]
        expected = holm_rejects(pvalues)
        got = [not v.startswith("no difference") for v in family(results).verdicts.values()]
        assert got == expected, (trial, pvalues)
        seen.add(sum(expected) / m)
    assert min(seen) == 0 and max(seen) == 1 and len(seen) > 5  # the sweeps cover none, some and all


def test_a_lone_survivor_is_flagged_for_replication():
    f = family({"a": made_up(0.001), "b": made_up(0.5, "none"), "c": made_up(0.3, "none")})
    assert f.verdicts["a"].startswith("better") and "replicate" in f.verdicts["a"]
    assert "only one of 3" in f.verdicts["a"] and "before believing" in f.verdicts["a"]
    assert str(f).endswith("1 measurable (a)")
    two = family({"a": made_up(0.001), "b": made_up(0.002)})  # two survivors: no flag
    assert two.verdicts == {"a": "better", "b": "better"}
    small = family({"a": made_up(0.001), "b": made_up(0.5, "none")})  # one of two: too small a family to flag
    assert small.verdicts["a"] == "better"


def test_one_seed_results_never_survive():
    f = family({"a": paired([1], [5]), "b": made_up(0.001)})
    assert f.verdicts["a"].startswith("no difference") and f.verdicts["b"] == "better"


# -- choose -----------------------------------------------------------------------------------------


def test_choose_takes_the_simplest_setting_within_noise_of_the_best():
    scores = {"simple": [100, 104, 98, 101], "complex": [97, 106, 96, 102]}  # complex: best mean, by 0.5
    assert paired(scores["simple"], scores["complex"]).call == "none"
    assert choose(scores) == "simple"
    assert choose(dict(reversed(list(scores.items())))) == "complex"  # the dict's order says which is simpler


def test_choose_takes_the_best_when_the_simpler_ones_are_measurably_worse():
    scores = {"T=1": [130, 134, 131, 133], "T=2": [101, 104, 99, 102], "T=4": [100, 103, 100, 100]}
    assert paired(scores["T=1"], scores["T=4"]).call == "worse"
    assert paired(scores["T=2"], scores["T=4"]).call == "none"
    assert choose(scores) == "T=2"  # T=1 is measurably worse; T=2 is within noise of the best (T=4)
    assert choose({"a": [130, 134, 131], "b": [100, 103, 100]}) == "b"


def test_choose_with_one_seed_takes_the_best_mean():
    assert choose({"a": [5], "b": [3], "c": [4]}) == "b"
    assert choose({"a": [0.5], "b": [0.7]}, higher_is_better=True) == "b"


def test_choose_higher_is_better_and_key():
    accuracies = {"wide": [0.981, 0.978, 0.983], "narrow": [0.952, 0.955, 0.951]}
    assert choose(accuracies, higher_is_better=True) == "wide"
    assert choose(accuracies) == "narrow"  # lower is better by default
    within = {8: [10, 13, 11], 2: [11, 12, 12], 4: [9, 14, 10]}  # all within noise of each other
    assert choose(within, key=lambda t: t) == 2  # the smallest by key is the simplest
