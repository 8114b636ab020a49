"""Comparing training variants over seeds: the course's one statistics helper.

Two students trained with the same seed share initial weights and batch order, so the fair comparison
is seed by seed, d_s = variant_s - baseline_s. Over n seeds: their mean and sample sd, the 95%
t-interval mean -/+ t(0.975, n - 1) sd / sqrt(n), the paired t-test's p, and the wins. The verdict:
"better" ("worse") when the whole interval lies below (above) 0, else "no difference measurable".
A family of m comparisons: each interval is wrong one time in twenty, so Holm's rule judges them
together (the k-th smallest p counts only if p(j) <= 0.05 / (m - j + 1) for every j <= k), keeping the
chance of any false verdict at 5%; a lone verdict in a family is flagged for replication.
"""
import math
import statistics
from dataclasses import dataclass

from .utils import check_number


@dataclass(frozen=True)
class Paired:
    """The paired differences variant - baseline over seeds, summarised. str() is a one-line report
    with decimals chosen from the data; f"{r:.3f}" (any float format) sets them."""

    diffs: tuple  # variant - baseline, one per seed
    mean: float
    sd: float  # sample standard deviation of the diffs (0.0 for a single seed)
    low: float  # the confidence interval of the mean difference (nan when n < 2)
    high: float
    wins: int  # seeds on which the variant is better than the baseline
    p: float  # two-sided paired t-test (nan when n < 2)
    higher_is_better: bool = False
    confidence: float = 0.95

    @property
    def n(self):
        return len(self.diffs)

    @property
    def call(self):
        """'better', 'worse' or 'none': the verdict as a code."""
        if self.n < 2 or (self.low <= 0 <= self.high):
            return "none"
        return "better" if (self.high < 0) != self.higher_is_better else "worse"

    @property
    def verdict(self):
        return self.call if self.call != "none" else f"no difference measurable with {self.n} seed{'s' * (self.n != 1)}"

    def __format__(self, spec):
        if not spec:
            scale = max([abs(d) for d in self.diffs if d] or [1.0])
            spec = f".{max(1, 1 - math.floor(math.log10(scale)))}f"  # two significant digits, at least one decimal
        spread = (f"{self.confidence:.0%} CI {self.low:+{spec}} to {self.high:+{spec}}; sd {self.sd:{spec}}"
                  if self.n > 1 else "one seed: no interval")
        return f"{self.mean:+{spec}} ({spread}), better on {self.wins} of {self.n}: {self.verdict}"

    def __str__(self):
        return format(self, "")


def paired(variant, baseline, *, higher_is_better=False, confidence=0.95):
    """Compare variant[i] with baseline[i] (the same seed i); lower is better (error counts) unless
    higher_is_better. Values may be Python, NumPy or 0-d tensor numbers."""
    from scipy import stats

    variant, baseline = [float(v) for v in variant], [float(b) for b in baseline]
    if len(variant) != len(baseline) or not variant or not all(map(math.isfinite, variant + baseline)):
        raise ValueError(f"variant and baseline must be finite numbers, one per seed and as many of each, "
                         f"got {variant} and {baseline}")
    check_number("confidence", confidence, low=0, high=1, low_open=True)
    diffs = tuple(v - b for v, b in zip(variant, baseline))
    n, mean = len(diffs), statistics.fmean(diffs)
    sd = statistics.stdev(diffs) if n > 1 else 0.0
    low = high = p = math.nan
    if n > 1:
        half = stats.t.ppf(0.5 + confidence / 2, df=n - 1) * sd / math.sqrt(n)
        low, high = mean - half, mean + half
        p = 2 * stats.t.sf(abs(mean) / (sd / math.sqrt(n)), df=n - 1) if sd > 0 else float(mean == 0)
    wins = sum(1 for d in diffs if (d > 0 if higher_is_better else d < 0))
    return Paired(diffs, mean, sd, low, high, wins, p, higher_is_better, confidence)


@dataclass(frozen=True)
class Family:
    """A family of paired comparisons judged together by Holm's rule; .verdicts: name -> sentence."""

    results: dict
    verdicts: dict
    level: float = 0.05

    @property
    def m(self):
        return len(self.results)

    def __str__(self):
        found = [name for name, v in self.verdicts.items() if not v.startswith("no difference")]
        return (f"{self.m} comparisons, judged together (Holm's rule at {self.level:.0%}): "
                f"{len(found)} measurable" + (f" ({', '.join(map(str, found))})" if found else ""))


def family(results, *, level=0.05):
    """Holm's step-down rule over a dict name -> Paired (each at confidence 1 - level)."""
    order = sorted(results, key=lambda name: (math.isnan(results[name].p), results[name].p))
    m, verdicts, still = len(results), {}, True
    for rank, name in enumerate(order):
        r = results[name]
        still = still and r.call != "none" and r.p <= level / (m - rank)
        verdicts[name] = r.call if still else f"no difference measurable (Holm, {m} comparisons, {r.n} seed{'s' * (r.n != 1)})"
    survivors = [name for name in order if verdicts[name] in ("better", "worse")]
    if len(survivors) == 1 and m >= 3:
        verdicts[survivors[0]] += f" (the only one of {m}: replicate with more seeds before believing it)"
    return Family(results, {name: verdicts[name] for name in results}, level)


def choose(scores, *, key=None, higher_is_better=False):
    """The course's one rule for choosing a setting on validation (dict setting -> per-seed scores):
    the setting with the best mean, unless a simpler one (earlier in the dict, or in sorted order by
    key) is not measurably worse than it seed by seed; then the simplest such setting. A best mean is
    partly luck, so among settings within noise of it the simplest wins."""
    settings = sorted(scores, key=key) if key else list(scores)
    sign = -1 if higher_is_better else 1
    best = min(settings, key=lambda s: sign * statistics.fmean(scores[s]))
    for s in settings:
        if s == best or len(scores[s]) < 2:
            return best
        if paired(scores[s], scores[best], higher_is_better=higher_is_better).call != "worse":
            return s
    return best
