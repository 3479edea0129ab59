"""Tests for thrv.stats.concentration against the lorenzgini R package's documented examples."""

from __future__ import annotations

import math

import pytest

from thrv.stats import gini
from thrv.stats.concentration import generalised_gini


def test_sparse_data_example_from_lorenzgini() -> None:
    crimes = [5, 2, 1] + [0] * 7  # 8 crimes over 10 places
    assert gini(crimes) == pytest.approx(0.8)
    assert generalised_gini(crimes) == pytest.approx(0.75)


def test_equals_gini_when_crimes_outnumber_places() -> None:
    crimes = [10, 8, 2] + [0] * 7
    assert generalised_gini(crimes) == pytest.approx(gini(crimes)) == pytest.approx(0.78)


def test_most_equal_spread_the_data_allow_scores_zero() -> None:
    assert generalised_gini([1, 1, 1] + [0] * 97) == pytest.approx(0.0, abs=1e-12)
    assert math.isnan(generalised_gini([0, 0, 0]))
