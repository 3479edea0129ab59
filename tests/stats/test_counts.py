"""Tests for thrv.stats.counts against statsmodels, scipy and hand computation."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.rates import confint_poisson_2indep
from statsmodels.stats.rates import test_poisson_2indep as sm_test_poisson_2indep

from thrv.stats.counts import (
    poisson_e_test,
    poisson_exact_test,
    poisson_exact_test_many,
    wheeler_z_test,
)
from thrv.stats.etest import e_test_pvalue

counts = st.integers(min_value=0, max_value=400)
exposures = st.floats(min_value=0.25, max_value=60, allow_nan=False, allow_infinity=False)


def statsmodels_pvalue(k1: int, e1: float, k2: int, e2: float, method: str) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(sm_test_poisson_2indep(k1, e1, k2, e2, method=method).pvalue)


# --- exact conditional test ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "e", "k_ref", "e_ref"),
    [
        (25, 1, 576, 36),
        (5, 1, 180, 36),
        (0, 1, 36, 36),
        (12, 2, 3, 1),
        (1, 1, 0, 36),
        (7, 3.5, 9, 1.25),
    ],
)
def test_exact_matches_statsmodels(k: int, e: float, k_ref: int, e_ref: float) -> None:
    result = poisson_exact_test(k, e, k_ref, e_ref)
    assert result.p_value == pytest.approx(
        statsmodels_pvalue(k, e, k_ref, e_ref, "exact-cond"), rel=1e-9
    )


@settings(max_examples=60, deadline=None)
@given(counts, exposures, counts, exposures)
def test_exact_matches_statsmodels_everywhere(k: int, e: float, k_ref: int, e_ref: float) -> None:
    result = poisson_exact_test(k, e, k_ref, e_ref)
    assert result.p_value is not None
    if k + k_ref == 0:
        assert result.p_value == 1.0
        return
    expected = statsmodels_pvalue(k, e, k_ref, e_ref, "exact-cond")
    assert result.p_value == pytest.approx(expected, rel=1e-9, abs=1e-14)


def test_worked_example_month_against_three_years() -> None:
    # 25 robberies this month against 576 in the previous 36 months (16 a month).
    result = poisson_exact_test(25, 1, 576, 36)
    # Under H0 the month's share of the 601 events is Binomial(601, 1/37).
    n, pi0 = 601, 1 / 37
    pmf = stats.binom.pmf(np.arange(n + 1), n, pi0)
    by_hand = pmf[pmf <= pmf[25] * (1 + 1e-7)].sum()
    assert result.p_value == pytest.approx(by_hand, rel=1e-10)
    assert result.estimate == pytest.approx(25 / 16)
    assert result.null_value == 1.0
    assert result.method == "Exact Poisson test (conditional binomial)"
    assert result.ci_low is not None
    assert result.ci_high is not None
    assert result.ci_low < 25 / 16 < result.ci_high


@settings(max_examples=40, deadline=None)
@given(counts, exposures, counts, exposures)
def test_exact_interval_is_transformed_clopper_pearson(
    k: int, e: float, k_ref: int, e_ref: float
) -> None:
    n = k + k_ref
    result = poisson_exact_test(k, e, k_ref, e_ref, confidence=0.9)
    if n == 0:
        assert result.ci_low is None
        return
    # Independent route: scipy's root-finding Clopper-Pearson, then π/(1-π)·E_ref/E.
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.9, method="exact")

    def to_ratio(p: float) -> float:
        return math.inf if p >= 1 else p / (1 - p) * e_ref / e

    assert result.ci_low == pytest.approx(to_ratio(ci.low), rel=1e-7, abs=1e-12)
    assert result.ci_high == pytest.approx(to_ratio(ci.high), rel=1e-7)
    low, _high = proportion_confint(k, n, alpha=0.1, method="beta")
    assert result.ci_low == pytest.approx(to_ratio(float(low)), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    ("k", "k_ref", "tolerance"), [(60, 2_000, 0.03), (400, 14_000, 0.01), (1_000, 36_500, 0.005)]
)
def test_exact_interval_close_to_statsmodels_score_interval_for_large_counts(
    k: int, k_ref: int, tolerance: float
) -> None:
    # statsmodels has no exact conditional interval; its score interval should agree closely
    # once counts are large.
    result = poisson_exact_test(k, 1, k_ref, 36)
    low, high = confint_poisson_2indep(k, 1, k_ref, 36, method="score", compare="ratio")
    assert result.ci_low == pytest.approx(float(low), rel=tolerance)
    assert result.ci_high == pytest.approx(float(high), rel=tolerance)


def test_exact_interval_inverts_the_one_sided_tests() -> None:
    k, e, k_ref, e_ref = 14, 1, 300, 36
    result = poisson_exact_test(k, e, k_ref, e_ref)
    n = k + k_ref

    def share(ratio: float) -> float:
        return ratio * e / (ratio * e + e_ref)

    assert result.ci_low is not None
    assert result.ci_high is not None
    assert stats.binom.sf(k - 1, n, share(result.ci_low)) == pytest.approx(0.025, rel=1e-6)
    assert stats.binom.cdf(k, n, share(result.ci_high)) == pytest.approx(0.025, rel=1e-6)


def test_exact_both_zero_is_p_one_without_estimate() -> None:
    result = poisson_exact_test(0, 1, 0, 36)
    assert result.p_value == 1.0
    assert result.estimate is None
    assert result.ci_low is None
    assert result.ci_high is None
    assert "No events" in result.note


def test_exact_zero_reference_gives_infinite_ratio() -> None:
    result = poisson_exact_test(6, 1, 0, 36)
    assert result.estimate == math.inf
    assert result.ci_high == math.inf
    assert result.ci_low is not None
    assert 0 < result.ci_low < math.inf
    assert result.p_value is not None
    assert result.p_value < 1e-6
    assert "infinite" in result.note


def test_exact_zero_count_gives_zero_ratio() -> None:
    result = poisson_exact_test(0, 1, 720, 36)
    assert result.estimate == 0.0
    assert result.ci_low == 0.0
    assert result.p_value == pytest.approx(stats.binom.pmf(0, 720, 1 / 37) * 1.0, rel=1e-9) or (
        result.p_value is not None and result.p_value < 1e-8
    )


@pytest.mark.parametrize(("e", "e_ref"), [(0, 36), (1, 0), (0, 0), (-1, 36)])
def test_exact_non_positive_exposure_is_not_computed(e: float, e_ref: float) -> None:
    result = poisson_exact_test(3, e, 10, e_ref)
    assert result.p_value is None
    assert result.estimate is None
    assert "exposure" in result.note


@pytest.mark.parametrize(("k", "k_ref"), [(-1, 3), (2.5, 3), (3, math.nan)])
def test_exact_rejects_impossible_counts(k: float, k_ref: float) -> None:
    with pytest.raises(ValueError, match="whole number"):
        poisson_exact_test(k, 1, k_ref, 36)


def test_exact_rejects_bad_confidence() -> None:
    with pytest.raises(ValueError, match="confidence"):
        poisson_exact_test(1, 1, 1, 1, confidence=95)


def test_exact_huge_counts() -> None:
    result = poisson_exact_test(10_000_000, 1, 360_050_000, 36)
    assert result.p_value is not None
    assert 0 <= result.p_value <= 1
    assert result.ci_low is not None
    assert result.ci_high is not None
    assert result.ci_low < result.estimate < result.ci_high  # type: ignore[operator]
    # Large-sample check: the log rate ratio is close to normal.
    se = math.sqrt(1 / 10_000_000 + 1 / 360_050_000)
    z = math.log(result.estimate) / se  # type: ignore[arg-type]
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=0.02)


@settings(max_examples=40, deadline=None)
@given(counts, exposures, counts, exposures)
def test_exact_swap_keeps_p_and_inverts_ratio(k: int, e: float, k_ref: int, e_ref: float) -> None:
    forward = poisson_exact_test(k, e, k_ref, e_ref)
    backward = poisson_exact_test(k_ref, e_ref, k, e)
    assert forward.p_value == pytest.approx(backward.p_value, rel=1e-6, abs=1e-12)
    if k > 0 and k_ref > 0:
        assert forward.estimate * backward.estimate == pytest.approx(1.0)  # type: ignore[operator]
        assert forward.ci_low * backward.ci_high == pytest.approx(1.0, rel=1e-7)  # type: ignore[operator]


@settings(max_examples=60, deadline=None)
@given(counts, exposures, counts, exposures, st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_exact_properties(k: int, e: float, k_ref: int, e_ref: float, confidence: float) -> None:
    result = poisson_exact_test(k, e, k_ref, e_ref, confidence)
    assert result.p_value is not None
    assert 0.0 <= result.p_value <= 1.0
    if result.estimate is not None:
        assert result.ci_low is not None
        assert result.ci_high is not None
        assert result.ci_low <= result.estimate <= result.ci_high


# --- vectorised exact test ---------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.tuples(counts, exposures, counts, exposures), min_size=1, max_size=40),
)
def test_many_is_identical_to_scalar(rows: list[tuple[int, float, int, float]]) -> None:
    k, e, k_ref, e_ref = (np.array(column) for column in zip(*rows, strict=True))
    many = poisson_exact_test_many(k, e, k_ref, e_ref)
    for i, row in enumerate(rows):
        one = poisson_exact_test(*row)
        assert many.p_value[i] == one.p_value  # identical, not merely close
        assert many.row(i).estimate == one.estimate
        assert many.row(i).ci_low == one.ci_low
        assert many.row(i).ci_high == one.ci_high


def test_many_is_identical_to_scalar_on_realistic_pack() -> None:
    rng = np.random.default_rng(20240101)
    size = 400
    mean = rng.gamma(0.7, 30, size)
    k = rng.poisson(mean)
    k_ref = rng.poisson(mean * 36)
    many = poisson_exact_test_many(k, 1, k_ref, 36)
    scalar = np.array(
        [poisson_exact_test(a, 1, b, 36).p_value for a, b in zip(k, k_ref, strict=True)]
    )
    assert np.array_equal(many.p_value, scalar)


def test_many_marks_impossible_rows_nan() -> None:
    many = poisson_exact_test_many(
        [3, -1, 2.5, 4, 0, 5], [1, 1, 1, 0, 1, 1], [10, 10, 10, 10, 0, 7], 36
    )
    assert np.isnan(many.p_value[1:4]).all()
    assert many.p_value[4] == 1.0
    assert np.isnan(many.estimate[4])
    assert not np.isnan(many.p_value[[0, 5]]).any()
    assert many.row(1).p_value is None


def test_many_broadcasts_and_keeps_shape() -> None:
    many = poisson_exact_test_many(np.array([[1, 2], [3, 4]]), 1, 40, 36)
    assert many.p_value.shape == (2, 2)
    assert many.p_value[1, 1] == poisson_exact_test(4, 1, 40, 36).p_value


def test_many_results_are_read_only() -> None:
    many = poisson_exact_test_many([1, 2], 1, [30, 40], 36)
    with pytest.raises(ValueError, match="read-only"):
        many.p_value[0] = 0.5


def test_many_without_intervals() -> None:
    many = poisson_exact_test_many([10, 20], 1, [360, 360], 36, intervals=False)
    assert np.isnan(many.ci_low).all()
    assert many.estimate.tolist() == pytest.approx([1.0, 2.0])


def test_many_is_fast_for_a_national_pack() -> None:
    rng = np.random.default_rng(7)
    size = 100_000
    mean = rng.gamma(0.7, 30, size)
    k, k_ref = rng.poisson(mean), rng.poisson(mean * 36)
    start = time.perf_counter()
    many = poisson_exact_test_many(k, 1, k_ref, 36)
    elapsed = time.perf_counter() - start
    assert not np.isnan(many.p_value).any()
    assert elapsed < 3.0  # well under a second on a developer machine; generous for CI


def test_many_huge_counts() -> None:
    many = poisson_exact_test_many([10_000_000, 9_990_000], 1, [360_000_000, 360_000_000], 36)
    assert np.array_equal(
        many.p_value,
        [
            poisson_exact_test(10_000_000, 1, 360_000_000, 36).p_value,
            poisson_exact_test(9_990_000, 1, 360_000_000, 36).p_value,
        ],
    )


# --- E-test ------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 80), exposures, st.integers(0, 80), exposures)
@example(46, 1.15, 35, 1.1)  # statsmodels drops the observed outcome here (0.30831 vs the full grid's 0.30855)
def test_e_test_matches_statsmodels(k: int, e: float, k_ref: int, e_ref: float) -> None:
    score = poisson_e_test(k, e, k_ref, e_ref)
    wald = poisson_e_test(k, e, k_ref, e_ref, statistic="wald")
    if k + k_ref == 0:
        assert score.p_value == wald.p_value == 1.0
        return
    for result, statistic, method in ((score, "score", "etest"), (wald, "wald", "etest-wald")):
        full, ties = brute_force_e_test(k, e, k_ref, e_ref, statistic, with_ties=True)
        assert result.p_value == pytest.approx(full, abs=1e-9)
        # statsmodels compares |T| >= |T_obs| exactly, so rounding can drop the observed outcome
        # (and outcomes tying with it) from its sum: it may be lower by at most their probability
        reference = statsmodels_pvalue(k, e, k_ref, e_ref, method)
        assert reference - 1e-9 <= result.p_value <= reference + ties + 1e-9


def _e_statistic(x1: np.ndarray, x2: np.ndarray, n1: float, n2: float, statistic: str) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        if statistic == "wald":
            t = (x1 / n1 - x2 / n2) / np.sqrt(x1 / n1**2 + x2 / n2**2)
        else:  # score: the variance pooled under H0 (Gu et al. 2008)
            r = n1 / n2
            t = (x1 - x2 * r) / np.sqrt((x1 + x2) * r)
    return np.where((x1 == 0) & (x2 == 0), 0.0, t)


def brute_force_e_test(k1: int, n1: float, k2: int, n2: float, statistic: str = "wald",
                       with_ties: bool = False) -> Any:
    """K&T (2004) eq. (3.5) summed over a full grid; with ``with_ties`` also the probability of
    the outcomes whose |T| ties with the observed one to rounding (the observed one included)."""
    pooled = (k1 + k2) / (n1 + n2)
    top = int(stats.poisson.isf(1e-15, max(n1, n2) * pooled)) + 20
    x1, x2 = np.meshgrid(np.arange(top + 1.0), np.arange(top + 1.0), indexing="ij")
    t = np.abs(_e_statistic(x1, x2, n1, n2, statistic))
    t_obs = abs(float(_e_statistic(np.array([float(k1)]), np.array([float(k2)]), n1, n2, statistic)[0]))
    prob = stats.poisson.pmf(x1, n1 * pooled) * stats.poisson.pmf(x2, n2 * pooled)
    p = float(prob[t >= t_obs * (1 - 1e-12)].sum())
    if not with_ties:
        return p
    return p, float(prob[np.abs(t - t_obs) <= 1e-9 * max(1.0, t_obs)].sum())


@pytest.mark.parametrize(
    ("k", "e", "k_ref", "e_ref"), [(59, 3, 54, 4), (25, 1, 16, 1), (3, 1, 40, 12), (0, 2, 9, 1)]
)
def test_e_test_wald_matches_full_grid(k: int, e: float, k_ref: int, e_ref: float) -> None:
    assert e_test_pvalue(k, e, k_ref, e_ref, "wald")[1] == pytest.approx(
        brute_force_e_test(k, e, k_ref, e_ref), abs=1e-12
    )


def test_e_test_wheeler_blog_example() -> None:
    # 25 robberies against an average of 16 (one month each): p ≈ 0.165.
    result = poisson_e_test(25, 1, 16, 1, statistic="wald")
    assert result.p_value == pytest.approx(0.165, abs=0.001)


def test_e_test_huge_counts_is_fast_and_sane() -> None:
    start = time.perf_counter()
    result = poisson_e_test(10_000_000, 1, 10_004_000, 1)
    assert time.perf_counter() - start < 2.0
    # At this size the E-test is the normal score test.
    z = (10_000_000 - 10_004_000) / math.sqrt(20_004_000)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-3)


def test_e_test_edge_cases() -> None:
    both_zero = poisson_e_test(0, 1, 0, 36)
    assert both_zero.p_value == 1.0
    assert both_zero.estimate is None
    assert poisson_e_test(3, 0, 5, 1).p_value is None
    assert poisson_e_test(4, 1, 0, 36).estimate == math.inf
    equal_rates = poisson_e_test(3, 1, 108, 36)
    assert equal_rates.p_value == 1.0
    assert equal_rates.estimate == pytest.approx(1.0)
    with pytest.raises(ValueError, match="statistic"):
        poisson_e_test(1, 1, 1, 1, statistic="exact")  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 60), exposures, st.integers(0, 60), exposures)
def test_e_test_swap_keeps_p(k: int, e: float, k_ref: int, e_ref: float) -> None:
    forward = poisson_e_test(k, e, k_ref, e_ref)
    backward = poisson_e_test(k_ref, e_ref, k, e)
    assert forward.p_value == pytest.approx(backward.p_value, abs=1e-9)
    assert forward.p_value is not None
    assert 0 <= forward.p_value <= 1


# --- Wheeler z ---------------------------------------------------------------------------


def test_wheeler_blog_example() -> None:
    result = wheeler_z_test(25, 16)
    assert result.statistic == pytest.approx(2.0)  # 2(√25 − √16)
    assert result.p_value == pytest.approx(0.0455, abs=1e-4)
    assert result.estimate == pytest.approx(25 / 16)
    # Interval for the mean on the square-root scale: (5 ∓ 1.96/2)².
    assert result.ci_low == pytest.approx((5 - 1.959964 / 2) ** 2 / 16, rel=1e-6)
    assert result.ci_high == pytest.approx((5 + 1.959964 / 2) ** 2 / 16, rel=1e-6)


def test_wheeler_edges() -> None:
    assert wheeler_z_test(3, 0).p_value is None
    zero = wheeler_z_test(0, 9)
    assert zero.statistic == pytest.approx(-6.0)
    assert zero.ci_low == 0.0
    with pytest.raises(ValueError, match="non-negative"):
        wheeler_z_test(-1, 3)


def test_wheeler_is_close_to_normal_for_poisson_counts() -> None:
    # The square-root transform makes 2√X roughly unit-variance for Poisson X.
    rng = np.random.default_rng(3)
    draws = rng.poisson(50, 20_000)
    z = 2 * (np.sqrt(draws) - np.sqrt(50))
    assert wheeler_z_test(int(draws[0]), 50).statistic == pytest.approx(z[0])
    assert np.std(z) == pytest.approx(1.0, abs=0.06)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**7), st.floats(0.01, 1e7))
def test_wheeler_properties(count: int, expected: float) -> None:
    result = wheeler_z_test(count, expected)
    assert result.p_value is not None
    assert 0 <= result.p_value <= 1
    assert result.ci_low <= result.estimate <= result.ci_high  # type: ignore[operator]


# --- dispersion-adjusted (quasi-Poisson) exact test -------------------------------------------

from thrv.stats.counts import quasi_poisson_test, quasi_poisson_test_many  # noqa: E402


def _central_scipy(k: int, e: float, k_ref: int, e_ref: float) -> float:
    pi0 = e / (e + e_ref)
    less = stats.binomtest(k, k + k_ref, pi0, alternative="less").pvalue
    greater = stats.binomtest(k, k + k_ref, pi0, alternative="greater").pvalue
    return min(1.0, 2 * min(less, greater))


@settings(max_examples=200, deadline=None)
@given(k=counts, k_ref=counts, e=exposures, e_ref=exposures)
def test_quasi_at_phi_one_is_scipys_exact_binomial_test_doubling_the_smaller_tail(k: int, k_ref: int, e: float, e_ref: float) -> None:
    res = quasi_poisson_test_many(k, e, k_ref, e_ref, 1.0)
    if k + k_ref == 0:
        assert res.p_value[0] == 1.0
        return
    assert res.p_value[0] == pytest.approx(_central_scipy(k, e, k_ref, e_ref), rel=1e-9, abs=1e-15)
    # the test agrees with its own interval: significant exactly when it excludes 1
    if res.p_value[0] < 0.05 - 1e-9 or res.p_value[0] > 0.05 + 1e-9:
        assert (res.p_value[0] < 0.05) == (not res.ci_low[0] <= 1.0 <= res.ci_high[0])


@pytest.mark.parametrize(
    ("k", "k_ref", "e_ref", "phi"),
    [(5394, 70245, 12, 4.19), (20000, 236000, 12, 3.0), (49690, 585770, 12, 22.8), (12000, 140000, 11, 1.7)],
)
def test_quasi_agrees_with_the_quasi_poisson_glm_score_test_at_large_counts(k: int, k_ref: int, e_ref: float, phi: float) -> None:
    """statsmodels: Poisson GLM of the two counts with log-exposure offsets, scale fixed at φ;
    its score test of equal rates. The exact test is its discrete, skewed counterpart: the
    normal deviates agree to within the continuity correction (0.5/sd of the effective
    count) and the binomial's skewness term ((1 + z²)·|1 − 2π0|/6sd, Cornish–Fisher)."""
    import statsmodels.api as sm

    y = np.array([k, k_ref], dtype=float)
    x = np.array([[1.0, 1.0], [1.0, 0.0]])
    fit = sm.GLM(y, x[:, :1], family=sm.families.Poisson(), offset=np.log([1.0, e_ref])).fit(scale=phi)
    score = fit.score_test(exog_extra=x[:, 1:])
    z_sm = math.sqrt(float(score[0][0]))
    p = float(quasi_poisson_test_many(k, 1, k_ref, e_ref, phi).p_value[0])
    z = stats.norm.isf(p / 2)
    pi0 = 1 / (1 + e_ref)
    sd = math.sqrt((k + k_ref) / phi * pi0 * (1 - pi0))
    assert abs(z - z_sm) <= (0.5 + (1 + z_sm**2) * abs(1 - 2 * pi0) / 6) / sd + 1e-3
    assert abs(z - z_sm) / z_sm < 0.02


