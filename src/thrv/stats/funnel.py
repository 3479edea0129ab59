"""Funnel plot limits for a rate per 1,000 residents: Poisson, and over-dispersed.

Method (Spiegelhalter 2005, "Funnel plots for comparing institutional performance",
Statistics in Medicine 24:1185-1202; and "Handling over-dispersion of performance
indicators", Quality and Safety in Health Care 14:347-351):

- the target is the pooled rate θ = ΣO / ΣP of the units compared (forces);
- Poisson limits at population P are the p-quantiles of Poisson(θP) / P, interpolated
  between integers as Spiegelhalter's appendix gives, so they are smooth in P;
- over-dispersion: z_i = (O_i − θP_i) / √(θP_i), winsorised at 10% each tail; the
  dispersion φ = Σz² / I is used when I·φ exceeds the χ²(I − 1) 95% point, and the
  limits become θ ± z_p √(φθ / P) (multiplicative model).

Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy import stats

#: the usual funnel contours: 95% ("warning") and 99.8% ("control")
LEVELS = (0.95, 0.998)


@cache
def _chi2_95(df: int) -> float:
    """The χ² 95% point, looked up once per number of units (a pack fits thousands of funnels)."""
    return float(stats.chi2.ppf(0.95, df))


@dataclass(frozen=True)
class Funnel:
    target: float  # pooled rate per 1,000
    phi: float  # dispersion factor (1.0 when not over-dispersed)
    overdispersed: bool
    z: np.ndarray  # each unit's (winsorised-free) z-score against the target
    method: str


def poisson_limit(target_rate: float | np.ndarray, population: np.ndarray, p: float) -> np.ndarray:
    """The p-quantile of Poisson(θP)/P, interpolated (Spiegelhalter 2005, appendix A.1.1).

    ``target_rate`` is one rate, or one per population.
    """
    mu = target_rate * np.asarray(population, dtype=float)
    r = stats.poisson.ppf(p, mu)
    f_r = stats.poisson.cdf(r, mu)
    f_r1 = stats.poisson.cdf(r - 1, mu)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(f_r > f_r1, (f_r - p) / (f_r - f_r1), 0.0)
    return np.maximum(r - alpha, 0.0) / np.asarray(population, dtype=float)


def funnel(counts: Sequence[float], populations: Sequence[float], winsor: float = 0.1) -> Funnel:
    """Target, z-scores and dispersion for the units' counts and residents."""
    o = np.asarray(counts, dtype=float)
    pop = np.asarray(populations, dtype=float)
    ok = np.isfinite(o) & np.isfinite(pop) & (pop > 0)
    theta = float(o[ok].sum() / pop[ok].sum()) if ok.any() else float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(ok, (o - theta * pop) / np.sqrt(theta * pop), np.nan)
    n = int(ok.sum())
    phi, over = 1.0, False
    if n >= 3 and theta > 0:
        zs = np.sort(z[ok])
        k = int(np.floor(winsor * n))
        if k:
            zs = np.clip(zs, zs[k], zs[n - 1 - k])
        phi_hat = float(np.sum(zs**2) / n)
        if n * phi_hat > _chi2_95(n - 1):
            phi, over = phi_hat, True
    method = (
        f"over-dispersed Poisson funnel (φ = {phi:.2f}, 10% winsorised z-scores; Spiegelhalter 2005)"
        if over
        else "Poisson funnel, exact limits (Spiegelhalter 2005)"
    )
    return Funnel(theta * 1000.0, phi, over, z, method)


def funnel_limits(f: Funnel, populations: np.ndarray, levels: Sequence[float] = LEVELS) -> dict[str, np.ndarray]:
    """Lower and upper limits (rate per 1,000) at each population for each level."""
    pop = np.asarray(populations, dtype=float)
    theta = f.target / 1000.0
    out: dict[str, np.ndarray] = {}
    for level in levels:
        tail = (1 - level) / 2
        name = f"{level * 100:g}"
        if f.overdispersed:
            zq = stats.norm.ppf(1 - tail)
            half = zq * np.sqrt(f.phi * theta / pop)
            out[f"lower_{name}"] = np.maximum(theta - half, 0.0) * 1000.0
            out[f"upper_{name}"] = (theta + half) * 1000.0
        else:
            out[f"lower_{name}"] = poisson_limit(theta, pop, tail) * 1000.0
            out[f"upper_{name}"] = poisson_limit(theta, pop, 1 - tail) * 1000.0
    return out


@dataclass(frozen=True)
class FunnelPlot:
    """A funnel plot's content: the fit, each unit's place against the limits, the contours."""

    fit: Funnel
    position: list[str]  # each unit: "above the 99.8% limit" … "within the limits" ("" if not placed)
    limits: list[dict[str, float]]  # population, lower_95, upper_95, lower_99.8, upper_99.8 on a grid


def position(rate: float, at: dict[str, float]) -> str:
    """Where a rate per 1,000 falls against the 95% and 99.8% limits at its population."""
    if not np.isfinite(rate):
        return ""
    if rate > at["upper_99.8"]:
        return "above the 99.8% limit"
    if rate > at["upper_95"]:
        return "above the 95% limit"
    if rate < at["lower_99.8"]:
        return "below the 99.8% limit"
    if rate < at["lower_95"]:
        return "below the 95% limit"
    return "within the limits"


