"""thrv.stats.quantiles: the P90 bootstrap against exhaustive and brute-force resampling."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thrv.stats.quantiles import bootstrap_quantile_test, bootstrap_quantiles


@pytest.mark.parametrize("x", [[1.0, 2.0, 4.0], [3.0, 3.0, 8.0, 11.0], [0.5, 9.0, 2.0, 7.5, 6.0]])
@pytest.mark.parametrize("q", [0.9, 0.5, 0.25])
def test_bootstrap_quantile_has_the_exact_bootstrap_distribution(x: list[float], q: float) -> None:
    """Every one of the n^n resamples enumerated: the order-statistic draws give the same
    distribution of the resample's quantile (to Monte Carlo error, 200,000 draws)."""
    xs = np.array(x)
    n = xs.size
    exact: dict[float, float] = {}
    for c in itertools.product(range(n), repeat=n):
        v = round(float(np.quantile(xs[list(c)], q)), 9)
        exact[v] = exact.get(v, 0.0) + 1.0 / n**n
    draws = np.round(bootstrap_quantiles(xs, q, 200_000, np.random.default_rng(5)), 9)
    values, counts = np.unique(draws, return_counts=True)
    assert set(values) <= set(exact)
    for v, c in zip(values, counts, strict=True):
        assert c / draws.size == pytest.approx(exact[v], abs=4e-3)


def test_matches_brute_force_resampling_on_larger_samples() -> None:
    """Generated skewed times (lognormal, like response times): mean, sd and quantiles of the
    bootstrap P90 agree with resampling all values."""
    rng = np.random.default_rng(3)
    x = rng.lognormal(2.5, 0.8, size=201)
    fast = bootstrap_quantiles(x, 0.9, 40_000, np.random.default_rng(1))
    idx = np.random.default_rng(2).integers(0, x.size, size=(40_000, x.size))
    brute = np.quantile(x[idx], 0.9, axis=1)
    assert fast.mean() == pytest.approx(brute.mean(), rel=3e-3)
    assert fast.std() == pytest.approx(brute.std(), rel=3e-2)
    np.testing.assert_allclose(np.quantile(fast, [0.05, 0.5, 0.95]), np.quantile(brute, [0.05, 0.5, 0.95]), rtol=1.5e-2)


def test_p90_test_is_its_own_and_seeded() -> None:
    rng = np.random.default_rng(0)
    a = rng.lognormal(2.0, 0.6, 3000)
    b = np.concatenate([a[:2700], a[2700:] * 1.6])  # same median, a longer tail
    res = bootstrap_quantile_test(b, a, 0.9)
    assert "90th percentiles" in res.method
    assert res.estimate == pytest.approx(np.quantile(b, 0.9) - np.quantile(a, 0.9))
    assert res.p_value < 0.05 and res.ci_low > 0  # type: ignore[operator]
    assert bootstrap_quantile_test(b, a, 0.9) == res  # the same seed, the same answer
    assert bootstrap_quantile_test([1.0], [2.0, 3.0]).p_value is None
    with pytest.raises(ValueError, match="q must"):
        bootstrap_quantile_test(a, b, 1.0)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 200), shift=st.floats(-50, 50))
def test_property_shifting_both_samples_changes_nothing(seed: int, n: int, shift: float) -> None:
    rng = np.random.default_rng(seed)
    a, b = rng.exponential(10, n), rng.exponential(12, n + 3)
    r1 = bootstrap_quantile_test(a, b, 0.9, seed=seed)
    r2 = bootstrap_quantile_test(a + shift, b + shift, 0.9, seed=seed)
    assert r1.p_value == r2.p_value
    assert r1.estimate == pytest.approx(r2.estimate, abs=1e-9)  # type: ignore[arg-type]
    assert 0 < r1.p_value <= 1  # type: ignore[operator]


def test_size_under_the_null() -> None:
    """Generated: equal distributions, 400 comparisons: about 5% significant at 0.05."""
    rng = np.random.default_rng(11)
    p = [bootstrap_quantile_test(rng.lognormal(2, 0.7, 300), rng.lognormal(2, 0.7, 300), 0.9, n_boot=999, seed=k).p_value for k in range(400)]
    rate = float(np.mean(np.array(p) < 0.05))
    assert 0.02 <= rate <= 0.09
