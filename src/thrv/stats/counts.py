"""Comparing counts of events: is this period's count out of line with a reference?

Crime counts are modelled as Poisson.  The question a performance pack asks is
"is this month's count different from what the last three years lead us to
expect?": ``count`` events in ``exposure`` (one month) against ``ref_count``
events in ``ref_exposure`` (36 months).  Three tests are offered:

* :func:`poisson_exact_test` — the exact conditional test (Przyborowski &
  Wilenski 1940): given the total ``n = count + ref_count``, ``count`` is
  Binomial(n, exposure / (exposure + ref_exposure)) when the rates are equal.
  It never over-states significance (it is conservative), which makes it the
  safe default.  :func:`poisson_exact_test_many` runs it over arrays with
  identical p-values.
* :func:`poisson_e_test` — the E-test (Krishnamoorthy & Thomson 2004), an
  unconditional test that is more powerful than the conditional test while
  keeping close to its nominal size; by default with the pooled score
  statistic (Gu et al. 2008).
* :func:`wheeler_z_test` — Wheeler's quick variance-stabilised z-score
  ``2(√a − √b)`` comparing a count with a fixed expected count.
* :func:`quasi_poisson_test` / :func:`quasi_poisson_test_many` — the exact
  conditional test made dispersion-aware: real monthly crime counts vary φ
  times more than Poisson (φ from :mod:`thrv.stats.dispersion`), so the test
  is run on the counts divided by φ.  The default of the performance pack.

All estimates are rate ratios (``null_value = 1``).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from thrv.stats._binomial import binomtest_pvalues, clopper_pearson
from thrv.stats._inputs import as_count, as_float, as_float_array, valid_counts
from thrv.stats.etest import EStatistic, e_test_pvalue
from thrv.stats.results import (
    FloatArray,
    TestResult,
    TestResultArray,
    check_confidence,
    unavailable,
)

EXACT_METHOD = "Exact Poisson test (conditional binomial)"
E_TEST_METHOD = "Poisson E-test, score statistic (Krishnamoorthy & Thomson 2004; Gu et al. 2008)"
E_TEST_WALD_METHOD = "Poisson E-test, Wald statistic (Krishnamoorthy & Thomson 2004)"
WHEELER_METHOD = "Poisson z-score, 2(√count − √expected) (Wheeler 2016)"
QUASI_METHOD = "Dispersion-adjusted exact Poisson test (quasi-Poisson: conditional binomial on counts ÷ φ)"


def _proportion_to_ratio(prop: FloatArray, exposure_ratio: FloatArray) -> FloatArray:
    """Map the conditional proportion π = count/n to the rate ratio.

    π = θE / (θE + E_ref) ⇔ θ = π/(1 − π) · E_ref/E, with ``exposure_ratio``
    = E_ref/E.  π = 1 gives an infinite ratio.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = np.where(prop >= 1.0, np.inf, prop / (1.0 - prop))
        return np.where(prop <= 0.0, 0.0, odds * exposure_ratio)


