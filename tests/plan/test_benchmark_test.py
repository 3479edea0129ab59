"""The one-sample proportion test against a fixed figure, checked against scipy and statsmodels."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binomtest
from statsmodels.stats.proportion import proportion_confint

from thrv.stats import classify
from thrv.stats.benchmark import one_proportion_test


@pytest.mark.parametrize(("x", "n", "p0"), [(43, 1654, 0.097), (50, 239, 0.259), (113_742, 123_498, 0.90), (0, 20, 0.1), (20, 20, 0.5)])
def test_against_scipy_and_statsmodels(x: int, n: int, p0: float) -> None:
    res = one_proportion_test(x, n, p0)
    assert res.p_value == pytest.approx(binomtest(x, n, p0).pvalue, rel=1e-12)
    low, high = proportion_confint(x, n, alpha=0.05, method="wilson")
    assert res.estimate == pytest.approx(x / n - p0)
    assert res.ci_low == pytest.approx(max(low, 0.0) - p0, abs=1e-12)
    assert res.ci_high == pytest.approx(min(high, 1.0) - p0, abs=1e-12)
    assert res.null_value == 0.0 and "binomial" in res.method


def test_the_seed_plan_figures() -> None:
    bme = one_proportion_test(43, 1654, 0.097)  # 2.6% of officers against a 9.7% BME population
    assert bme.p_value is not None and bme.p_value < 1e-20
    assert classify(bme, "higher_is_better") == "Deteriorated"  # below the share: worse
    turnover = one_proportion_test(50, 239, 0.259)  # 20.9% against 25.9% nationally
    assert turnover.p_value == pytest.approx(binomtest(50, 239, 0.259).pvalue)
    assert classify(turnover, "lower_is_better") == "Comparable"


def test_edge_cases() -> None:
    assert one_proportion_test(0, 0, 0.5).p_value is None
    assert "only one outcome" in one_proportion_test(3, 10, 0.0).note
    assert one_proportion_test(3, 10, 1.0).p_value is None
    with pytest.raises(ValueError, match="cannot exceed"):
        one_proportion_test(11, 10, 0.5)
    with pytest.raises(ValueError, match="whole number"):
        one_proportion_test(2.5, 10, 0.5)


@given(st.integers(1, 400), st.data(), st.floats(0.01, 0.99))
def test_properties(n: int, data: st.DataObject, p0: float) -> None:
    x = data.draw(st.integers(0, n))
    res = one_proportion_test(x, n, p0)
    assert res.p_value is not None and 0.0 <= res.p_value <= 1.0 + 1e-12
    assert res.ci_low is not None and res.ci_high is not None and res.estimate is not None
    assert res.ci_low - 1e-12 <= res.estimate <= res.ci_high + 1e-12
    mirrored = one_proportion_test(n - x, n, 1 - p0)
    assert mirrored.p_value == pytest.approx(res.p_value, rel=1e-9, abs=1e-12)
    assert math.isclose(mirrored.estimate or 0.0, -(res.estimate), abs_tol=1e-12)
