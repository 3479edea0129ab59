"""Tests for thrv.stats.trend against direct statsmodels fits, scipy and hand computation."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from thrv.stats.trend import mann_kendall_test, poisson_trend_test


def monthly(n: int, start: str = "2019-04") -> np.ndarray:
    return np.arange(np.datetime64(start, "M"), np.datetime64(start, "M") + n)


def simulated_counts(
    n: int, annual_change: float, seed: int, overdispersed: bool = True
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 12
    season = 1 + 0.25 * np.sin(2 * np.pi * np.arange(n) / 12)
    mean = 40 * (1 + annual_change) ** t * season
    if overdispersed:
        mean = mean * rng.gamma(8, 1 / 8, n)  # negative-binomial-like extra variation
    return rng.poisson(mean)


def direct_fit(counts: np.ndarray, months: np.ndarray, seasonal: bool, scale: float | str):
    frame = pd.DataFrame(
        {
            "count": counts,
            "years": (months - months[0]).astype(int) / 12,
            "month": months.astype("datetime64[M]").astype(int) % 12,
        }
    )
    formula = "count ~ years + C(month)" if seasonal else "count ~ years"
    model = smf.glm(formula, frame, family=sm.families.Poisson())
    return model.fit(scale=scale, use_t=True)


def test_matches_direct_statsmodels_fit_when_overdispersed() -> None:
    months = monthly(48)
    counts = simulated_counts(48, 0.08, seed=1)
    result = poisson_trend_test(counts, months)
    fit = direct_fit(counts, months, seasonal=True, scale="X2")
    assert fit.scale > 1
    b = fit.params["years"]
    low, high = fit.conf_int().loc["years"]
    assert result.estimate == pytest.approx(100 * (math.exp(b) - 1), rel=1e-6)
    assert result.ci_low == pytest.approx(100 * (math.exp(low) - 1), rel=1e-6)
    assert result.ci_high == pytest.approx(100 * (math.exp(high) - 1), rel=1e-6)
    assert result.p_value == pytest.approx(fit.pvalues["years"], rel=1e-6)
    assert result.statistic == pytest.approx(fit.tvalues["years"], rel=1e-6)
    assert "month of year" in result.method
    assert f"{fit.scale:.3g}" in result.method
    assert result.null_value == 0.0


def test_underdispersion_is_floored_at_poisson() -> None:
    months = monthly(36)
    counts = np.full(36, 50) + np.arange(36) // 6  # far less variable than Poisson
    result = poisson_trend_test(counts, months)
    fit = direct_fit(counts, months, seasonal=True, scale=1.0)
    assert direct_fit(counts, months, seasonal=True, scale="X2").scale < 1
    assert result.p_value == pytest.approx(fit.pvalues["years"], rel=1e-6)
    assert "= 1;" in result.method


def test_short_series_drops_seasonality() -> None:
    months = monthly(18)
    counts = simulated_counts(18, 0.0, seed=2)
    result = poisson_trend_test(counts, months)
    fit = direct_fit(counts, months, seasonal=False, scale="X2")
    scale = max(1.0, fit.scale)
    fit = direct_fit(counts, months, seasonal=False, scale=scale)
    assert result.p_value == pytest.approx(fit.pvalues["years"], rel=1e-6)
    assert "Fewer than 24 months" in result.note
    assert "month of year" not in result.method


def test_detects_a_real_rise_and_estimates_its_size() -> None:
    months = monthly(72)
    counts = simulated_counts(72, 0.10, seed=3, overdispersed=False)
    result = poisson_trend_test(counts, months)
    assert result.p_value is not None
    assert result.p_value < 1e-4
    assert result.ci_low < 10 < result.ci_high  # type: ignore[operator]


def test_exposure_offset() -> None:
    months = monthly(30)
    counts = simulated_counts(30, 0.05, seed=4)
    days = months.astype("datetime64[D]")
    exposure = (
        (days + np.timedelta64(31, "D")).astype("datetime64[M]").astype("datetime64[D]") - days
    ).astype(float)
    result = poisson_trend_test(counts, months, exposure=exposure)
    frame = pd.DataFrame(
        {"count": counts, "years": np.arange(30) / 12, "month": months.astype(int) % 12}
    )
    model = smf.glm(
        "count ~ years + C(month)", frame, family=sm.families.Poisson(), offset=np.log(exposure)
    )
    first = model.fit()
    fit = model.fit(scale=max(1.0, first.pearson_chi2 / first.df_resid), use_t=True)
    assert result.p_value == pytest.approx(fit.pvalues["years"], rel=1e-6)
    assert "exposure" in result.method
    doubled = poisson_trend_test(counts, months, exposure=2 * exposure)
    assert doubled.estimate == pytest.approx(result.estimate)


def test_gaps_and_string_months() -> None:
    months = monthly(40)
    counts = simulated_counts(40, 0.03, seed=5)
    keep = np.ones(40, dtype=bool)
    keep[[5, 17, 30]] = False
    as_text = [str(m) for m in months[keep]]
    result = poisson_trend_test(counts[keep], as_text)
    fit = direct_fit(counts[keep], months[keep], seasonal=True, scale=1.0)
    phi = max(1.0, fit.pearson_chi2 / fit.df_resid)
    fit = direct_fit(counts[keep], months[keep], seasonal=True, scale=phi)
    assert result.p_value == pytest.approx(fit.pvalues["years"], rel=1e-6)
    # Order of rows does not matter.
    shuffled = np.random.default_rng(0).permutation(keep.sum())
    again = poisson_trend_test(counts[keep][shuffled], np.array(as_text)[shuffled])
    assert again.p_value == pytest.approx(result.p_value, rel=1e-10)


def test_month_without_events_drops_seasonality() -> None:
    months = monthly(36, start="2020-01")
    counts = simulated_counts(36, 0.0, seed=6)
    counts[months.astype(int) % 12 == 7] = 0  # no events in any August
    result = poisson_trend_test(counts, months)
    assert result.p_value is not None
    assert "left out" in result.note
    assert "month of year" not in result.method


def test_not_computable() -> None:
    assert poisson_trend_test([1, 2, 3, 4, 5], monthly(5)).p_value is None
    zero = poisson_trend_test(np.zeros(12), monthly(12))
    assert zero.p_value is None
    assert "No events" in zero.note
    with pytest.raises(ValueError, match="repeat"):
        poisson_trend_test([1, 2, 3, 4, 5, 6], ["2020-01"] * 6)
    with pytest.raises(ValueError, match="differ"):
        poisson_trend_test([1, 2, 3], monthly(4))
    with pytest.raises(ValueError, match="non-negative"):
        poisson_trend_test([1, -2, 3, 4, 5, 6], monthly(6))


def test_too_few_events_are_not_fitted() -> None:
    months = monthly(30)
    counts = np.zeros(30)
    counts[29] = 5  # everything in the last month: the slope would run off to infinity
    result = poisson_trend_test(counts, months)
    assert result.p_value is None
    assert "Too few events" in result.note
    counts[[3, 20]] = 3
    assert poisson_trend_test(counts, months).p_value is not None


# --- Mann-Kendall -------------------------------------------------------------------------


def mk_by_hand(x: list[float]) -> tuple[float, float]:
    n = len(x)
    s = sum(np.sign(x[j] - x[i]) for i, j in combinations(range(n), 2))
    _, ties = np.unique(x, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - sum(t * (t - 1) * (2 * t + 5) for t in ties)) / 18
    z = (s - np.sign(s)) / math.sqrt(var)
    return float(s), float(2 * stats.norm.sf(abs(z)))


def test_mann_kendall_by_hand_with_ties() -> None:
    x = [3.0, 4.0, 4.0, 6.0, 5.0, 7.0, 7.0, 7.0, 9.0, 8.0]
    result = mann_kendall_test(x)
    s, p = mk_by_hand(x)
    assert result.statistic == s
    assert result.p_value == pytest.approx(p, rel=1e-12)
    slopes = [(x[j] - x[i]) / (j - i) for i, j in combinations(range(len(x)), 2)]
    assert result.estimate == pytest.approx(float(np.median(slopes)))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=6, max_size=40, unique=True))
def test_mann_kendall_matches_kendalltau_without_ties(x: list[float]) -> None:
    result = mann_kendall_test(x, continuity=False)
    t = np.arange(len(x))
    tau = stats.kendalltau(t, x, method="asymptotic")
    n = len(x)
    assert result.statistic == pytest.approx(tau.statistic * n * (n - 1) / 2, abs=1e-9)
    assert result.p_value == pytest.approx(tau.pvalue, rel=1e-9, abs=1e-15)


def test_sen_slope_matches_theilslopes_with_times() -> None:
    rng = np.random.default_rng(8)
    times = np.sort(rng.choice(200, 25, replace=False)).astype(float)
    x = 0.3 * times + rng.normal(0, 5, 25)
    result = mann_kendall_test(x, confidence=0.9, times=times)
    reference = stats.theilslopes(x, times, alpha=0.9)
    assert result.estimate == pytest.approx(reference.slope)
    assert (result.ci_low, result.ci_high) == pytest.approx(
        (reference.low_slope, reference.high_slope)
    )
    assert result.p_value is not None
    assert result.p_value < 0.001


def test_deseasonalised() -> None:
    months = np.arange(48)
    seasonal = 10 * np.sin(2 * np.pi * months / 12)
    x = 50 + seasonal + 0.01 * months
    labels = months % 12
    result = mann_kendall_test(x, seasons=labels)
    means = np.array([x[labels == m].mean() for m in range(12)])
    expected = mann_kendall_test(x - means[labels])
    assert result.statistic == expected.statistic
    assert result.p_value == expected.p_value
    assert "deseasonalised" in result.method


def test_mann_kendall_edges() -> None:
    assert mann_kendall_test([1, 2, 3, 4, 5]).p_value is None
    flat = mann_kendall_test([4.0] * 10)
    assert flat.p_value == 1.0
    assert flat.estimate == 0.0
    gappy = mann_kendall_test([1, 2, np.nan, 4, 5, 6, 7])
    assert "1 missing" in gappy.note
    assert gappy.p_value is not None
    with pytest.raises(ValueError, match="repeat"):
        mann_kendall_test([1, 2, 3, 4, 5, 6], times=[0, 1, 1, 2, 3, 4])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=6, max_size=40))
def test_mann_kendall_properties(x: list[int]) -> None:
    forward = mann_kendall_test(x)
    backward = mann_kendall_test(x[::-1])
    assert forward.p_value is not None
    assert 0 <= forward.p_value <= 1
    assert forward.statistic == -backward.statistic  # type: ignore[operator]
    assert forward.p_value == pytest.approx(backward.p_value)
    assert forward.ci_low <= forward.estimate <= forward.ci_high  # type: ignore[operator]


@settings(max_examples=30, deadline=None)
@given(st.integers(8, 40), st.floats(0.01, 10))
def test_monotone_series_gives_a_trend_signal(n: int, step: float) -> None:
    rising = mann_kendall_test(np.arange(n) * step)
    assert rising.p_value is not None
    assert rising.p_value < 0.01
    assert rising.estimate == pytest.approx(step)
    counts = np.round(20 * 1.5 ** (np.arange(n) / 12) * 10)
    glm = poisson_trend_test(counts, monthly(n))
    assert glm.estimate is not None
    assert glm.estimate > 0
