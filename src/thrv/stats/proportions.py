"""Proportions: intervals for one rate of success and tests comparing two.

Outcome rates (charge/summons rate, victim satisfaction, 999 calls answered in
10 seconds) are binomial proportions.  Intervals use Wilson's score method,
which behaves at 0% and 100% where the textbook Wald interval collapses; the
comparison of two proportions is the pooled z-test with Newcombe's hybrid
score interval for the difference.

Estimates are differences of proportions on the 0–1 scale (multiply by 100
for percentage points), with ``null_value = 0``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import stats

from thrv.stats._inputs import as_count, as_float_array, valid_counts
from thrv.stats.results import (
    FloatArray,
    TestResult,
    TestResultArray,
    check_confidence,
    unavailable,
)

TWO_PROPORTION_METHOD = "Two-proportion z-test (pooled); Newcombe hybrid score interval for p1 − p2"


def _check_successes(successes: int, n: int, name: str = "successes") -> None:
    if successes > n:
        raise ValueError(f"{name} ({successes}) cannot exceed the number of trials ({n})")


def wilson_interval(successes: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson (1927) score interval for a binomial proportion ``successes / n``.

    Wraps ``statsmodels.stats.proportion.proportion_confint(method="wilson")``.
    It is the interval the ONS and OHID (formerly PHE) use for proportions
    because it stays inside [0, 1] and keeps close to its nominal coverage
    for small ``n`` and for proportions near 0 or 1.  Returns ``(nan, nan)``
    when ``n == 0``.
    """
    confidence = check_confidence(confidence)
    x = as_count(successes, "successes")
    trials = as_count(n, "n")
    _check_successes(x, trials)
    if trials == 0:
        return (math.nan, math.nan)
    from statsmodels.stats.proportion import proportion_confint  # slow to import: only when used

    low, high = proportion_confint(x, trials, alpha=1 - confidence, method="wilson")
    # The limits are exactly 0 at x = 0 and 1 at x = n; rounding can miss by an ulp.
    low = 0.0 if x == 0 else min(max(float(low), 0.0), 1.0)
    high = 1.0 if x == trials else min(max(float(high), 0.0), 1.0)
    return (low, high)


