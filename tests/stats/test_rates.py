"""Tests for thrv.stats.rates against scipy.stats.chi2 and published formulae."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from thrv.stats.rates import (
    count_interval,
    crude_rate,
    crude_rate_many,
    rate_per_1000,
    rate_per_1000_many,
)


def garwood(count: int, confidence: float = 0.95) -> tuple[float, float]:
    alpha = 1 - confidence
    low = 0.0 if count == 0 else stats.chi2.ppf(alpha / 2, 2 * count) / 2
    high = stats.chi2.ppf(1 - alpha / 2, 2 * count + 2) / 2
    return float(low), float(high)


def byar(count: int, confidence: float = 0.95) -> tuple[float, float]:
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    low = count * (1 - 1 / (9 * count) - z / (3 * math.sqrt(count))) ** 3
    high = (count + 1) * (1 - 1 / (9 * (count + 1)) + z / (3 * math.sqrt(count + 1))) ** 3
    return low, high


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 100_000), st.floats(1, 1e7), st.sampled_from([0.9, 0.95, 0.998]))
def test_exact_matches_chi_square(count: int, population: float, confidence: float) -> None:
    result = rate_per_1000(count, population, confidence)
    low, high = garwood(count, confidence)
    assert result.rate == pytest.approx(count / population * 1000)
    assert result.ci_low == pytest.approx(low / population * 1000, rel=1e-9, abs=1e-300)
    assert result.ci_high == pytest.approx(high / population * 1000, rel=1e-9)
    assert result.ci_low <= result.rate <= result.ci_high


def test_known_values() -> None:
    # 0 events: upper limit −ln(0.025) = 3.689 (the "rule of three" at 95%).
    low, high = count_interval([0])
    assert low[0] == 0.0
    assert high[0] == pytest.approx(-math.log(0.025))
    result = rate_per_1000(24, 12_000)
    assert result.rate == pytest.approx(2.0)
    assert result.ci_low == pytest.approx(garwood(24)[0] / 12)
    assert "Garwood" in result.method


@pytest.mark.parametrize("count", [10, 50, 389, 1000, 100_000])
def test_byar_matches_formula_and_approaches_exact(count: int) -> None:
    low, high = count_interval([count], method="byar")
    assert (low[0], high[0]) == pytest.approx(byar(count), rel=1e-12)
    exact_low, exact_high = garwood(count)
    tolerance = 0.02 if count < 50 else 0.002
    assert low[0] == pytest.approx(exact_low, rel=tolerance)
    assert high[0] == pytest.approx(exact_high, rel=tolerance)


def test_phe_rule_switches_at_ten() -> None:
    low, high = count_interval([9, 10], method="phe")
    assert (low[0], high[0]) == pytest.approx(garwood(9))
    assert (low[1], high[1]) == pytest.approx(byar(10))


def test_many_and_per() -> None:
    many = rate_per_1000_many([0, 5, 50, -1, 3], [1000, 2000, 0, 1000, 1000])
    assert many.rate[1] == pytest.approx(2.5)
    assert np.isnan(many.rate[2])
    assert np.isnan(many.ci_low[3])
    single = rate_per_1000(3, 1000)
    assert (many.rate[4], many.ci_low[4], many.ci_high[4]) == (
        single.rate,
        single.ci_low,
        single.ci_high,
    )
    per_100k = crude_rate(7, 250_000, per=100_000)
    assert per_100k.rate == pytest.approx(2.8)
    assert crude_rate_many([7], [250_000], per=100_000).ci_high[0] == per_100k.ci_high


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="whole number"):
        rate_per_1000(-2, 100)
    with pytest.raises(ValueError, match="method"):
        count_interval([1], method="wilson")  # type: ignore[arg-type]
    assert math.isnan(rate_per_1000(3, 0).rate)
