"""Comparing two samples of durations (response times, days to charge, call waits).

Such samples are skewed with long tails, so comparisons use medians and
rank-based or resampling methods rather than means and t-tests.  The estimate
is always median(a) − median(b) (``null_value = 0``) with a seeded
percentile-bootstrap interval, so two runs on the same data agree.

Non-finite values (NaN for a missing time) are dropped and counted in the note.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from thrv.stats._inputs import sample
from thrv.stats.results import FloatArray, TestResult, check_confidence, unavailable

MANN_WHITNEY_METHOD = (
    "Mann–Whitney U test; percentile bootstrap interval for the difference in medians"
)
BOOTSTRAP_METHOD = "Bootstrap test of equal medians (null-shifted percentile bootstrap)"

Seed = int | np.random.Generator | None

# Largest number of resampled values held in memory at once by the bootstrap.
_BATCH_CELLS = 4_000_000


def _median_difference(a: FloatArray, b: FloatArray, axis: int = -1) -> Any:
    return np.median(a, axis=axis) - np.median(b, axis=axis)


def _bootstrap(
    a: FloatArray, b: FloatArray, confidence: float, n_boot: int, seed: Seed
) -> tuple[float, float, FloatArray]:
    """Percentile bootstrap of median(a) − median(b), resampling each group separately.

    Wraps :func:`scipy.stats.bootstrap` (Efron & Tibshirani 1993, ch. 13) and
    returns the interval and the bootstrap distribution.
    """
    rng = np.random.default_rng(seed)
    batch = max(1, _BATCH_CELLS // (a.size + b.size))
    with np.errstate(invalid="ignore"):
        result = stats.bootstrap(
            (a, b),
            _median_difference,
            n_resamples=n_boot,
            batch=batch,
            vectorized=True,
            paired=False,
            confidence_level=confidence,
            method="percentile",
            rng=rng,
        )
    interval = result.confidence_interval
    return float(interval.low), float(interval.high), np.asarray(result.bootstrap_distribution)


def _samples(
    a: npt.ArrayLike, b: npt.ArrayLike, method: str, confidence: float
) -> tuple[FloatArray, FloatArray, str] | TestResult:
    xa, dropped_a = sample(a)
    xb, dropped_b = sample(b)
    dropped = dropped_a + dropped_b
    note = f"{dropped} missing or non-finite value(s) left out." if dropped else ""
    if xa.size == 0 or xb.size == 0:
        empty = (
            "both samples are" if xa.size == xb.size == 0 else ("a is" if xa.size == 0 else "b is")
        )
        return unavailable(
            method, confidence, f"No values to compare: {empty} empty. {note}".strip()
        )
    return xa, xb, note


def _check_n_boot(n_boot: int) -> int:
    if int(n_boot) < 100:
        raise ValueError(f"n_boot must be at least 100, got {n_boot!r}")
    return int(n_boot)


def _median_variance(x: FloatArray) -> float:
    """Price & Bonett's distribution-free variance of a sample median (order statistics)."""
    n = x.size
    xs = np.sort(x)
    c = max(1, round((n + 1) / 2 - np.sqrt(n)))
    alpha_c = min(1.0, 2 * stats.binom.cdf(c - 1, n, 0.5))
    z = stats.norm.ppf(1 - alpha_c / 2) if alpha_c < 1 else np.nan
    return float(((xs[n - c] - xs[c - 1]) / (2 * z)) ** 2)


def price_bonett_interval(a: npt.ArrayLike, b: npt.ArrayLike, confidence: float = 0.95) -> tuple[float, float]:
    """Interval for median(a) − median(b), Price & Bonett (2002), distribution-free.

    Each median's variance comes from two order statistics around it (Bonett & Price 2002);
    the difference is then normal. Unlike a bootstrap it costs one sort per sample, so a pack
    can afford it for hundreds of comparisons of tens of thousands of response times.
    """
    confidence = check_confidence(confidence)
    xa = np.asarray(a, dtype=np.float64)
    xb = np.asarray(b, dtype=np.float64)
    if xa.size < 2 or xb.size < 2:
        return (float("nan"), float("nan"))
    diff = float(np.median(xa) - np.median(xb))
    se = np.sqrt(_median_variance(xa) + _median_variance(xb))
    z = stats.norm.ppf(0.5 + confidence / 2)
    return (diff - z * se, diff + z * se)


