"""Comparing counts of events: is this period's count out of line with a reference?

Crime counts are modelled as Poisson.  The question a performance pack asks is
"is this month's count different from what the last three years lead us to
expect?": ``count`` events in ``exposure`` (one month) against ``ref_count``
events in ``ref_exposure`` (36 months).  Three tests are offered:

* :func:`poisson_exact_test` — the exact conditional test (Przyborowski &
  Wilenski 1940): given the total ``n = count + ref_count``, ``count`` is
  Binomial(n, exposure / (exposure + ref_exposure)) when the rates are equal.
  It never over-states significance (it is conservative), and it is the
  default of the performance pack.  :func:`poisson_exact_test_many` runs it
  over arrays with the same p-values.
* :func:`poisson_e_test` — Krishnamoorthy & Thomson's (2004) E-test, an
  unconditional test that is more powerful than the conditional test while
  keeping close to its nominal size.
* :func:`wheeler_z_test` — Wheeler's quick variance-stabilised z-score
  ``2(√a − √b)`` comparing a count with a fixed expected count.

All estimates are rate ratios (``null_value = 1``).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from thrv.stats._inputs import as_count, as_float, as_float_array, valid_counts
from thrv.stats.results import (
    FloatArray,
    TestResult,
    TestResultArray,
    check_confidence,
    unavailable,
)

EStatistic = Literal["wald", "score"]

EXACT_METHOD = "Exact Poisson test (conditional binomial)"
E_TEST_METHOD = "Poisson E-test, score statistic (Krishnamoorthy & Thomson 2004; Gu et al. 2008)"
E_TEST_WALD_METHOD = "Poisson E-test, Wald statistic (Krishnamoorthy & Thomson 2004)"
WHEELER_METHOD = "Poisson z-score, 2(√count − √expected) (Wheeler 2016)"

# scipy.stats.binomtest treats probabilities within this relative tolerance of
# the observed one as "as extreme"; the vectorised test must use the same.
_BINOM_RERR = 1 + 1e-7
# Tail probability ignored when truncating a Poisson support for the E-test.
_E_TEST_TAIL = 1e-16


def _clopper_pearson(
    k: FloatArray, n: FloatArray, confidence: float
) -> tuple[FloatArray, FloatArray]:
    """Clopper & Pearson (1934) exact interval for a binomial proportion k/n.

    Uses the beta-quantile form; rows with ``n == 0`` are NaN.
    """
    alpha = 1.0 - confidence
    ok = n > 0
    low = np.full(k.shape, np.nan)
    high = np.full(k.shape, np.nan)
    kk, nn = k[ok], n[ok]
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = stats.beta.ppf(alpha / 2, kk, nn - kk + 1)
        hi = stats.beta.ppf(1 - alpha / 2, kk + 1, nn - kk)
    low[ok] = np.where(kk == 0, 0.0, lo)
    high[ok] = np.where(kk == nn, 1.0, hi)
    return low, high


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
    p_low, p_high = _clopper_pearson(count, n, confidence)
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


def _binom_search(
    sign: FloatArray,
    target: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    n: FloatArray,
    p: FloatArray,
) -> FloatArray:
    """Vectorised copy of scipy's ``_binary_search_for_binom_tst``.

    For each row, finds ``i`` in ``[lo, hi]`` with ``a(i) <= target < a(i+1)``
    where ``a(x) = sign * binom.pmf(x, n, p)`` is ascending on that range.
    Every row steps through exactly the comparisons scipy makes, so the
    resulting p-values are identical, not merely close.
    """
    lo = lo.copy()
    hi = hi.copy()
    result = np.full(lo.shape, np.nan)
    done = np.zeros(lo.shape, dtype=bool)
    active = lo < hi
    while active.any():
        idx = np.flatnonzero(active)
        mid = lo[idx] + np.floor((hi[idx] - lo[idx]) / 2)
        midval = sign[idx] * stats.binom.pmf(mid, n[idx], p[idx])
        below = midval < target[idx]
        above = midval > target[idx]
        equal = ~below & ~above
        lo[idx[below]] = mid[below] + 1
        hi[idx[above]] = mid[above] - 1
        result[idx[equal]] = mid[equal]
        done[idx[equal]] = True
        active = (lo < hi) & ~done
    rest = np.flatnonzero(~done)
    if rest.size:
        at_lo = sign[rest] * stats.binom.pmf(lo[rest], n[rest], p[rest])
        result[rest] = np.where(at_lo <= target[rest], lo[rest], lo[rest] - 1)
    return result


def _binomtest_pvalues(k: FloatArray, n: FloatArray, p: FloatArray) -> FloatArray:
    """Two-sided ``scipy.stats.binomtest(k, n, p).pvalue`` for arrays (n >= 1)."""
    pvalue = np.ones(k.shape)
    d = stats.binom.pmf(k, n, p)
    threshold = d * _BINOM_RERR
    pn = p * n
    low_side = k < pn
    high_side = k > pn

    idx = np.flatnonzero(low_side)
    if idx.size:
        kk, nn, pp, dd = k[idx], n[idx], p[idx], threshold[idx]
        ix = _binom_search(-np.ones(idx.size), -dd, np.ceil(pp * nn), nn.copy(), nn, pp)
        y = nn - ix + (dd == stats.binom.pmf(ix, nn, pp)).astype(float)
        pvalue[idx] = stats.binom.cdf(kk, nn, pp) + stats.binom.sf(nn - y, nn, pp)

    idx = np.flatnonzero(high_side)
    if idx.size:
        kk, nn, pp, dd = k[idx], n[idx], p[idx], threshold[idx]
        ix = _binom_search(np.ones(idx.size), dd, np.zeros(idx.size), np.floor(pp * nn), nn, pp)
        y = ix + 1
        pvalue[idx] = stats.binom.cdf(y - 1, nn, pp) + stats.binom.sf(kk - 1, nn, pp)

    return np.minimum(1.0, pvalue)


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
        p_value[idx] = _binomtest_pvalues(uk, uk + uk_ref, pi0)[inverse]
        statistic[idx] = k[idx]
        if intervals:
            est, low, high = _ratio_parts(uk, ue, uk_ref, ue_ref, confidence)
            estimate[idx], ci_low[idx], ci_high[idx] = est[inverse], low[inverse], high[inverse]
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                estimate[idx] = (k[idx] / e[idx]) / (k_ref[idx] / e_ref[idx])

    return TestResultArray(
        method=EXACT_METHOD,
        p_value=p_value.reshape(shape),
        statistic=statistic.reshape(shape),
        estimate=estimate.reshape(shape),
        ci_low=ci_low.reshape(shape),
        ci_high=ci_high.reshape(shape),
        confidence=confidence,
        null_value=1.0,
    )


def _e_test_statistic(
    x1: FloatArray, x2: FloatArray, n1: float, n2: float, statistic: EStatistic
) -> FloatArray:
    """Standardised difference of two Poisson counts; 0 at (0, 0).

    ``"wald"``: K&T's (X1/n1 − X2/n2)/√(X1/n1² + X2/n2²) (observed variances).
    ``"score"``: (X1 − X2·r)/√((X1 + X2)·r) with r = n1/n2 (pooled variance;
    Gu, Ng, Tang & Schucany 2008).  Both decrease strictly in X2 for fixed X1.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        if statistic == "wald":
            t = (x1 / n1 - x2 / n2) / np.sqrt(x1 / n1**2 + x2 / n2**2)
        else:
            r = n1 / n2
            t = (x1 - x2 * r) / np.sqrt((x1 + x2) * r)
    return np.where((x1 == 0) & (x2 == 0), 0.0, t)