def funnel_plot(
    counts: Sequence[float], exposures: Sequence[float], points: int = 60, years: float = 1.0
) -> FunnelPlot:
    """Everything a funnel plot of these units needs, from one fit.

    ``exposures`` are person-years (residents × ``years``); the contours are drawn on a grid
    from 0.8 to 1.1 times the units' exposures and labelled by residents (person-years /
    ``years``), so the chart's x axis is the population whatever the period. The pack's
    comparison of all forces and its comparison of an area with its similar areas both use
    this, so the two plots follow one method.
    """
    return funnel_plots([(counts, exposures)], points, years)[0]


def funnel_plots(
    plots: Sequence[tuple[Sequence[float], Sequence[float]]], points: int = 60, years: float = 1.0
) -> list[FunnelPlot]:
    """:func:`funnel_plot` of many sets of units (counts, exposures) at once.

    A national pack compares thousands of groups of similar areas; each has its own fit, but
    their limits are computed together, one quantile call over every point and contour of
    every plot, so the figures are those of one plot at a time, far faster.
    """
    if not plots:
        return []
    fits, oks, rates, grids = [], [], [], []
    for counts, exposures in plots:
        o = np.asarray(counts, dtype=float)
        e = np.asarray(exposures, dtype=float)
        fits.append(funnel(o, e))
        ok = np.isfinite(o) & np.isfinite(e) & (e > 0)
        oks.append(ok)
        with np.errstate(divide="ignore", invalid="ignore"):
            rates.append(np.where(ok, o / e * 1000.0, np.nan))
        if ok.any():
            lo, hi = float(e[ok].min()) * 0.8, float(e[ok].max()) * 1.1
            grids.append((np.where(ok, e, 1.0), np.geomspace(max(lo, 1.0), max(hi, lo, 1.0), points)))
        else:
            grids.append((np.where(ok, e, 1.0), np.empty(0)))
    # every population at which a limit is needed: each plot's units, then its contour grid
    pops = [a for at, grid in grids for a in (at, grid)]
    sizes = [len(a) for a in pops]
    population = np.concatenate(pops)
    per = np.repeat(np.arange(len(plots)), [len(at) + len(grid) for at, grid in grids])
    target = np.array([f.target for f in fits], dtype=float)[per]
    phi = np.array([f.phi for f in fits], dtype=float)[per]
    over = np.array([f.overdispersed for f in fits], dtype=bool)[per]
    limits = _limits(target, phi, over, population)
    pieces = {k: np.split(v, np.cumsum(sizes)[:-1]) for k, v in limits.items()}
    out = []
    for i, (f, ok, rate, (_, grid)) in enumerate(zip(fits, oks, rates, grids, strict=True)):
        at = {k: v[2 * i] for k, v in pieces.items()}
        places = _positions(rate, ok, at)
        if not ok.any():
            out.append(FunnelPlot(f, places, []))
            continue
        lim = {k: v[2 * i + 1].tolist() for k, v in pieces.items()}
        pop = (grid / years).tolist()
        contours = [{"population": pop[j], **{k: v[j] for k, v in lim.items()}} for j in range(len(pop))]
        out.append(FunnelPlot(f, places, contours))
    return out


def _limits(target: np.ndarray, phi: np.ndarray, over: np.ndarray, population: np.ndarray,
            levels: Sequence[float] = LEVELS) -> dict[str, np.ndarray]:
    """:func:`funnel_limits` element by element: each population with its own fit's target and φ."""
    theta = target / 1000.0
    out: dict[str, np.ndarray] = {}
    exact = ~over
    for level in levels:
        tail = (1 - level) / 2
        name = f"{level * 100:g}"
        lower, upper = np.empty(len(population)), np.empty(len(population))
        if over.any():
            zq = stats.norm.ppf(1 - tail)
            half = zq * np.sqrt(phi[over] * theta[over] / population[over])
            lower[over] = np.maximum(theta[over] - half, 0.0) * 1000.0
            upper[over] = (theta[over] + half) * 1000.0
        if exact.any():
            lower[exact] = poisson_limit(theta[exact], population[exact], tail) * 1000.0
            upper[exact] = poisson_limit(theta[exact], population[exact], 1 - tail) * 1000.0
        out[f"lower_{name}"], out[f"upper_{name}"] = lower, upper
    return out


def _positions(rate: np.ndarray, ok: np.ndarray, at: dict[str, np.ndarray]) -> list[str]:
    """:func:`position` of each unit (those not placed get "")."""
    placed = ok & np.isfinite(rate)
    with np.errstate(invalid="ignore"):
        labels = np.select(
            [~placed, rate > at["upper_99.8"], rate > at["upper_95"], rate < at["lower_99.8"], rate < at["lower_95"]],
            ["", "above the 99.8% limit", "above the 95% limit", "below the 99.8% limit", "below the 95% limit"],
            "within the limits",
        )
    return [str(x) for x in labels.tolist()]


__all__ = ["LEVELS", "Funnel", "FunnelPlot", "funnel", "funnel_limits", "funnel_plot", "funnel_plots", "poisson_limit", "position"]
