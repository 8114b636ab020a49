"""Paired comparison of two training variants over seeds: the course's one statistics helper.

Two students trained with the same seed share their initial weights and their batch order, so
the fair comparison is seed by seed: d_s = variant_s - baseline_s. Over n seeds:

    mean  = the average of the d_s           sd = their sample standard deviation
    CI    = mean -/+ t(0.975, n - 1) * sd / sqrt(n)   (a 95% t-interval; scipy gives t)
    wins  = the number of seeds on which the variant is better

The rule for the verdict (lower is better for errors, the default):
    "better"  if the whole interval lies below 0,
    "worse"   if the whole interval lies above 0,
    otherwise "no difference measurable with n seeds" (also when n < 2: no interval at all).
When every seed gives the same non-zero difference, sd is 0 and the interval has zero width, so
the rule gives a verdict; with two or three seeds such a tie is worth more seeds before belief.
"""
import math
from dataclasses import dataclass

from scipy import stats


@dataclass(frozen=True)
class Paired:
    """The paired differences variant - baseline over seeds, summarised."""

    diffs: tuple  # variant - baseline, one per seed
    mean: float
    sd: float  # sample standard deviation of the diffs (0.0 for a single seed)
    low: float  # the confidence interval of the mean difference (nan when n < 2)
    high: float
    wins: int  # seeds on which the variant is better than the baseline
    verdict: str  # "better", "worse" or "no difference measurable with n seeds"
    confidence: float = 0.95

    @property
    def n(self):
        return len(self.diffs)

    def __str__(self):
        if self.n > 1:
            spread = f"{self.confidence:.0%} CI {self.low:+.1f} to {self.high:+.1f}; sd {self.sd:.1f}"
        else:
            spread = "one seed: no interval, sd n/a"
        seeds = "seed" if self.n == 1 else "seeds"
        return f"{self.mean:+.1f} ({spread}), better on {self.wins} of {self.n} {seeds}: {self.verdict}"


def paired(variant, baseline, *, confidence=0.95, higher_is_better=False):
    """Compare variant[i] with baseline[i] (the same seed i). Returns a Paired; str() of it is a
    one-line report. Lower is better (error counts) unless higher_is_better=True."""
    variant, baseline = [float(v) for v in variant], [float(b) for b in baseline]
    if len(variant) != len(baseline) or not variant:
        raise ValueError(f"variant and baseline must be non-empty and of one length (one value per seed), "
                         f"got {len(variant)} and {len(baseline)}")
    if not all(math.isfinite(v) for v in variant + baseline):
        raise ValueError(f"variant and baseline must be finite numbers, got {variant} and {baseline}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    diffs = tuple(v - b for v, b in zip(variant, baseline))
    n = len(diffs)
    mean = sum(diffs) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1)) if n > 1 else 0.0
    if n > 1:
        half = stats.t.ppf(0.5 + confidence / 2, df=n - 1) * sd / math.sqrt(n)
        low, high = mean - half, mean + half
    else:
        low = high = math.nan
    sign = 1 if higher_is_better else -1  # +1: the variant is better when d > 0
    wins = sum(1 for d in diffs if sign * d > 0)
    if n > 1 and sign * low > 0 and sign * high > 0:
        verdict = "better"
    elif n > 1 and sign * low < 0 and sign * high < 0:
        verdict = "worse"
    else:
        verdict = f"no difference measurable with {n} seed{'s' if n != 1 else ''}"
    return Paired(diffs, mean, sd, low, high, wins, verdict, confidence)
