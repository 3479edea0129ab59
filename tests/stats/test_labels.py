"""Tests for thrv.stats.labels: the words shown in a performance pack."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thrv.stats.labels import LABELS, classify, classify_many
from thrv.stats.results import TestResult, TestResultArray


def result(p: float | None, estimate: float | None, null_value: float = 1.0) -> TestResult:
    return TestResult("test", p, None, estimate, None, None, 0.95, null_value=null_value)


@pytest.mark.parametrize(
    ("p", "estimate", "direction", "expected"),
    [
        (0.01, 1.5, "lower_is_better", "Deteriorated"),
        (0.01, 0.6, "lower_is_better", "Improved"),
        (0.01, 1.5, "higher_is_better", "Improved"),
        (0.01, 0.6, "higher_is_better", "Deteriorated"),
        (0.01, 1.5, "none", "Higher"),
        (0.01, 0.6, "none", "Lower"),
        (0.2, 1.5, "lower_is_better", "Comparable"),
        (0.05, 1.5, "none", "Comparable"),  # p equal to alpha is not significant
        (None, 1.5, "none", "Insufficient data"),
        (0.01, None, "none", "Insufficient data"),
        (0.01, 1.0, "none", "Comparable"),
        (1.0, None, "lower_is_better", "Comparable"),  # no events either side
    ],
)
def test_classify_ratios(
    p: float | None, estimate: float | None, direction: str, expected: str
) -> None:
    assert classify(result(p, estimate), direction, alpha=0.05) == expected  # type: ignore[arg-type]


def test_classify_differences_use_zero() -> None:
    assert classify(result(0.001, 0.5, null_value=0.0), "none") == "Higher"
    assert classify(result(0.001, -0.1, null_value=0.0), "higher_is_better") == "Deteriorated"
    # Overriding the scale.
    assert classify(result(0.001, 0.5, null_value=0.0), "none", null_value=1.0) == "Lower"


def test_classify_alpha_and_direction_checked() -> None:
    with pytest.raises(ValueError, match="direction"):
        classify(result(0.01, 2.0), "up")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="alpha"):
        classify(result(0.01, 2.0), "none", alpha=5)
    assert classify(result(0.03, 2.0), "none", alpha=0.01) == "Comparable"


finite_or_nan = st.one_of(st.just(float("nan")), st.floats(0, 3, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.one_of(st.just(float("nan")), st.floats(0, 1)), finite_or_nan),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from(["lower_is_better", "higher_is_better", "none"]),
    st.sampled_from([0.01, 0.05, 0.1]),
)
def test_classify_many_equals_classify(
    rows: list[tuple[float, float]], direction: str, alpha: float
) -> None:
    p, estimate = (np.array(column) for column in zip(*rows, strict=True))
    nan = np.full(len(rows), np.nan)
    results = TestResultArray("test", p, nan, estimate, nan, nan, 0.95, null_value=1.0)
    words = classify_many(results, direction, alpha)  # type: ignore[arg-type]
    assert words.shape == (len(rows),)
    for i in range(len(rows)):
        assert words[i] == classify(results.row(i), direction, alpha)  # type: ignore[arg-type]
        assert words[i] in LABELS