def mann_whitney_test(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: Seed = 0,
    interval: str = "bootstrap",
) -> TestResult:
    """Mann–Whitney U (Wilcoxon rank-sum) test that a and b come from the same distribution.

    Wraps :func:`scipy.stats.mannwhitneyu` (two-sided; exact for small samples
    without ties, normal approximation with tie and continuity corrections
    otherwise) — Mann & Whitney (1947).  The test is about ranks (whether a
    value from a tends to exceed one from b), not strictly medians, but it is
    the usual robust choice for skewed times.

    Estimate: median(a) − median(b); interval: percentile bootstrap with
    ``n_boot`` resamples drawn from ``seed``, or with ``interval="price_bonett"`` the
    distribution-free order-statistic interval of :func:`price_bonett_interval` (fast).  Rarely, the test is significant
    while the medians are equal (distributions differing away from the
    middle); :func:`thrv.stats.labels.classify` then says "Comparable".
    """
    confidence = check_confidence(confidence)
    n_boot = _check_n_boot(n_boot)
    parts = _samples(a, b, MANN_WHITNEY_METHOD, confidence)
    if isinstance(parts, TestResult):
        return parts
    xa, xb, note = parts
    test = stats.mannwhitneyu(xa, xb, alternative="two-sided")
    low: float | None = None
    high: float | None = None
    if min(xa.size, xb.size) >= 2 and interval == "price_bonett":
        low, high = price_bonett_interval(xa, xb, confidence)
    elif min(xa.size, xb.size) >= 2:
        low, high, _ = _bootstrap(xa, xb, confidence, n_boot, seed)
    else:
        note = f"{note} A bootstrap interval needs two or more values in each sample.".strip()
    return TestResult(
        method=MANN_WHITNEY_METHOD,
        p_value=float(test.pvalue),
        statistic=float(test.statistic),
        estimate=float(np.median(xa) - np.median(xb)),
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        note=note,
        null_value=0.0,
    )


def bootstrap_median_test(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: Seed = 0,
) -> TestResult:
    """Bootstrap test that a and b have equal medians, with a percentile interval.

    Each group is resampled separately (``n_boot`` times, from ``seed``) and
    d* = median(a*) − median(b*) recorded.  The interval is the percentile
    interval of d*.  For the p-value the groups are first shifted to a common
    median so that H0 holds (Efron & Tibshirani 1993, §16.4); since shifting a
    sample shifts its median by the same amount, the null distribution is
    d* − d, and p = (1 + #{|d* − d| ≥ |d|}) / (n_boot + 1) — never exactly 0.
    Unlike Mann–Whitney this tests medians alone, not whole distributions.
    """
    confidence = check_confidence(confidence)
    n_boot = _check_n_boot(n_boot)
    parts = _samples(a, b, BOOTSTRAP_METHOD, confidence)
    if isinstance(parts, TestResult):
        return parts
    xa, xb, note = parts
    if min(xa.size, xb.size) < 2:
        return unavailable(
            BOOTSTRAP_METHOD,
            confidence,
            f"The bootstrap needs two or more values in each sample. {note}".strip(),
        )
    observed = float(np.median(xa) - np.median(xb))
    low, high, distribution = _bootstrap(xa, xb, confidence, n_boot, seed)
    return bootstrap_result(BOOTSTRAP_METHOD, observed, distribution, low, high, confidence, note)


def bootstrap_result(method: str, observed: float, distribution: FloatArray, low: float, high: float,
                     confidence: float, note: str) -> TestResult:
    """The result of a difference bootstrapped ``len(distribution)`` times: the two-sided
    p-value counts resampled differences at least as far from the observed one as it is
    from zero (the distribution shifted to the null), with the usual +1 so it is never 0."""
    # Rounding in the statistics can put a tied resample a hair either side of |d|.
    tolerance = 1e-12 * max(1.0, abs(observed))
    extreme = np.abs(distribution - observed) >= abs(observed) - tolerance
    p_value = float((1 + np.count_nonzero(extreme)) / (distribution.size + 1))
    return TestResult(
        method=method,
        p_value=min(1.0, p_value),
        statistic=observed,
        estimate=observed,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        note=note,
        null_value=0.0,
    )
