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

#: counts or exposures: a list or an array
Values = Sequence[float] | np.ndarray

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


def funnel(counts: Values, populations: Values, winsor: float = 0.1) -> Funnel:
    """Target, z-scores and dispersion for the units' counts and residents.

    Units without a finite count or a positive exposure are left out of the fit (their z is NaN).
    """
    o = np.asarray(counts, dtype=float)
    pop = np.asarray(populations, dtype=float)
    return _fits([o], [pop], [np.isfinite(o) & np.isfinite(pop) & (pop > 0)], winsor)[0]


def _method(phi: float, over: bool) -> str:
    return (
        f"over-dispersed Poisson funnel (φ = {phi:.2f}, 10% winsorised z-scores; Spiegelhalter 2005)"
        if over
        else "Poisson funnel, exact limits (Spiegelhalter 2005)"
    )


def funnel_limits(f: Funnel, populations: np.ndarray, levels: Sequence[float] = LEVELS) -> dict[str, np.ndarray]:
    """Lower and upper limits (rate per 1,000) at each population for each level."""
    pop = np.asarray(populations, dtype=float)
    n = pop.size
    limits = _limits(np.full(n, f.target), np.full(n, f.phi), np.full(n, f.overdispersed), pop.ravel(), levels)
    return {k: v.reshape(pop.shape) for k, v in limits.items()}


@dataclass(frozen=True)
class FunnelPlot:
    """A funnel plot's content: the fit, each unit's place against the limits, the contours."""

    fit: Funnel
    position: list[str]  # each unit: "above the 99.8% limit" … "within the limits" ("" if not placed)
    limits: list[dict[str, float]]  # population, lower_95, upper_95, lower_99.8, upper_99.8 on a grid


def position(rate: float, at: dict[str, float]) -> str:
    """Where a rate per 1,000 falls against the 95% and 99.8% limits at its population."""
    return _positions(np.array([rate], dtype=float), np.array([True]), {k: np.array([v], dtype=float) for k, v in at.items()})[0]


def funnel_plot(
    counts: Values, exposures: Values, points: int = 60, years: float = 1.0
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
    plots: Sequence[tuple[Values, Values]], points: int = 60, years: float = 1.0
) -> list[FunnelPlot]:
    """:func:`funnel_plot` of many sets of units (counts, exposures) at once.

    A national pack compares thousands of groups of similar areas. Each plot keeps its own
    fit, but the work is done on arrays of every plot together: the fits of plots with the
    same number of units side by side, and the limits at every unit and contour point of
    every plot from one quantile call. Each figure is computed by the same operations as for
    one plot alone, so the results are the same floats.
    """
    if not plots:
        return []
    os = [np.asarray(c, dtype=float) for c, _ in plots]
    es = [np.asarray(e, dtype=float) for _, e in plots]
    oks = [np.isfinite(o) & np.isfinite(e) & (e > 0) for o, e in zip(os, es, strict=True)]
    fits = _fits(os, es, oks)
    sizes = [len(o) for o in os]
    ok = np.concatenate(oks)
    o, e = np.concatenate(os), np.concatenate(es)
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where(ok, o / e * 1000.0, np.nan)
    drawn = [i for i, k in enumerate(oks) if k.any()]  # plots with a unit to draw contours around
    grid = _grids([es[i][oks[i]] for i in drawn], points)
    # the limits at each unit (its exposure; 1 where it has none), then on each drawn plot's grid
    target = np.array([f.target for f in fits], dtype=float)
    phi = np.array([f.phi for f in fits], dtype=float)
    over = np.array([f.overdispersed for f in fits], dtype=bool)
    per = np.concatenate([np.repeat(np.arange(len(plots)), sizes), np.repeat(np.asarray(drawn, dtype=int), points)])
    limits = _limits(target[per], phi[per], over[per], np.concatenate([np.where(ok, e, 1.0), grid.ravel()]))
    units = len(o)
    places = _positions(rates, ok, {k: v[:units] for k, v in limits.items()})
    (l95, u95, l998, u998), keys = [limits[k][units:].reshape(len(drawn), points).tolist() for k in limits], list(limits)
    population = (grid / years).tolist()
    contours: dict[int, list[dict[str, float]]] = {}
    for j, i in enumerate(drawn):
        contours[i] = [{"population": g, keys[0]: a, keys[1]: b, keys[2]: c, keys[3]: d}
                       for g, a, b, c, d in zip(population[j], l95[j], u95[j], l998[j], u998[j], strict=True)]
    ends = np.cumsum(sizes).tolist()
    return [FunnelPlot(f, places[end - n:end], contours.get(i, [])) for i, (f, n, end) in enumerate(zip(fits, sizes, ends, strict=True))]


def _fits(os: list[np.ndarray], es: list[np.ndarray], oks: list[np.ndarray], winsor: float = 0.1) -> list[Funnel]:
    """:func:`funnel` of each plot, from the units that count (``oks``; the others get z NaN).

    Plots with the same number of such units are fitted side by side: row sums of a
    C-ordered array are the sums of each row alone, so each fit has the floats of its own.
    """
    fits: list[Funnel | None] = [None] * len(os)
    by_size: dict[int, list[int]] = {}
    for i, ok in enumerate(oks):
        by_size.setdefault(int(ok.sum()), []).append(i)
    for n, idx in by_size.items():
        o = np.stack([os[i][oks[i]] for i in idx])
        pop = np.stack([es[i][oks[i]] for i in idx])
        with np.errstate(divide="ignore", invalid="ignore"):
            theta = o.sum(axis=1) / pop.sum(axis=1)
            z = (o - theta[:, None] * pop) / np.sqrt(theta[:, None] * pop)
        phi, over = np.ones(len(idx)), np.zeros(len(idx), dtype=bool)
        if n >= 3:
            zs = np.sort(z, axis=1)
            k = int(np.floor(winsor * n))
            if k:
                zs = np.clip(zs, zs[:, k:k + 1], zs[:, n - 1 - k:n - k])
            phi_hat = np.sum(zs**2, axis=1) / n
            with np.errstate(invalid="ignore"):
                over = (theta > 0) & (n * phi_hat > _chi2_95(n - 1))
            phi = np.where(over, phi_hat, 1.0)
        for i, t, ph, ov, zi in zip(idx, theta.tolist(), phi.tolist(), over.tolist(), z, strict=True):
            full = np.full(len(os[i]), np.nan)
            full[oks[i]] = zi
            fits[i] = Funnel(t * 1000.0, ph, ov, full, _method(ph, ov))
    return [f for f in fits if f is not None]


def _grids(exposures: list[np.ndarray], points: int) -> np.ndarray:
    """Each plot's contour grid: ``points`` populations, geometric, from 0.8 × its smallest
    exposure to 1.1 × its largest (at least 1), one row per plot."""
    if not exposures:
        return np.empty((0, points))
    lo = np.array([x.min() for x in exposures]) * 0.8
    hi = np.array([x.max() for x in exposures]) * 1.1
    start, stop = np.maximum(lo, 1.0), np.maximum(np.maximum(hi, lo), 1.0)
    if (np.log10(start) == np.log10(stop)).any():  # linspace takes another path for a zero step
        return np.array([np.geomspace(a, b, points) for a, b in zip(start.tolist(), stop.tolist(), strict=True)])
    return np.geomspace(start, stop, points, axis=1)


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