def wilson_interval_many(
    successes: npt.ArrayLike, n: npt.ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """:func:`wilson_interval` over arrays (broadcast together).

    Wilson's formula: centre (p + z²/2n)/(1 + z²/n), half-width
    z·√(p(1−p)/n + z²/4n²)/(1 + z²/n).  Rows with ``n == 0`` or with
    invalid counts are NaN.
    """
    confidence = check_confidence(confidence)
    x, trials = np.broadcast_arrays(as_float_array(successes), as_float_array(n))
    ok = valid_counts(x) & valid_counts(trials) & (trials > 0) & (x <= trials)
    z = float(stats.norm.isf((1 - confidence) / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / trials
        denom = 1 + z**2 / trials
        centre = (p + z**2 / (2 * trials)) / denom
        half = z * np.sqrt(p * (1 - p) / trials + z**2 / (4 * trials**2)) / denom
    low = np.where(ok, np.where(x == 0, 0.0, np.clip(centre - half, 0.0, 1.0)), np.nan)
    high = np.where(ok, np.where(x == trials, 1.0, np.clip(centre + half, 0.0, 1.0)), np.nan)
    return low, high


def two_proportion_test(
    x1: float, n1: float, x2: float, n2: float, confidence: float = 0.95
) -> TestResult:
    """Pooled two-proportion z-test of p1 = p2, with Newcombe's interval for p1 − p2.

    Test: z = (p1 − p2)/√(p̄(1 − p̄)(1/n1 + 1/n2)), p̄ = (x1 + x2)/(n1 + n2),
    two-sided normal p-value (``statsmodels.stats.proportion.proportions_ztest``).
    Estimate: p1 − p2 as a proportion (0.05 = 5 percentage points).
    Interval: Newcombe's (1998) hybrid score interval, method 10, built from
    the two Wilson intervals
    (``confint_proportions_2indep(method="newcomb")``), which behaves at
    0% and 100% where the Wald interval does not.

    Edge cases: ``n1`` or ``n2`` zero gives no result and a note; when both
    groups are all successes or all failures the proportions agree exactly,
    so z = 0 and p = 1 (the pooled variance is zero and the z-test itself is
    undefined), and the interval is still Newcombe's.
    """
    confidence = check_confidence(confidence)
    a, m = as_count(x1, "x1"), as_count(n1, "n1")
    b, k = as_count(x2, "x2"), as_count(n2, "n2")
    _check_successes(a, m, "x1")
    _check_successes(b, k, "x2")
    if m == 0 or k == 0:
        which = (
            "both groups are"
            if m == k == 0
            else ("the first group is" if m == 0 else "the second group is")
        )
        return unavailable(
            TWO_PROPORTION_METHOD,
            confidence,
            f"No trials: {which} empty, so a proportion is undefined.",
        )
    from statsmodels.stats.proportion import (  # slow import
        confint_proportions_2indep,
        proportions_ztest,
    )

    pooled = (a + b) / (m + k)
    if pooled in (0.0, 1.0):
        z, p_value = 0.0, 1.0
        note = (
            "Both groups are all successes or all failures: the proportions agree exactly "
            "(p = 1 by convention; the pooled z-test is undefined)."
        )
    else:
        z_stat, p_stat = proportions_ztest(np.array([a, b]), np.array([m, k]))
        z, p_value = float(z_stat), float(p_stat)
        note = ""
    low, high = confint_proportions_2indep(
        a, m, b, k, method="newcomb", compare="diff", alpha=1 - confidence
    )
    return TestResult(
        method=TWO_PROPORTION_METHOD,
        p_value=p_value,
        statistic=z,
        estimate=a / m - b / k,
        ci_low=float(low),
        ci_high=float(high),
        confidence=confidence,
        note=note,
        null_value=0.0,
    )


def two_proportion_test_many(
    x1: npt.ArrayLike,
    n1: npt.ArrayLike,
    x2: npt.ArrayLike,
    n2: npt.ArrayLike,
    confidence: float = 0.95,
) -> TestResultArray:
    """:func:`two_proportion_test` over arrays (broadcast together).

    Same formulae, written with numpy; rows with an empty group or invalid
    counts are NaN.
    """
    confidence = check_confidence(confidence)
    a, m, b, k = (
        np.array(v, dtype=np.float64)
        for v in np.broadcast_arrays(*(as_float_array(v) for v in (x1, n1, x2, n2)))
    )
    ok = (
        valid_counts(a)
        & valid_counts(m)
        & valid_counts(b)
        & valid_counts(k)
        & (m > 0)
        & (k > 0)
        & (a <= m)
        & (b <= k)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = a / m, b / k
        pooled = (a + b) / (m + k)
        se = np.sqrt(pooled * (1 - pooled) * (1 / m + 1 / k))
        z = np.where(se > 0, (p1 - p2) / se, 0.0)
    p_value = 2 * stats.norm.sf(np.abs(z))
    low1, high1 = wilson_interval_many(a, m, confidence)
    low2, high2 = wilson_interval_many(b, k, confidence)
    diff = p1 - p2
    ci_low = diff - np.sqrt((p1 - low1) ** 2 + (high2 - p2) ** 2)
    ci_high = diff + np.sqrt((p2 - low2) ** 2 + (high1 - p1) ** 2)

    def keep(values: FloatArray) -> FloatArray:
        return np.where(ok, values, np.nan)

    return TestResultArray(
        method=TWO_PROPORTION_METHOD,
        p_value=keep(p_value),
        statistic=keep(z),
        estimate=keep(diff),
        ci_low=keep(ci_low),
        ci_high=keep(ci_high),
        confidence=confidence,
        null_value=0.0,
    )