def _ratio_parts(
    count: FloatArray,
    exposure: FloatArray,
    ref_count: FloatArray,
    ref_exposure: FloatArray,
    confidence: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Rate ratio and its exact conditional interval, NaN where n = 0."""
    n = count + ref_count
    exposure_ratio = ref_exposure / exposure
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = np.where(
            ref_count > 0,
            (count / exposure) / (ref_count / ref_exposure),
            np.where(count > 0, np.inf, np.nan),
        )
    p_low, p_high = clopper_pearson(count, n, confidence)
    return (
        estimate,
        _proportion_to_ratio(p_low, exposure_ratio),
        _proportion_to_ratio(p_high, exposure_ratio),
    )


def _exposure_problem(exposure: float, ref_exposure: float) -> str:
    if exposure <= 0 and ref_exposure <= 0:
        return "Both exposures are zero or negative: the rates are undefined."
    if exposure <= 0:
        return "The exposure is zero or negative: the rate is undefined."
    if ref_exposure <= 0:
        return "The reference exposure is zero or negative: the reference rate is undefined."
    return ""


def _both_zero(method: str, confidence: float) -> TestResult:
    return TestResult(
        method=method,
        p_value=1.0,
        statistic=None,
        estimate=None,
        ci_low=None,
        ci_high=None,
        confidence=confidence,
        note=(
            "No events in either period: the counts agree exactly, so p = 1, "
            "but the rate ratio (0/0) is undefined."
        ),
        null_value=1.0,
    )


def _infinite_note(count: int, ref_count: int) -> str:
    if ref_count == 0 and count > 0:
        return "No events in the reference period: the rate ratio and its upper limit are infinite."
    return ""


def poisson_exact_test(
    count: float,
    exposure: float,
    ref_count: float,
    ref_exposure: float,
    confidence: float = 0.95,
) -> TestResult:
    """Exact conditional test that two Poisson rates are equal (two-sided).

    Method (Przyborowski & Wilenski 1940; Lehmann & Romano, *Testing
    Statistical Hypotheses*, §4.5): conditional on ``n = count + ref_count``,
    ``count ~ Binomial(n, π0)`` with ``π0 = exposure / (exposure +
    ref_exposure)`` under H0.  The two-sided p-value is
    :func:`scipy.stats.binomtest`'s: the total probability of outcomes no more
    likely than the one observed.  This equals
    ``statsmodels.stats.rates.test_poisson_2indep(..., method="exact-cond")``.

    ``statistic`` is the count itself (the binomial test's statistic).
    Estimate: the rate ratio ``(count/exposure) / (ref_count/ref_exposure)``;
    interval: Clopper–Pearson (1934) exact interval for π, mapped to the
    ratio by θ = π/(1−π) · ref_exposure/exposure.

    Edge cases: both counts zero gives ``p = 1`` (the periods agree) and no
    estimate; a zero reference count gives an infinite ratio and upper limit;
    a non-positive exposure gives no result (``p_value=None``) and a note.

    Example: this month's 25 robberies against 576 in the previous 36 months
    is ``poisson_exact_test(25, 1, 576, 36)``.
    """
    confidence = check_confidence(confidence)
    k = as_count(count, "count")
    k_ref = as_count(ref_count, "ref_count")
    e = as_float(exposure, "exposure")
    e_ref = as_float(ref_exposure, "ref_exposure")
    problem = _exposure_problem(e, e_ref)
    if problem:
        return unavailable(EXACT_METHOD, confidence, problem, null_value=1.0)
    n = k + k_ref
    if n == 0:
        return _both_zero(EXACT_METHOD, confidence)
    pi0 = e / (e + e_ref)
    p_value = float(stats.binomtest(k, n, pi0).pvalue)
    estimate, low, high = _ratio_parts(
        np.array([k], float),
        np.array([e]),
        np.array([k_ref], float),
        np.array([e_ref]),
        confidence,
    )
    return TestResult(
        method=EXACT_METHOD,
        p_value=p_value,
        statistic=float(k),
        estimate=float(estimate[0]),
        ci_low=float(low[0]),
        ci_high=float(high[0]),
        confidence=confidence,
        note=_infinite_note(k, k_ref),
        null_value=1.0,
    )


def _distinct_rows(*columns: FloatArray) -> tuple[FloatArray, npt.NDArray[np.intp]]:
    """Distinct rows of the given columns and, per input row, its distinct row's index.

    A lexsort does this several times faster than ``np.unique(axis=0)``.
    """
    rows = np.stack(columns, axis=1)
    order = np.lexsort(rows.T[::-1])
    ordered = rows[order]
    starts = np.ones(len(rows), dtype=bool)
    starts[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    inverse = np.empty(len(rows), dtype=np.intp)
    inverse[order] = np.cumsum(starts) - 1
    return ordered[starts], inverse


def _broadcast(*arrays: npt.ArrayLike) -> list[FloatArray]:
    return [
        np.array(a, dtype=np.float64) for a in np.broadcast_arrays(*map(as_float_array, arrays))
    ]


def poisson_exact_test_many(
    count: npt.ArrayLike,
    exposure: npt.ArrayLike,
    ref_count: npt.ArrayLike,
    ref_exposure: npt.ArrayLike,
    confidence: float = 0.95,
    intervals: bool = True,
) -> TestResultArray:
    """:func:`poisson_exact_test` over arrays (broadcast together), for whole packs at once.

    The p-values are identical to the scalar function's: the two-sided
    binomial p-value is computed by a vectorised copy of the search
    :func:`scipy.stats.binomtest` performs, once per distinct row.  100,000
    rows of monthly counts take well under a second.  Exact intervals for
    counts in the millions are slow (beta quantiles, ~25 µs a row); pass
    ``intervals=False`` to skip them (``ci_low``/``ci_high`` are then NaN).

    Rows the scalar function would refuse (negative or fractional counts,
    non-positive exposures) are NaN throughout.  Rows with both counts zero
    have ``p_value = 1`` and NaN estimate, as the scalar function does.
    """
    confidence = check_confidence(confidence)
    k, e, k_ref, e_ref = _broadcast(count, exposure, ref_count, ref_exposure)
    shape = k.shape
    k, e, k_ref, e_ref = (a.ravel() for a in (k, e, k_ref, e_ref))
    with np.errstate(invalid="ignore"):
        valid = (
            valid_counts(k)
            & valid_counts(k_ref)
            & np.isfinite(e)
            & np.isfinite(e_ref)
            & (e > 0)
            & (e_ref > 0)
        )
    n = k + k_ref
    testable = valid & (n > 0)

    p_value = np.full(k.shape, np.nan)
    statistic = np.full(k.shape, np.nan)
    estimate = np.full(k.shape, np.nan)
    ci_low = np.full(k.shape, np.nan)
    ci_high = np.full(k.shape, np.nan)

    p_value[valid & (n == 0)] = 1.0
    idx = np.flatnonzero(testable)
    if idx.size:
        # Packs repeat the same (count, reference) pairs many times over:
        # compute each distinct row once.
        distinct, inverse = _distinct_rows(k[idx], k_ref[idx], e[idx], e_ref[idx])
        uk, uk_ref, ue, ue_ref = distinct.T
        pi0 = ue / (ue + ue_ref)
        p_value[idx] = binomtest_pvalues(uk, uk + uk_ref, pi0)[inverse]
        statistic[idx] = k[idx]
        if intervals:
            est, low, high = _ratio_parts(uk, ue, uk_ref, ue_ref, confidence)
            estimate[idx], ci_low[idx], ci_high[idx] = est[inverse], low[inverse], high[inverse]
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                estimate[idx] = (k[idx] / e[idx]) / (k_ref[idx] / e_ref[idx])

    return _rate_ratio_result(EXACT_METHOD, shape, confidence, p_value, statistic, estimate, ci_low, ci_high)


def _rate_ratio_result(
    method: str, shape: tuple[int, ...], confidence: float, p_value: np.ndarray, statistic: np.ndarray,
    estimate: np.ndarray, ci_low: np.ndarray, ci_high: np.ndarray,
) -> TestResultArray:
    """The arrays of a vectorised rate-ratio test, back in the caller's shape (null: ratio 1)."""
    return TestResultArray(
        method=method,
        p_value=p_value.reshape(shape),
        statistic=statistic.reshape(shape),
        estimate=estimate.reshape(shape),
        ci_low=ci_low.reshape(shape),
        ci_high=ci_high.reshape(shape),
        confidence=confidence,
        null_value=1.0,
    )


def poisson_e_test(
    count: float,
    exposure: float,
    ref_count: float,
    ref_exposure: float,
    confidence: float = 0.95,
    statistic: EStatistic = "score",
) -> TestResult:
    """Krishnamoorthy & Thomson's (2004) E-test that two Poisson rates are equal (two-sided).

    The E-test computes the p-value from the exact distribution of a
    standardised difference T evaluated at the pooled rate estimated under
    H0 (a parametric bootstrap computed exactly, not simulated).  K&T found
    it more powerful than the conditional test, with a size that seldom
    exceeds the nominal level.

    ``statistic`` chooses T:

    * ``"score"`` (default; Gu, Ng, Tang & Schucany 2008): T = (X1 −
      X2·r)/√((X1 + X2)·r), r = n1/n2, with the variance pooled under H0.
      This is statsmodels' ``test_poisson_2indep(..., method="etest")``.
    * ``"wald"`` (K&T's original): T = (X1/n1 − X2/n2)/√(X1/n1² + X2/n2²),
      the test of statsmodels' ``method="etest-wald"`` and of
      :func:`scipy.stats.poisson_means_test`.  Its variance uses the observed
      counts, which makes it lopsided when exposures differ: against a
      36-month reference a rise is judged less significant than an equal
      fall, and a reference with no events has zero variance (3 events
      against none in 36 months gives p ≈ 0.5).  Hence the default.

    Estimate and interval are the rate ratio with the exact conditional
    (Clopper–Pearson) interval of :func:`poisson_exact_test`: the E-test has
    no interval of its own, so near the boundary the interval can include 1
    while p < 0.05.  Edge cases as :func:`poisson_exact_test`.  Counts in the
    millions are fine (see :func:`e_test_pvalue`).
    """
    if statistic not in ("wald", "score"):
        raise ValueError(f"statistic must be 'wald' or 'score', got {statistic!r}")
    method = E_TEST_METHOD if statistic == "score" else E_TEST_WALD_METHOD
    confidence = check_confidence(confidence)
    k = as_count(count, "count")
    k_ref = as_count(ref_count, "ref_count")
    e = as_float(exposure, "exposure")
    e_ref = as_float(ref_exposure, "ref_exposure")
    problem = _exposure_problem(e, e_ref)
    if problem:
        return unavailable(method, confidence, problem, null_value=1.0)
    if k + k_ref == 0:
        return _both_zero(method, confidence)
    t_obs, p_value = e_test_pvalue(k, e, k_ref, e_ref, statistic)
    estimate, low, high = _ratio_parts(
        np.array([k], float),
        np.array([e]),
        np.array([k_ref], float),
        np.array([e_ref]),
        confidence,
    )
    return TestResult(
        method=method,
        p_value=p_value,
        statistic=t_obs,
        estimate=float(estimate[0]),
        ci_low=float(low[0]),
        ci_high=float(high[0]),
        confidence=confidence,
        note=_infinite_note(k, k_ref),
        null_value=1.0,
    )


def wheeler_z_test(count: float, expected: float, confidence: float = 0.95) -> TestResult:
    """Wheeler's Poisson z-score: z = 2(√count − √expected), two-sided normal p-value.

    Why it works: the square root of a Poisson count has variance close to
    1/4 whatever its mean (Bartlett 1936; Anscombe 1948), so ``2√count`` has
    unit variance and, with ``expected`` treated as known, ``z`` is roughly
    standard normal.  Wheeler (2016, *Int. J. Police Sci. & Mgmt* 18(3)) put
    it forward for crime analysts as a replacement for percent change, with
    |z| > 2 (or the stricter 3) as the threshold to look into.  It is an
    approximation: prefer :func:`poisson_exact_test` when the expected count
    is itself an average of a few periods.

    Estimate: the ratio count/expected.  Interval: the variance-stabilised
    interval for the mean, ``(max(0, √count − z/2)², (√count + z/2)²)``,
    divided by ``expected``.  ``expected`` must be positive.
    """
    confidence = check_confidence(confidence)
    a = as_float(count, "count")
    if a < 0:
        raise ValueError(f"count must be non-negative, got {count!r}")
    b = as_float(expected, "expected")
    if b <= 0:
        return unavailable(
            WHEELER_METHOD,
            confidence,
            "The expected count is zero or negative: there is nothing to compare with.",
            null_value=1.0,
        )
    z = 2.0 * (math.sqrt(a) - math.sqrt(b))
    p_value = float(2.0 * stats.norm.sf(abs(z)))
    crit = float(stats.norm.isf((1 - confidence) / 2))
    root = math.sqrt(a)
    low = max(0.0, root - crit / 2) ** 2 / b
    high = (root + crit / 2) ** 2 / b
    return TestResult(
        method=WHEELER_METHOD,
        p_value=p_value,
        statistic=z,
        estimate=a / b,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        null_value=1.0,
    )


def _scaled_tails(k: FloatArray, n: FloatArray, pi0: FloatArray) -> tuple[FloatArray, FloatArray]:
    """P(X ≤ k) and P(X ≥ k) for X ~ Binomial(n, π0), extended to real k and n.

    The regularised incomplete beta function gives the binomial tails for whole numbers
    (P(X ≤ k) = I_{1−π0}(n − k, k + 1), P(X ≥ k) = I_{π0}(k, n − k + 1)) and interpolates
    smoothly between them, which is what effective counts k/φ, n/φ need.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(k >= n, 1.0, special.betainc(np.maximum(n - k, 1e-300), k + 1.0, 1.0 - pi0))
        upper = np.where(k <= 0, 1.0, special.betainc(np.maximum(k, 1e-300), n - k + 1.0, pi0))
    return lower, upper


def quasi_poisson_test_many(
    count: npt.ArrayLike,
    exposure: npt.ArrayLike,
    ref_count: npt.ArrayLike,
    ref_exposure: npt.ArrayLike,
    dispersion: npt.ArrayLike,
    confidence: float = 0.95,
    intervals: bool = True,
) -> TestResultArray:
    """Dispersion-adjusted exact conditional test that two rates are equal, over arrays.

    Quasi-Poisson (Wedderburn 1974; McCullagh & Nelder 1989, §4.5.2): the counts keep the
    Poisson mean but have variance φ·μ.  Dividing both counts by φ gives "effective counts"
    whose variance equals their mean again, and the exact conditional test of
    :func:`poisson_exact_test` is applied to them: given n/φ, count/φ is Binomial(n/φ, π0),
    π0 = exposure / (exposure + ref_exposure).  Effective counts need not be whole, so the
    binomial tails come from the regularised incomplete beta function, and the two-sided
    p-value is twice the smaller tail, capped at 1 — the rule that agrees with the
    Clopper–Pearson interval (p < α exactly when the interval excludes 1).  At φ = 1 and
    whole counts this is scipy's ``binomtest`` with ``alternative="less"``/``"greater"``,
    the smaller doubled; for large counts it agrees with the score test of a quasi-Poisson
    GLM whose scale is φ (statsmodels ``GLM(...).fit(scale=φ)``), the tests check both.

    Why this and not a z-test with variance φ·μ: the pack compares districts and months
    with a handful of crimes, where a normal approximation over-states significance
    (3 crimes against 6 in the previous 12 months gives z = 2.9, p = 0.004; the exact test
    gives p = 0.05).  The exact form keeps the conservative behaviour of the plain test at small
    counts and becomes the z-test at large ones.

    ``dispersion`` below 1 is taken as 1 (no false precision); NaN dispersion gives NaN.
    Estimate: the rate ratio (unchanged by φ); interval: Clopper–Pearson for the effective
    counts, mapped to the ratio (about √φ times wider).  ``statistic`` is the effective
    count, count/φ.
    """
    confidence = check_confidence(confidence)
    k, e, k_ref, e_ref, phi = _broadcast(count, exposure, ref_count, ref_exposure, dispersion)
    shape = k.shape
    k, e, k_ref, e_ref, phi = (a.ravel() for a in (k, e, k_ref, e_ref, phi))
    with np.errstate(invalid="ignore"):
        valid = (
            np.isfinite(k) & (k >= 0) & np.isfinite(k_ref) & (k_ref >= 0)
            & np.isfinite(e) & np.isfinite(e_ref) & (e > 0) & (e_ref > 0) & np.isfinite(phi)
        )
    phi = np.where(valid, np.maximum(phi, 1.0), np.nan)
    n = k + k_ref
    testable = valid & (n > 0)
    p_value = np.full(k.shape, np.nan)
    statistic = np.full(k.shape, np.nan)
    estimate = np.full(k.shape, np.nan)
    ci_low = np.full(k.shape, np.nan)
    ci_high = np.full(k.shape, np.nan)
    p_value[valid & (n == 0)] = 1.0
    idx = np.flatnonzero(testable)
    if idx.size:
        kk = k[idx] / phi[idx]
        nn = n[idx] / phi[idx]
        pi0 = e[idx] / (e[idx] + e_ref[idx])
        lower, upper = _scaled_tails(kk, nn, pi0)
        p_value[idx] = np.minimum(1.0, 2.0 * np.minimum(lower, upper))
        statistic[idx] = kk
        if intervals:
            est, low, high = _ratio_parts(kk, e[idx], nn - kk, e_ref[idx], confidence)
            estimate[idx], ci_low[idx], ci_high[idx] = est, low, high
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                estimate[idx] = np.where(
                    k_ref[idx] > 0, (k[idx] / e[idx]) / (k_ref[idx] / e_ref[idx]), np.where(k[idx] > 0, np.inf, np.nan)
                )
    return _rate_ratio_result(QUASI_METHOD, shape, confidence, p_value, statistic, estimate, ci_low, ci_high)


def quasi_poisson_test(
    count: float,
    exposure: float,
    ref_count: float,
    ref_exposure: float,
    dispersion: float,
    confidence: float = 0.95,
) -> TestResult:
    """:func:`quasi_poisson_test_many` for one comparison, with notes for the edge cases.

    Example: 5,394 crimes this month against 70,245 in the previous 12 months, φ = 4.19, is
    ``quasi_poisson_test(5394, 1, 70245, 12, 4.19)``.
    """
    confidence = check_confidence(confidence)
    k = as_count(count, "count")
    k_ref = as_count(ref_count, "ref_count")
    e = as_float(exposure, "exposure")
    e_ref = as_float(ref_exposure, "ref_exposure")
    phi = as_float(dispersion, "dispersion")
    problem = _exposure_problem(e, e_ref)
    if problem:
        return unavailable(QUASI_METHOD, confidence, problem, null_value=1.0)
    if k + k_ref == 0:
        return _both_zero(QUASI_METHOD, confidence)
    res = quasi_poisson_test_many(k, e, k_ref, e_ref, phi, confidence).row(0)
    note = _infinite_note(k, k_ref)
    if phi < 1:
        note = (note + " A dispersion below 1 was taken as 1.").strip()
    return TestResult(
        method=res.method,
        p_value=res.p_value,
        statistic=res.statistic,
        estimate=math.inf if k_ref == 0 else res.estimate,
        ci_low=res.ci_low,
        ci_high=math.inf if k_ref == 0 else res.ci_high,
        confidence=confidence,
        note=note,
        null_value=1.0,
    )