def test_quasi_worked_example_and_edge_cases() -> None:
    # Cambridgeshire all crime, December 2025 against the 12 months before: φ = 4.19
    res = quasi_poisson_test(5394, 1, 70245, 12, 4.19)
    assert res.method.startswith("Dispersion-adjusted")
    assert res.estimate == pytest.approx(5394 / (70245 / 12))
    plain = poisson_exact_test(5394, 1, 70245, 12)
    assert plain.p_value < 1e-8 < 0.003 < res.p_value < 0.005  # type: ignore[operator]
    width = math.log(res.ci_high / res.ci_low)  # type: ignore[operator]
    assert width == pytest.approx(math.sqrt(4.19) * math.log(plain.ci_high / plain.ci_low), rel=0.02)  # type: ignore[operator]
    assert quasi_poisson_test(0, 1, 0, 12, 3).p_value == 1.0
    inf = quasi_poisson_test(4, 1, 0, 12, 2)
    assert inf.estimate == math.inf and inf.ci_high == math.inf and "infinite" in inf.note
    assert "taken as 1" in quasi_poisson_test(3, 1, 30, 12, 0.5).note
    assert quasi_poisson_test(3, 0, 30, 12, 2).p_value is None
    assert np.isnan(quasi_poisson_test_many(3, 1, 30, 12, np.nan).p_value[0])


