"""A proportion against a fixed figure: a share of the population, a national rate, a target.

A Police and Crime Plan compares its own figures with ones it does not sample: the share
of Black and minority ethnic officers with the share of residents (Census), the force's
Special Constable turnover with the national figure. The comparator is treated as known
(it comes from a far larger base), so the question is a one-sample one: could ``x`` of
``n`` arise from a proportion of ``p0``? The exact binomial test answers it at any size;
the interval is Wilson's for the force's own proportion.

Estimates are differences ``x/n − p0`` on the 0–1 scale (``null_value = 0``), so
:func:`thrv.stats.labels.classify` reads "above" as a positive estimate.
"""

from __future__ import annotations

import math

from scipy import stats

from thrv.stats._inputs import as_count
from thrv.stats.proportions import wilson_interval
from thrv.stats.results import TestResult, check_confidence, unavailable

ONE_PROPORTION_METHOD = "Exact binomial test of the proportion against a fixed figure (two-sided); Wilson interval"


def one_proportion_test(successes: float, n: float, p0: float, confidence: float = 0.95) -> TestResult:
    """Exact two-sided binomial test of ``successes / n = p0``, p0 on the 0–1 scale.

    p-value: :func:`scipy.stats.binomtest` (outcomes no more likely than the one observed).
    Estimate: ``successes / n − p0``; interval: the Wilson interval of ``successes / n``
    minus ``p0``. A comparator of exactly 0 or 1, or no trials, gives no result and a note.

    Example: 43 BME officers of 1,654 against a 9.7% BME population is
    ``one_proportion_test(43, 1654, 0.097)`` (p < 0.001, 7.1 points below).
    """
    confidence = check_confidence(confidence)
    x = as_count(successes, "successes")
    trials = as_count(n, "n")
    if x > trials:
        raise ValueError(f"successes ({x}) cannot exceed the number of trials ({trials})")
    if not (isinstance(p0, (int, float)) and math.isfinite(p0)):
        raise ValueError(f"p0 must be a number, got {p0!r}")
    if trials == 0:
        return unavailable(ONE_PROPORTION_METHOD, confidence, "No trials: the proportion is undefined.")
    if not 0.0 < p0 < 1.0:
        return unavailable(
            ONE_PROPORTION_METHOD, confidence,
            f"A comparator of {p0:.0%} admits only one outcome; it is shown, not tested.",
        )
    p_value = float(stats.binomtest(x, trials, p0).pvalue)
    low, high = wilson_interval(x, trials, confidence)
    return TestResult(
        method=ONE_PROPORTION_METHOD,
        p_value=p_value,
        statistic=float(x),
        estimate=x / trials - p0,
        ci_low=low - p0,
        ci_high=high - p0,
        confidence=confidence,
        null_value=0.0,
    )