def _tail_boundary(
    x1: FloatArray,
    upper: float,
    threshold: float,
    upper_tail: bool,
    n1: float,
    n2: float,
    statistic: EStatistic,
) -> FloatArray:
    """Where, for each x1, T(x1, x2) crosses ``threshold`` as x2 runs over 0..upper.

    T decreases strictly in x2, so bisection finds it.  With
    ``upper_tail=True`` returns the largest x2 with T >= threshold (−1 if
    none); otherwise the smallest x2 with T <= threshold (upper + 1 if none).
    """
    lo = np.full(x1.shape, -1.0)  # T(x1, lo) "holds" (virtual for -1)
    hi = np.full(x1.shape, upper + 1.0)  # T(x1, hi) "fails" (virtual for upper + 1)
    while True:
        moving = (hi - lo) > 1
        if not moving.any():
            break
        mid = np.floor((lo + hi) / 2)
        t = _e_test_statistic(x1, mid, n1, n2, statistic)
        left_side = t >= threshold if upper_tail else t > threshold
        lo = np.where(moving & left_side, mid, lo)
        hi = np.where(moving & ~left_side, mid, hi)
    return lo if upper_tail else hi


def e_test_pvalue(
    count: int,
    exposure: float,
    ref_count: int,
    ref_exposure: float,
    statistic: EStatistic = "score",
) -> tuple[float, float]:
    """Statistic and two-sided p-value of the E-test for equal Poisson rates.

    p = Σ_{x1, x2} P(x1 | n1 λ̂) P(x2 | n2 λ̂) · I(|T(x1, x2)| ≥ |T(k1, k2)|),
    with λ̂ = (k1 + k2)/(n1 + n2) the pooled rate (Krishnamoorthy & Thomson
    2004, eq. 3.5).

    Rather than filling the (x1, x2) grid, which is impossible for counts in
    the millions, it uses that T decreases in x2 for fixed x1: for each x1 the
    qualifying x2 form two tails, found by bisection, whose Poisson
    probabilities come from the cdf and survival function.  The cost is
    linear in the width of the x1 support.  Agrees with statsmodels'
    ``etest_poisson_2indep`` to about 1e-12 (it truncates both supports;
    this truncates only x1, at a tail probability of 1e-16).  Outcomes whose
    T ties with the observed one up to rounding count as "as extreme";
    :func:`scipy.stats.poisson_means_test` compares exactly, so rounding can
    drop the observed outcome itself and its p-value can be a little smaller.
    T(0, 0) is taken as 0, as statsmodels does.
    """
    n1, n2 = float(exposure), float(ref_exposure)
    total = count + ref_count
    if total == 0:
        return 0.0, 1.0
    t_obs = float(
        _e_test_statistic(
            np.array([count], float), np.array([ref_count], float), n1, n2, statistic
        )[0]
    )
    # Outcomes whose statistic ties with the observed one to rounding error
    # count as "as extreme".
    threshold = abs(t_obs) * (1 - 1e-12)
    if threshold == 0.0:
        return t_obs, 1.0
    pooled = total / (n1 + n2)
    mu1, mu2 = n1 * pooled, n2 * pooled
    lo1 = float(stats.poisson.ppf(_E_TEST_TAIL, mu1))
    hi1 = float(stats.poisson.isf(_E_TEST_TAIL, mu1))
    x1 = np.arange(max(lo1 - 1.0, 0.0), hi1 + 1.0)
    upper2 = float(stats.poisson.isf(_E_TEST_TAIL, mu2)) + 1.0
    y_high = _tail_boundary(x1, upper2, threshold, True, n1, n2, statistic)
    y_low = _tail_boundary(x1, upper2, -threshold, False, n1, n2, statistic)
    inner = stats.poisson.cdf(y_high, mu2) + stats.poisson.sf(y_low - 1, mu2)
    p_value = float(np.sum(stats.poisson.pmf(x1, mu1) * inner))
    return t_obs, min(1.0, max(0.0, p_value))


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