@settings(max_examples=200, deadline=None)
@given(k=counts, k_ref=st.integers(0, 5000), e_ref=exposures, phi=st.floats(1, 40), more=st.floats(0, 20))
def test_property_more_dispersion_is_never_more_significant(k: int, k_ref: int, e_ref: float, phi: float, more: float) -> None:
    a, b = quasi_poisson_test_many(k, 1, k_ref, e_ref, [phi, phi + more]).p_value
    assert 0.0 <= a <= b + 1e-12 <= 1.0 + 1e-12


def test_size_under_over_dispersion_is_nominal() -> None:
    """Generated quasi-Poisson counts (gamma-Poisson, variance φμ) with no change: the adjusted
    test rejects about 5% at α = 0.05, the plain one far more (φ = 4.2: about a third)."""
    rng = np.random.default_rng(20251201)
    phi, mu, n = 4.2, 500.0, 20_000
    shape = mu / (phi - 1)  # gamma shape: variance μ + μ²/shape = φμ
    month = rng.poisson(rng.gamma(shape, mu / shape, size=n))
    year = rng.poisson(rng.gamma(shape, mu / shape, size=(n, 12))).sum(axis=1)
    adjusted = quasi_poisson_test_many(month, 1, year, 12, phi).p_value
    plain = poisson_exact_test_many(month, 1, year, 12).p_value
    assert 0.04 < float(np.mean(adjusted < 0.05)) < 0.06
    assert 0.30 < float(np.mean(plain < 0.05)) < 0.40
