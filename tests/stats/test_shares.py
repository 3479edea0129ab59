"""Tests for thrv.stats.shares: the weighted-share change test."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.proportion import test_proportions_2indep as proportions_2indep

from thrv.stats.shares import weighted_share_change_many, weighted_shares


def test_equal_weights_reduce_to_the_unpooled_two_proportion_wald_test() -> None:
    a = np.array([30, 50, 20])
    b = np.array([20, 60, 40])
    res = weighted_share_change_many(a, b, [1, 1, 1])
    for i in range(3):
        ref = proportions_2indep(a[i], a.sum(), b[i], b.sum(), method="wald", compare="diff")
        assert res.statistic[i] == pytest.approx(ref.statistic, rel=1e-12)
        assert res.p_value[i] == pytest.approx(ref.pvalue, rel=1e-12)
        assert res.estimate[i] == pytest.approx(a[i] / a.sum() - b[i] / b.sum())


def test_delta_method_variance_matches_simulation() -> None:
    rng = np.random.default_rng(3)
    mean = np.array([400.0, 50.0, 1200.0, 30.0])
    w = np.array([194.2, 365.0, 2.0, 273.75])
    share, variance = weighted_shares(mean, w)
    draws = rng.poisson(mean, size=(40000, 4)).astype(float)
    sim = draws * w / (draws * w).sum(axis=1, keepdims=True)
    assert sim.mean(axis=0) == pytest.approx(share, rel=5e-3)
    assert sim.var(axis=0) == pytest.approx(variance, rel=0.05)


def test_zero_weight_and_empty_totals() -> None:
    res = weighted_share_change_many([5, 10], [5, 12], [0.0, 1.0])
    assert np.isnan(res.p_value[0])
    assert res.estimate[0] == 0
    share, variance = weighted_shares([0, 0], [1, 1])
    assert np.isnan(share).all()
    assert np.isnan(variance).all()
    with pytest.raises(ValueError, match="non-negative"):
        weighted_shares([1, -1], [1, 1])
