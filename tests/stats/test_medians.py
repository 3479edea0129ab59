"""Tests for thrv.stats.medians against scipy and an independent bootstrap."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from thrv.stats.medians import bootstrap_median_test, mann_whitney_test

times = st.lists(
    st.floats(min_value=0, max_value=500, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=25,
)


def response_times(seed: int, n: int, scale: float) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(np.log(scale), 0.6, n)


def test_mann_whitney_matches_scipy() -> None:
    a, b = response_times(1, 60, 12.0), response_times(2, 80, 9.0)
    result = mann_whitney_test(a, b)
    reference = stats.mannwhitneyu(a, b, alternative="two-sided")
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-12)
    assert result.statistic == pytest.approx(reference.statistic)
    assert result.estimate == pytest.approx(np.median(a) - np.median(b))
    assert result.null_value == 0.0


def independent_percentile_interval(
    a: np.ndarray, b: np.ndarray, n_boot: int, seed: int
) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    diffs = np.empty(n_boot)
    for i in range(n_boot):
        diffs[i] = np.median(rng.choice(a, a.size)) - np.median(rng.choice(b, b.size))
    low, high = np.percentile(diffs, [2.5, 97.5])
    return float(low), float(high)


def test_bootstrap_interval_agrees_with_a_plain_bootstrap() -> None:
    a, b = response_times(3, 150, 15.0), response_times(4, 150, 10.0)
    result = mann_whitney_test(a, b, n_boot=2000, seed=11)
    low, high = independent_percentile_interval(a, b, 2000, seed=99)
    # Different random streams: agree to within bootstrap noise.
    spread = high - low
    assert result.ci_low == pytest.approx(low, abs=0.08 * spread)
    assert result.ci_high == pytest.approx(high, abs=0.08 * spread)


def test_seeded_and_reproducible() -> None:
    a, b = response_times(5, 40, 10.0), response_times(6, 40, 11.0)
    first = bootstrap_median_test(a, b, seed=3)
    assert bootstrap_median_test(a, b, seed=3) == first
    assert bootstrap_median_test(a, b, seed=np.random.default_rng(3)) == first
    assert bootstrap_median_test(a, b, seed=4) != first


def test_bootstrap_test_detects_a_real_difference() -> None:
    a, b = response_times(7, 200, 20.0), response_times(8, 200, 10.0)
    shifted = bootstrap_median_test(a, b)
    assert shifted.p_value is not None
    assert shifted.p_value < 0.01
    assert shifted.ci_low is not None
    assert shifted.ci_low > 0


def test_bootstrap_test_holds_its_size_under_the_null() -> None:
    rng = np.random.default_rng(2024)
    rejections = 0
    trials = 80
    for i in range(trials):
        a = rng.lognormal(3.0, 0.6, 80)
        b = rng.lognormal(3.0, 0.6, 80)
        p = bootstrap_median_test(a, b, n_boot=300, seed=i).p_value
        assert p is not None
        rejections += p < 0.05
    # Nominal 5%: 80 trials put the count in 0..10 with probability > 0.99.
    assert rejections <= 10


def test_bootstrap_pvalue_by_hand() -> None:
    # Null-shifted bootstrap: p = (1 + #{|d* − d| ≥ |d|}) / (B + 1).
    a, b = response_times(10, 30, 14.0), response_times(11, 30, 10.0)
    result = bootstrap_median_test(a, b, n_boot=500, seed=5)
    res = stats.bootstrap(
        (a, b),
        lambda x, y, axis: np.median(x, axis=axis) - np.median(y, axis=axis),
        n_resamples=500,
        vectorized=True,
        paired=False,
        method="percentile",
        rng=np.random.default_rng(5),
    )
    d = np.median(a) - np.median(b)
    extreme = np.abs(res.bootstrap_distribution - d) >= abs(d) - 1e-12 * max(1, abs(d))
    assert result.p_value == pytest.approx((1 + extreme.sum()) / 501)
    assert result.ci_low == pytest.approx(res.confidence_interval.low)


def test_missing_values_are_dropped_and_noted() -> None:
    a = [1.0, 2.0, np.nan, 4.0, 5.0]
    b = [2.0, 3.0, 4.0, np.inf]
    result = mann_whitney_test(a, b)
    assert "2 missing" in result.note
    assert result.estimate == pytest.approx(3.0 - 3.0)


def test_empty_samples() -> None:
    result = mann_whitney_test([], [1, 2, 3])
    assert result.p_value is None
    assert "a is" in result.note
    assert bootstrap_median_test([np.nan], [np.nan]).p_value is None


def test_identical_constant_samples() -> None:
    result = bootstrap_median_test([5.0] * 10, [5.0] * 12)
    assert result.p_value == 1.0
    assert result.estimate == 0.0
    mw = mann_whitney_test([5.0] * 10, [5.0] * 12)
    assert mw.p_value == pytest.approx(1.0)


def test_n_boot_must_be_sensible() -> None:
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_median_test([1, 2], [3, 4], n_boot=10)


@settings(max_examples=30, deadline=None)
@given(times, times)
def test_properties(a: list[float], b: list[float]) -> None:
    for test in (mann_whitney_test, bootstrap_median_test):
        forward = test(a, b, n_boot=200)
        backward = test(b, a, n_boot=200)
        if min(len(a), len(b)) < 2:
            assert "two or more" in forward.note
            assert forward.ci_low is None
            continue
        assert forward.p_value is not None
        assert 0 < forward.p_value <= 1
        assert forward.estimate == pytest.approx(-backward.estimate)  # type: ignore[operator]
        if test is mann_whitney_test:
            assert forward.p_value == pytest.approx(backward.p_value)
        assert forward.ci_low is not None
        assert forward.ci_high is not None
        assert forward.ci_low <= forward.ci_high
