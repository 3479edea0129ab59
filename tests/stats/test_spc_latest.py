"""The vectorised latest-point XmR verdict equals xmr_chart, series by series."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from thrv.stats.spc import xmr_chart, xmr_latest_many

DIRECTIONS = ["lower_is_better", "higher_is_better", "none"]


def _compare(series: list[list[float]], directions: list[str], shift: int = 7, trend: int = 7) -> None:
    width = max(len(s) for s in series)
    matrix = np.full((len(series), width), np.nan)
    for i, s in enumerate(series):
        if s:
            matrix[i, width - len(s):] = s
    got = xmr_latest_many(matrix, directions, shift_length=shift, trend_length=trend)
    for i, (s, d) in enumerate(zip(series, directions, strict=True)):
        if len(s) < 2:
            assert got.variation[i] == ""
            continue
        chart = xmr_chart(s, improvement=d, shift_length=shift, trend_length=trend)  # type: ignore[arg-type]
        assert got.variation[i] == chart.variation, (s, d)
        assert got.beyond_limits[i] == chart.beyond_limits[-1]
        assert got.shift[i] == chart.shift[-1]
        assert got.trend[i] == chart.trend[-1]
        assert got.two_of_three[i] == chart.two_of_three[-1]
        assert got.cause_direction[i] == chart.cause_direction[-1]
        assert np.isclose(got.mean[i], chart.mean[-1]) and np.isclose(got.ucl[i], chart.ucl[-1])


def test_known_signals() -> None:
    flat = [10.0, 12, 9, 11, 10, 12, 9, 11, 10, 12, 9, 11]
    _compare(
        [
            [*flat, 30.0],  # beyond the upper limit
            [*flat, 12, 12, 12, 12, 12, 12, 12],  # a shift above the mean
            [1.0, 2, 3, 4, 5, 6, 7, 8],  # a trend
            [5.0],  # too short
            [3.0, 3.0, 3.0],  # no variation
        ],
        ["lower_is_better", "higher_is_better", "none", "none", "none"],
    )


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(
        st.tuples(
            st.lists(st.integers(0, 40).map(float), min_size=0, max_size=30),
            st.sampled_from(DIRECTIONS),
        ),
        min_size=1,
        max_size=8,
    ),
    shift=st.integers(2, 9),
    trend=st.integers(3, 9),
)
def test_property_equals_xmr_chart(data: list[tuple[list[float], str]], shift: int, trend: int) -> None:
    _compare([d[0] for d in data], [d[1] for d in data], shift, trend)
