"""Tests for the shared result containers and the public names of thrv.stats."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import thrv.stats
from thrv.stats.results import TestResult, TestResultArray, check_confidence


def test_result_is_frozen() -> None:
    result = TestResult("m", 0.5, 1.0, 1.0, 0.5, 2.0, 0.95)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.p_value = 0.1  # type: ignore[misc]
    assert result.note == ""
    assert result.null_value == 0.0


def test_result_array_row_and_length() -> None:
    array = TestResultArray(
        "m",
        p_value=[0.1, np.nan],
        statistic=[1.0, np.nan],
        estimate=[2.0, np.nan],
        ci_low=[1.0, np.nan],
        ci_high=[3.0, np.nan],
        confidence=0.9,
        null_value=1.0,
    )
    assert len(array) == 2
    assert array.row(0) == TestResult("m", 0.1, 1.0, 2.0, 1.0, 3.0, 0.9, null_value=1.0)
    assert array.row(1).p_value is None
    assert not array.p_value.flags.writeable


@pytest.mark.parametrize("bad", [0, 1, 95, -0.5, float("nan")])
def test_confidence_must_be_a_fraction(bad: float) -> None:
    with pytest.raises(ValueError, match="confidence"):
        check_confidence(bad)


def test_public_names_exist() -> None:
    for name in thrv.stats.__all__:
        assert hasattr(thrv.stats, name), name
    assert len(set(thrv.stats.__all__)) == len(thrv.stats.__all__)
