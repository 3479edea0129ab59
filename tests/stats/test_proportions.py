"""Tests for thrv.stats.proportions against statsmodels and hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats import proportion as smp
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from thrv.stats.proportions import (
    two_proportion_test,
    two_proportion_test_many,
    wilson_interval,
    wilson_interval_many,
)


@st.composite
def trials(draw: st.DrawFn, max_n: int = 500) -> tuple[int, int]:
    n = draw(st.integers(0, max_n))
    return draw(st.integers(0, n)), n


@st.composite
def two_groups(draw: st.DrawFn) -> tuple[int, int, int, int]:
    x1, n1 = draw(trials())
    x2, n2 = draw(trials())
    return x1, n1, x2, n2


# --- Wilson ----------------------------------------------------------------------------


def test_wilson_by_hand() -> None:
    # Wilson (1927): 8 of 40 at 95%: centre (p + z²/2n)/(1 + z²/n), half-width as documented.
    z = 1.959963984540054
    p, n = 0.2, 40
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert wilson_interval(8, 40) == pytest.approx((centre - half, centre + half), rel=1e-12)


@settings(max_examples=80, deadline=None)
@given(trials(), st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_wilson_matches_statsmodels_and_many(xn: tuple[int, int], confidence: float) -> None:
    x, n = xn
    low, high = wilson_interval(x, n, confidence)
    many_low, many_high = wilson_interval_many([x], [n], confidence)
    if n == 0:
        assert math.isnan(low)
        assert math.isnan(high)
        assert np.isnan(many_low[0])
        return
    sm_low, sm_high = proportion_confint(x, n, alpha=1 - confidence, method="wilson")
    assert (low, high) == pytest.approx((sm_low, sm_high), abs=1e-12)
    assert (many_low[0], many_high[0]) == pytest.approx((low, high), abs=1e-12)
    assert 0 <= low <= x / n <= high <= 1


def test_wilson_extremes_and_errors() -> None:
    low, high = wilson_interval(0, 20)
    assert low == 0.0
    assert 0 < high < 0.2
    low, high = wilson_interval(20, 20)
    assert high == 1.0
    assert 0.8 < low < 1
    with pytest.raises(ValueError, match="exceed"):
        wilson_interval(5, 4)
    low_arr, _ = wilson_interval_many([5, -1, 2], [4, 3, 0])
    assert np.isnan(low_arr).all()


# --- two proportions -------------------------------------------------------------------


def test_two_proportion_by_hand() -> None:
    # 30/120 charged against 45/130.
    result = two_proportion_test(30, 120, 45, 130)
    p1, p2, pooled = 30 / 120, 45 / 130, 75 / 250
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / 120 + 1 / 130))
    assert result.statistic == pytest.approx(z, rel=1e-12)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-12)
    assert result.estimate == pytest.approx(p1 - p2)
    # Newcombe (1998) method 10 from the two Wilson intervals.
    l1, u1 = proportion_confint(30, 120, method="wilson")
    l2, u2 = proportion_confint(45, 130, method="wilson")
    assert result.ci_low == pytest.approx(p1 - p2 - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2))
    assert result.ci_high == pytest.approx(p1 - p2 + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))
    assert result.null_value == 0.0


def test_newcombe_published_example() -> None:
    # Newcombe (1998), Table II example (c): 56/70 − 48/80, method 10 gives 0.0524 to 0.3339.
    result = two_proportion_test(56, 70, 48, 80)
    assert result.ci_low == pytest.approx(0.0524, abs=5e-5)
    assert result.ci_high == pytest.approx(0.3339, abs=5e-5)


@settings(max_examples=80, deadline=None)
@given(two_groups())
def test_two_proportion_matches_statsmodels(groups: tuple[int, int, int, int]) -> None:
    x1, n1, x2, n2 = groups
    result = two_proportion_test(x1, n1, x2, n2)
    if n1 == 0 or n2 == 0:
        assert result.p_value is None
        assert "No trials" in result.note
        return
    assert result.p_value is not None
    assert 0 <= result.p_value <= 1
    low, high = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb")
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high), abs=1e-12)
    pooled = (x1 + x2) / (n1 + n2)
    if 0 < pooled < 1:
        _z, p = proportions_ztest([x1, x2], [n1, n2])
        assert result.p_value == pytest.approx(p, rel=1e-9, abs=1e-15)
        # The score test without correction is the same pooled z-test.
        with np.errstate(divide="ignore", invalid="ignore"):  # its odds ratio at p = 0 or 1
            score = smp.test_proportions_2indep(x1, n1, x2, n2, method="score", correction=False)
        assert result.statistic == pytest.approx(score.statistic, rel=1e-9, abs=1e-12)
    else:
        assert result.p_value == 1.0
        assert result.statistic == 0.0
    assert result.ci_low <= result.estimate <= result.ci_high  # type: ignore[operator]


@settings(max_examples=60, deadline=None)
@given(two_groups())
def test_two_proportion_swap_symmetry(groups: tuple[int, int, int, int]) -> None:
    x1, n1, x2, n2 = groups
    forward = two_proportion_test(x1, n1, x2, n2)
    backward = two_proportion_test(x2, n2, x1, n1)
    if forward.p_value is None:
        assert backward.p_value is None
        return
    assert forward.p_value == pytest.approx(backward.p_value, abs=1e-12)
    assert forward.estimate == pytest.approx(-backward.estimate)  # type: ignore[operator]
    assert forward.ci_low == pytest.approx(-backward.ci_high, abs=1e-12)  # type: ignore[operator]


@settings(max_examples=30, deadline=None)
@given(st.lists(two_groups(), min_size=1, max_size=30))
def test_two_proportion_many_equals_scalar(rows: list[tuple[int, int, int, int]]) -> None:
    x1, n1, x2, n2 = (np.array(column) for column in zip(*rows, strict=True))
    many = two_proportion_test_many(x1, n1, x2, n2)
    for i, row in enumerate(rows):
        one = two_proportion_test(*row)
        got = many.row(i)
        for field in ("p_value", "statistic", "estimate", "ci_low", "ci_high"):
            expected = getattr(one, field)
            if expected is None:
                assert getattr(got, field) is None
            else:
                assert getattr(got, field) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_two_proportion_edges() -> None:
    all_yes = two_proportion_test(10, 10, 25, 25)
    assert all_yes.p_value == 1.0
    assert all_yes.estimate == 0.0
    assert "agree exactly" in all_yes.note
    none = two_proportion_test(0, 12, 0, 30)
    assert none.p_value == 1.0
    assert none.ci_low is not None
    assert none.ci_low < 0 < none.ci_high
    extreme = two_proportion_test(0, 50, 50, 50)
    assert extreme.estimate == -1.0
    assert extreme.p_value is not None
    assert extreme.p_value < 1e-10
    assert two_proportion_test(0, 0, 1, 5).p_value is None
    with pytest.raises(ValueError, match="exceed"):
        two_proportion_test(6, 5, 1, 5)
    many = two_proportion_test_many([1, 1, 3], [0, 5, 5], [1, 6, 2], [5, 5, 5])
    assert np.isnan(many.p_value[:2]).all()
    assert not np.isnan(many.p_value[2])
