"""Funnel limits checked by hand (Poisson sums written out) and against scipy's winsorize."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.stats import mstats

from thrv.stats.funnel import funnel, funnel_limits, poisson_limit


def _cdf(k: int, mu: float) -> float:
    return sum(math.exp(-mu) * mu**i / math.factorial(i) for i in range(k + 1))


def test_poisson_limit_by_hand() -> None:
    # mu = 4: F(7) = 0.948866, F(8) = 0.978637, so the 97.5% point is 8 - (F(8) - .975) / (F(8) - F(7))
    f7, f8 = _cdf(7, 4.0), _cdf(8, 4.0)
    expected = 8 - (f8 - 0.975) / (f8 - f7)
    assert expected == pytest.approx(7.8778, abs=1e-4)
    assert poisson_limit(0.004, np.array([1000.0]), 0.975)[0] * 1000 == pytest.approx(expected, rel=1e-12)
    # lower 2.5% point: F(0) = .0183, F(1) = .0916 -> 1 - (F(1) - .025) / (F(1) - F(0))
    f0, f1 = _cdf(0, 4.0), _cdf(1, 4.0)
    assert poisson_limit(0.004, np.array([1000.0]), 0.025)[0] * 1000 == pytest.approx(1 - (f1 - 0.025) / (f1 - f0), rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(rate=st.floats(1, 200), pop=st.floats(20_000, 3_000_000))
def test_large_populations_approach_the_normal_limits(rate: float, pop: float) -> None:
    theta = rate / 1000
    mu = theta * pop
    if mu < 2_000:
        return
    upper = poisson_limit(theta, np.array([pop]), 0.975)[0]
    normal = theta + 1.959964 * math.sqrt(theta / pop)
    assert upper == pytest.approx(normal, rel=3 / math.sqrt(mu))


def test_limits_widen_as_populations_shrink_and_contain_the_target() -> None:
    f = funnel([100, 200, 300], [100_000, 200_000, 300_000])
    assert f.target == pytest.approx(1.0) and not f.overdispersed and f.phi == 1.0
    pops = np.array([50_000.0, 500_000.0, 5_000_000.0])
    lim = funnel_limits(f, pops)
    assert (np.diff(lim["upper_99.8"]) < 0).all() and (np.diff(lim["lower_99.8"]) > 0).all()
    assert (lim["lower_99.8"] < lim["lower_95"]).all() and (lim["upper_95"] < lim["upper_99.8"]).all()
    assert ((lim["lower_95"] < 1.0) & (lim["upper_95"] > 1.0)).all()


def test_overdispersion_matches_a_hand_computation() -> None:
    counts = np.array([900, 1500, 2100, 3900, 5200, 2500, 800, 4100, 6000, 1200.0])
    pops = np.array([300, 420, 610, 900, 1250, 700, 280, 1000, 1400, 500.0]) * 1000
    f = funnel(counts, pops)
    theta = counts.sum() / pops.sum()
    z = (counts - theta * pops) / np.sqrt(theta * pops)
    zw = np.asarray(mstats.winsorize(z, limits=(0.1, 0.1)))
    phi = float(np.mean(zw**2))
    assert len(counts) * phi > stats.chi2.ppf(0.95, len(counts) - 1)  # over-dispersed
    assert f.overdispersed and f.phi == pytest.approx(phi, rel=1e-12)
    np.testing.assert_allclose(f.z, z, rtol=1e-12)
    lim = funnel_limits(f, np.array([1_000_000.0]))
    half = stats.norm.ppf(0.975) * math.sqrt(phi * theta / 1_000_000)
    assert lim["upper_95"][0] == pytest.approx((theta + half) * 1000, rel=1e-12)
    assert "over-dispersed" in f.method and "Spiegelhalter" in f.method
