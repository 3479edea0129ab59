"""Funnel limits checked by hand (Poisson sums written out) and against scipy's winsorize."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.stats import mstats

from thrv.stats.funnel import (
    funnel,
    funnel_limits,
    funnel_plot,
    funnel_plots,
    poisson_limit,
    position,
)


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


# -- many plots at once: the same floats as one plot at a time -----------------------------


def _one_plot(counts: np.ndarray, exposures: np.ndarray, points: int, years: float) -> tuple[Any, list[str], list[dict[str, float]]]:
    """One funnel plot computed on its own with scipy, as thrv did before plots were batched:
    the fit, each unit's position and the contours (kept here as the reference)."""
    o, e = np.asarray(counts, dtype=float), np.asarray(exposures, dtype=float)
    ok = np.isfinite(o) & np.isfinite(e) & (e > 0)
    theta = float(o[ok].sum() / e[ok].sum()) if ok.any() else float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(ok, (o - theta * e) / np.sqrt(theta * e), np.nan)
    n, phi, over = int(ok.sum()), 1.0, False
    if n >= 3 and theta > 0:
        zs = np.sort(z[ok])
        k = int(np.floor(0.1 * n))
        if k:
            zs = np.clip(zs, zs[k], zs[n - 1 - k])
        phi_hat = float(np.sum(zs**2) / n)
        if n * phi_hat > stats.chi2.ppf(0.95, n - 1):
            phi, over = phi_hat, True
    target = theta * 1000.0

    def limits(pop: np.ndarray) -> dict[str, np.ndarray]:
        th = target / 1000.0
        out = {}
        for level in (0.95, 0.998):
            tail, name = (1 - level) / 2, f"{level * 100:g}"
            if over:
                half = stats.norm.ppf(1 - tail) * np.sqrt(phi * th / pop)
                out[f"lower_{name}"], out[f"upper_{name}"] = np.maximum(th - half, 0.0) * 1000.0, (th + half) * 1000.0
                continue
            for key, p in ((f"lower_{name}", tail), (f"upper_{name}", 1 - tail)):
                mu = th * pop
                r = stats.poisson.ppf(p, mu)
                f_r, f_r1 = stats.poisson.cdf(r, mu), stats.poisson.cdf(r - 1, mu)
                with np.errstate(divide="ignore", invalid="ignore"):
                    alpha = np.where(f_r > f_r1, (f_r - p) / (f_r - f_r1), 0.0)
                out[key] = np.maximum(r - alpha, 0.0) / pop * 1000.0
        return out

    at = limits(np.where(ok, e, 1.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where(ok, o / e * 1000.0, np.nan)
    places = [position(float(rates[i]), {k: float(v[i]) for k, v in at.items()}) if ok[i] else "" for i in range(len(o))]
    if not ok.any():
        return (target, phi, over, z), places, []
    lo, hi = float(e[ok].min()) * 0.8, float(e[ok].max()) * 1.1
    grid = np.geomspace(max(lo, 1.0), max(hi, lo, 1.0), points)
    lim = limits(grid)
    return (target, phi, over, z), places, [{"population": float(g / years), **{k: float(v[j]) for k, v in lim.items()}}
                                            for j, g in enumerate(grid)]


def _real_plots() -> list[tuple[np.ndarray, np.ndarray]]:
    """Recorded crimes by crime type and district, of each month of the bundled sample, against
    the districts' Census 2021 residents: real rows, plots of 3 to 6 units, Poisson and
    over-dispersed fits, and a few made awkward (a unit with no residents or no count, all
    zero, populations so small that the grid is clipped at 1)."""
    import pandas as pd

    from tests.conftest import SAMPLE
    from thrv.assess.similar import load_profiles

    profiles = load_profiles()
    residents = profiles[profiles["level"] == "district"].set_index("name")["population"]
    plots = []
    for path in sorted((SAMPLE / "cambridgeshire").glob("*/*-street.csv.gz"))[::4]:
        frame = pd.read_csv(path, usecols=["LSOA name", "Crime type"])
        frame["district"] = frame["LSOA name"].str.rsplit(" ", n=1).str[0]
        frame = frame[frame["district"].isin(residents.index)]
        table = frame.groupby(["Crime type", "district"]).size().unstack(fill_value=0)
        table = table.loc[:, table.sum() > 100]  # the force's own districts, not strays across the border
        pops = residents[table.columns].to_numpy(float)
        for _, row in table.iterrows():
            counts = row.to_numpy(float)
            plots.extend([(counts, pops), (counts[:3], pops[:3]), (counts[1:5], pops[1:5] * 2)])
    counts, pops = plots[0]
    plots += [(np.r_[counts[:4], np.nan], np.r_[pops[:4], 0.0]), (counts * 0, pops), (counts[:2], pops[:2]),
              (np.array([3.0, 1.0, 0.0]), np.array([0.5, 0.6, 0.7])), (np.array([]), np.array([]))]
    return plots


@pytest.mark.parametrize(("points", "years"), [(40, 1.0), (60, 0.5)])
def test_many_plots_at_once_give_the_floats_of_one_at_a_time(points: int, years: float) -> None:
    plots = _real_plots()
    batch = funnel_plots(plots, points, years)
    assert len(batch) == len(plots) > 100
    kinds = {(p.fit.overdispersed, len(p.position)) for p in batch}
    assert {True, False} <= {over for over, _ in kinds}  # both kinds of limit are checked
    for (counts, exposures), got in zip(plots, batch, strict=True):
        (target, phi, over, z), places, contours = _one_plot(counts, exposures, points, years)
        f = got.fit
        assert (f.target == target or (math.isnan(f.target) and math.isnan(target))) and f.phi == phi
        assert f.overdispersed == over and np.array_equal(f.z, z, equal_nan=True)
        assert got.position == places
        assert got.limits == contours  # exact equality of every float, not approximate
        single = funnel_plot(counts, exposures, points, years)
        assert single.position == places and single.limits == contours
