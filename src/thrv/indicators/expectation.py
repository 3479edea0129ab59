"""What each count series leads one to expect for the pack month: dispersion and season.

For every count series of a :class:`~thrv.indicators.compare.SeriesMatrix` at once:

- **dispersion φ**: Pearson χ²/df of a Poisson GLM with a linear trend and month-of-year
  effects over the up to 36 months ending at the pack month M (M included), at least
  ``dispersion_min_months`` (24) of them with data, floored at 1
  (:func:`thrv.stats.dispersion.fit_seasonal_poisson`);
- **seasonal weights** of the reference months of "M vs the 1-/3-year average": the same
  model fitted to the 36 months *before* M (so M does not inform its own expectation) gives
  each calendar month's factor; the reference months' exposure in units of M's month is
  Σ s_{c(t)}/s_{c(M)}, the seasonal expectation of M is the reference total divided by it,
  and the variance of that ratio (delta method) widens the test (see
  :func:`seasonal_dispersion`).  A series qualifies when φ is available and every calendar
  month of the fit holds at least ``seasonal_min_events`` events; sparse series (a district
  with a robbery a month) keep the plain average, whose seasonal factors would be noise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from thrv.stats.dispersion import fit_seasonal_poisson, seasonal_reference
from thrv.stats.results import FloatArray

if TYPE_CHECKING:
    from thrv.indicators.compare import CompareOptions, SeriesMatrix

#: months the dispersion and the seasonal factors are estimated over
WINDOW = 36


@dataclass(frozen=True)
class Expectations:
    """Per series (matrix rows): φ, and for each average ("1y", "3y") the seasonal weight.

    ``ref_weight[k]`` is NaN where the plain average is used instead.
    """

    dispersion: FloatArray
    ref_weight: dict[str, FloatArray]
    log_var: dict[str, FloatArray]

    def seasonal(self, key: str) -> np.ndarray:
        return np.isfinite(self.ref_weight[key])


def _calendar(months: list[dt.date]) -> np.ndarray:
    return np.array([m.month - 1 for m in months], dtype=np.int64)


def expectations(matrix: SeriesMatrix, month: dt.date, options: CompareOptions, rows: np.ndarray) -> Expectations:
    """φ and seasonal weights for the matrix rows ``rows`` (the count series); NaN elsewhere."""
    n = len(matrix.keys)
    phi = np.full(n, np.nan)
    weights = {k: np.full(n, np.nan) for k in ("1y", "3y")}
    variances = {k: np.full(n, np.nan) for k in ("1y", "3y")}
    end = matrix.col(month)
    if end is None or rows.size == 0:
        return Expectations(phi, weights, variances)
    moy = _calendar(matrix.months)
    years = np.arange(len(matrix.months)) / 12.0
    lo = max(0, end - WINDOW + 1)
    fit = fit_seasonal_poisson(
        matrix.num[rows, lo : end + 1], moy[lo : end + 1], years[lo : end + 1], min_months=options.dispersion_min_months
    )
    phi[rows] = fit.dispersion
    if not options.seasonal:
        return Expectations(phi, weights, variances)
    plo = max(0, end - WINDOW)
    pre = matrix.num[rows, plo:end]
    pre_moy = moy[plo:end]
    prior = fit_seasonal_poisson(pre, pre_moy, years[plo:end], min_months=0)
    held = np.where(np.isfinite(pre), pre, 0.0)
    per_month = np.stack([held[:, pre_moy == c].sum(axis=1) for c in range(12)], axis=1)
    enough = (per_month >= options.seasonal_min_events).all(axis=1) & np.isfinite(fit.dispersion)
    cols = np.arange(plo, end)
    for key, length in (("1y", 12), ("3y", 36)):
        ref_mask = np.isfinite(pre) & (cols >= end - length)[None, :]
        ref = seasonal_reference(prior, int(moy[end]), ref_mask, pre_moy)
        weights[key][rows] = np.where(enough, ref.ref_weight, np.nan)
        variances[key][rows] = np.where(enough, ref.log_var, np.nan)
    return Expectations(phi, weights, variances)


def seasonal_dispersion(
    phi: np.ndarray, n: np.ndarray, ref_weight: np.ndarray, log_var: np.ndarray
) -> np.ndarray:
    """φ widened for the uncertainty of the seasonal expectation.

    Conditional on n = count + reference total, count − n·π̂0 has variance
    φ·n·π0(1−π0) from the counts plus n²·Var(π̂0) from the estimated seasonal factors, with
    π0 = 1/(1 + ref_weight) and Var(π̂0) = (π0(1−π0))²·φ·``log_var`` (delta method).  So the
    test uses φ·(1 + n·π0(1−π0)·log_var).  With two years of history the month's factor
    rests on one earlier December and this roughly doubles φ; ignoring it would make a
    nominal 5% test reject about 15% of stable months.
    """
    pi0 = 1.0 / (1.0 + ref_weight)
    return phi * (1.0 + n * pi0 * (1.0 - pi0) * np.maximum(log_var, 0.0))
