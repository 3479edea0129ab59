"""Tests for thrv.stats.spc: XmR charts computed by hand on small series."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thrv.stats.spc import xmr_chart

STABLE = [10, 12, 11, 13, 12, 11, 10, 12, 13, 11, 12, 14]


def test_limits_by_hand() -> None:
    chart = xmr_chart(STABLE)
    mean = Fraction(sum(STABLE), len(STABLE))  # 141/12
    ranges = [abs(b - a) for a, b in itertools.pairwise(STABLE)]
    mr_bar = Fraction(sum(ranges), len(ranges))  # 16/11
    assert chart.mean[0] == pytest.approx(float(mean))
    assert chart.mean_moving_range[0] == pytest.approx(float(mr_bar))
    assert chart.ucl[0] == pytest.approx(float(mean + Fraction(266, 100) * mr_bar))
    assert chart.lcl[0] == pytest.approx(float(mean - Fraction(266, 100) * mr_bar))
    sigma = Fraction(266, 300) * mr_bar
    assert chart.upper_1sigma[0] == pytest.approx(float(mean + sigma))
    assert chart.lower_2sigma[0] == pytest.approx(float(mean - 2 * sigma))
    assert np.isnan(chart.moving_range[0])
    assert chart.moving_range[1:].tolist() == ranges
    assert not chart.special_cause.any()
    assert chart.variation == "common cause"
    assert chart.note == ""


@pytest.mark.parametrize(
    ("improvement", "expected"),
    [
        ("lower_is_better", "special cause concern"),
        ("higher_is_better", "special cause improvement"),
        ("none", "special cause (neither)"),
    ],
)
def test_point_beyond_upper_limit(improvement: str, expected: str) -> None:
    chart = xmr_chart([*STABLE, 25], improvement)  # type: ignore[arg-type]
    assert chart.beyond_limits.tolist() == [False] * 12 + [True]
    assert chart.cause_direction[-1] == "high"
    assert chart.variation == expected


def test_point_below_lower_limit() -> None:
    chart = xmr_chart([*STABLE, 0], "lower_is_better")
    assert chart.beyond_limits[-1]
    assert chart.cause_direction[-1] == "low"
    assert chart.variation == "special cause improvement"


def test_shift_of_seven_flags_every_point() -> None:
    values = [5, 1, 5, 1, 5, 1, 5, 1, 4, 4, 4, 4, 4, 4, 4, 1]
    chart = xmr_chart(values)
    mean = sum(values) / len(values)  # 3.0625: the 4s sit above it
    assert mean < 4
    expected = [False] * 8 + [True] * 7 + [False]
    assert chart.shift.tolist() == expected
    assert set(chart.cause_direction[8:15]) == {"high"}
    assert chart.variation == "common cause"  # the last point ends the run


def test_six_on_one_side_is_not_a_shift_unless_configured() -> None:
    values = [5, 1, 5, 1, 5, 1, 5, 1, 4, 4, 4, 4, 4, 4, 1, 1]
    assert not xmr_chart(values).shift.any()
    six = xmr_chart(values, shift_length=6)
    assert six.shift.tolist() == [False] * 8 + [True] * 6 + [False, False]
    assert six.shift_length == 6


def test_point_on_the_mean_breaks_a_run() -> None:
    # Mean 3: the 3 in the middle sits on it, splitting nine points above into 3 + 6.
    values = [1, 1, 1, 1, 1, 1, 4, 4, 4, 3, 4, 4, 4, 5, 5, 5]
    chart = xmr_chart(values)
    assert chart.mean[0] == pytest.approx(3.0)
    assert not chart.shift.any()
    assert xmr_chart(values, shift_length=6).shift[10:].all()


def test_trend_of_seven() -> None:
    values = [5, 3, 6, 2, 1, 2, 3, 4, 5, 6, 7, 3]
    chart = xmr_chart(values)
    assert chart.trend.tolist() == [False] * 4 + [True] * 7 + [False]
    assert set(chart.cause_direction[5:10]) <= {"high", "low"}


def test_trend_direction_for_a_falling_run_above_the_mean() -> None:
    values = [1, 1, 1, 1, 1, 1, 1, 1, 1, 20, 19, 18, 17, 16, 15, 14]
    chart = xmr_chart(values, baseline_points=9, trend_length=7)
    assert chart.trend[9:].all()
    assert chart.beyond_limits[-1]  # above the upper limit: that rule comes first, "high"
    assert chart.cause_direction[-1] == "high"
    # a falling run above the mean but inside the limits: the trend takes precedence over
    # the shift (NHSRplotthedots), so the verdict is "low", not the side of the mean
    inside = [1.0, 9.0] * 6 + [7.9, 7.8, 7.7, 7.6, 7.5, 7.4, 7.3]
    chart = xmr_chart(inside, "lower_is_better", baseline_points=12)
    assert chart.shift[-1] and chart.trend[-1] and not chart.beyond_limits[-1]
    assert chart.rule[-1] == "trend"
    assert chart.cause_direction[-1] == "low"
    assert chart.variation == "special cause improvement"


def test_trend_alone_takes_the_trend_direction() -> None:
    values = [6, 1, 6, 1, 6, 1, 6, 1, 4.5, 4, 3.5, 3, 2.5, 2, 1.5]
    chart = xmr_chart(values, baseline_points=8)
    assert chart.trend[8:].all()
    assert not (chart.beyond_limits | chart.shift | chart.two_of_three)[-1]
    assert chart.cause_direction[-1] == "low"
    assert (
        xmr_chart(values, "lower_is_better", baseline_points=8).variation
        == "special cause improvement"
    )


def test_equal_neighbours_break_a_trend() -> None:
    values = [9, 1, 9, 1, 1, 2, 3, 3, 4, 5, 6, 7, 1]
    chart = xmr_chart(values)
    assert not chart.trend[4:8].any()
    assert xmr_chart(values, trend_length=5).trend[7:12].all()


def two_sigma_baseline() -> list[float]:
    # Alternating 10, 12: mean 11, mR̄ 2, σ = 2.66/3·2, 2σ line 14.547, limit 16.32.
    return [10.0, 12.0] * 6


def test_two_of_three_beyond_two_sigma() -> None:
    chart = xmr_chart([*two_sigma_baseline(), 15, 12, 15], baseline_points=12)
    assert chart.upper_2sigma[0] == pytest.approx(11 + 2 * 2.66 / 3 * 2)
    assert chart.two_of_three.tolist() == [False] * 12 + [True, False, True]
    assert chart.rule.tolist()[-3:] == ["two_of_three", "", "two_of_three"]
    assert not chart.beyond_limits.any()
    assert chart.variation == "special cause (neither)"


def test_two_of_three_needs_all_three_on_one_side_of_the_mean() -> None:
    # NHSRplotthedots: the middle point sitting on the mean (11) breaks the window
    chart = xmr_chart([*two_sigma_baseline(), 15, 11, 15], baseline_points=12)
    assert not chart.two_of_three.any()
    assert chart.variation == "common cause"


def test_two_beyond_two_sigma_on_opposite_sides_is_not_a_signal() -> None:
    chart = xmr_chart([*two_sigma_baseline(), 15, 7], baseline_points=12)
    assert not chart.two_of_three.any()


def test_nhsr_plotthedots_opposite_sides_example() -> None:
    # From NHSRplotthedots' own tests: alternating ±1 then 5.5 and −5.5 is common cause.
    values = [1.0, -1.0] * 8
    values[14], values[15] = 5.5, -5.5
    assert xmr_chart(values, screen_outliers=False).mean_moving_range[0] == pytest.approx(43.5 / 15)
    chart = xmr_chart(values)
    # screened: the range of 11 is not below 3.267 · 2.9, so mR̄ = (43.5 − 11) / 14
    assert chart.mean_moving_range[0] == pytest.approx(32.5 / 14)
    assert not chart.special_cause[-2:].any()
    assert chart.variation == "common cause"


def test_beyond_limit_point_does_not_count_towards_two_of_three() -> None:
    # NHSRplotthedots counts only points between the 2σ line and the limit
    chart = xmr_chart([*two_sigma_baseline(), 17, 15], baseline_points=12)
    assert chart.beyond_limits.tolist()[-2:] == [True, False]
    assert chart.two_of_three.tolist()[-2:] == [False, False]
    assert chart.rule.tolist()[-2:] == ["beyond_limits", ""]


def test_rebase_gives_each_segment_its_own_limits_and_runs() -> None:
    first = [10, 12, 11, 13, 12, 11, 10, 12]
    second = [30, 32, 31, 33, 32, 31, 30, 32]
    chart = xmr_chart(first + second, rebase_at=8)
    assert chart.segment.tolist() == [0] * 8 + [1] * 8
    assert chart.mean[0] == pytest.approx(np.mean(first))
    assert chart.mean[-1] == pytest.approx(np.mean(second))
    assert np.isnan(chart.moving_range[8])  # no range across the rebase
    assert chart.mean_moving_range[-1] == pytest.approx(np.mean(np.abs(np.diff(second))))
    assert not chart.special_cause.any()
    without = xmr_chart(first + second)
    assert without.shift.any()  # one mean for all: the second half is a shift
    assert "provisional" in chart.note


def test_rebase_at_several_points() -> None:
    chart = xmr_chart(list(range(30)), rebase_at=[10, 20, 0])
    assert chart.segment.tolist() == [0] * 10 + [1] * 10 + [2] * 10
    with pytest.raises(ValueError, match="outside"):
        xmr_chart([1, 2, 3], rebase_at=5)


def test_baseline_points_fix_the_limits() -> None:
    values = [*STABLE, 20, 21, 22]
    chart = xmr_chart(values, baseline_points=12)
    reference = xmr_chart(STABLE)
    assert chart.ucl[-1] == pytest.approx(reference.ucl[0])
    assert chart.beyond_limits[-3:].all()
    moved = xmr_chart(values)
    assert moved.ucl[0] > reference.ucl[0]


def test_screen_outliers_drops_large_moving_ranges() -> None:
    values = [10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 30, 10]
    ranges = np.abs(np.diff(values))
    kept = ranges[ranges < 3.267 * ranges.mean()]
    assert kept.size == ranges.size - 2  # the two ranges either side of the 30
    chart = xmr_chart(values)  # screening is the default, as in NHSRplotthedots
    assert chart.screen_outliers
    assert chart.mean_moving_range[0] == pytest.approx(kept.mean())
    assert xmr_chart(values, screen_outliers=False).mean_moving_range[0] == pytest.approx(ranges.mean())


@pytest.mark.parametrize(
    ("target", "improvement", "expected"),
    [
        (30, "higher_is_better", "consistently fails"),
        (30, "lower_is_better", "consistently passes"),
        (2, "higher_is_better", "consistently passes"),
        (2, "lower_is_better", "consistently fails"),
        (12, "higher_is_better", "hit and miss"),
        (12, "none", None),
    ],
)
def test_assurance(target: float, improvement: str, expected: str | None) -> None:
    chart = xmr_chart(STABLE, improvement, target=target)  # type: ignore[arg-type]
    assert chart.assurance == expected
    if improvement == "none":
        assert "target" in chart.note


def test_short_series() -> None:
    one = xmr_chart([4.0])
    assert one.variation is None
    assert "at least two points" in one.note
    assert np.isnan(one.ucl).all()
    empty = xmr_chart([])
    assert empty.variation is None
    assert empty.values.size == 0
    few = xmr_chart([3, 4, 5, 4, 3])
    assert "provisional" in few.note
    assert few.variation == "common cause"


def test_segment_with_one_point() -> None:
    chart = xmr_chart([1, 2, 3, 2, 1, 9], rebase_at=5)
    assert np.isnan(chart.ucl[-1])
    assert chart.variation is None
    assert "fewer than two baseline points" in chart.note


def test_constant_series_has_zero_width_limits() -> None:
    chart = xmr_chart([5.0] * 15)
    assert chart.ucl[0] == chart.lcl[0] == 5.0
    assert "zero width" in chart.note
    assert not chart.special_cause.any()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="finite"):
        xmr_chart([1.0, np.nan, 2.0])
    with pytest.raises(ValueError, match="improvement"):
        xmr_chart([1, 2, 3], "up")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shift_length"):
        xmr_chart([1, 2, 3], shift_length=1)
    with pytest.raises(ValueError, match="baseline_points"):
        xmr_chart([1, 2, 3], baseline_points=1)


series = st.lists(
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False), min_size=2, max_size=60
)


@settings(max_examples=80, deadline=None)
@given(series)
def test_limits_are_symmetric_about_the_mean(values: list[float]) -> None:
    chart = xmr_chart(values)
    assert np.allclose(chart.ucl - chart.mean, chart.mean - chart.lcl, rtol=1e-9, atol=1e-6)
    assert np.allclose(
        chart.upper_2sigma - chart.mean, 2 * (chart.upper_1sigma - chart.mean), atol=1e-6
    )
    assert np.all(chart.lcl <= chart.mean)
    assert np.all(
        chart.special_cause
        == (chart.beyond_limits | chart.shift | chart.trend | chart.two_of_three)
    )
    assert np.all((chart.cause_direction != "") == chart.special_cause)
    assert np.all((chart.rule != "") == chart.special_cause)
    first = np.select([chart.beyond_limits, chart.trend, chart.two_of_three, chart.shift],
                      ["beyond_limits", "trend", "two_of_three", "shift"], default="")
    assert chart.rule.tolist() == first.tolist()


@settings(max_examples=40, deadline=None)
@given(st.integers(7, 40), st.floats(0.1, 100), st.booleans())
def test_monotone_series_is_a_trend(length: int, step: float, rising: bool) -> None:
    values = np.arange(length) * step * (1 if rising else -1)
    chart = xmr_chart(values, "higher_is_better")
    assert chart.trend.all()
    assert chart.variation == ("special cause improvement" if rising else "special cause concern")
