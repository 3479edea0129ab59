"""Crude rates per head of population with confidence intervals.

"Violent crimes per 1,000 residents" compares places of different sizes; its
interval says how much of a difference between places could be chance.  The
count is treated as Poisson and the population as fixed, so the interval is
the interval for the count, scaled by ``per / population``.

Methods (all for the count O):

* ``"exact"`` (default) — Garwood's (1936) exact Poisson interval from the
  chi-square distribution: lower χ²(α/2; 2O)/2, upper χ²(1 − α/2; 2O + 2)/2,
  and 0 for the lower limit when O = 0.  This is what ONS and the OHID
  (formerly PHE) Fingertips tools call the "exact" method.
* ``"byar"`` — Byar's approximation (Breslow & Day 1987):
  lower O(1 − 1/(9O) − z/(3√O))³, upper (O+1)(1 − 1/(9(O+1)) + z/(3√(O+1)))³.
* ``"phe"`` — the rule of OHID's ``PHEindicatormethods::phe_rate``: Byar's
  method for O ≥ 10, exact below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from thrv.stats._inputs import as_count, as_float_array, valid_counts
from thrv.stats.results import FloatArray, check_confidence

RateMethod = Literal["exact", "byar", "phe"]

PHE_BYAR_THRESHOLD = 10
"""Counts at or above this use Byar's method under ``method="phe"``."""


@dataclass(frozen=True)
class Rate:
    """A rate with its interval (per ``per`` people)."""

    rate: float
    ci_low: float
    ci_high: float
    confidence: float
    per: float
    method: str


@dataclass(frozen=True, eq=False)
class RateArray:
    """Rates with intervals, one element per row; NaN where undefined."""

    rate: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    confidence: float
    per: float
    method: str


def _exact_limits(count: FloatArray, confidence: float) -> tuple[FloatArray, FloatArray]:
    """Garwood limits via gamma quantiles (χ²(q; 2k)/2 is the Gamma(k) quantile)."""
    alpha = 1.0 - confidence
    with np.errstate(invalid="ignore"):
        low = np.where(count > 0, special.gammaincinv(np.maximum(count, 1e-300), alpha / 2), 0.0)
        high = special.gammaincinv(count + 1, 1 - alpha / 2)
    return low, high


def _byar_limits(count: FloatArray, confidence: float) -> tuple[FloatArray, FloatArray]:
    z = float(stats.norm.isf((1 - confidence) / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        low = count * (1 - 1 / (9 * count) - z / (3 * np.sqrt(count))) ** 3
        up = count + 1
        high = up * (1 - 1 / (9 * up) + z / (3 * np.sqrt(up))) ** 3
    return np.where(count > 0, np.maximum(low, 0.0), 0.0), high


_METHOD_NAMES: dict[str, str] = {
    "exact": "Exact Poisson (Garwood) interval",
    "byar": "Byar's approximation to the Poisson interval",
    "phe": "Byar's method for counts ≥ 10, exact Poisson (Garwood) below (OHID/PHE)",
}


def count_interval(
    count: npt.ArrayLike, confidence: float = 0.95, method: RateMethod = "exact"
) -> tuple[FloatArray, FloatArray]:
    """Confidence limits for Poisson counts by ``method`` (see the module notes)."""
    confidence = check_confidence(confidence)
    if method not in _METHOD_NAMES:
        raise ValueError(f"method must be one of {sorted(_METHOD_NAMES)}, got {method!r}")
    k = as_float_array(count)
    if method == "exact":
        low, high = _exact_limits(k, confidence)
    elif method == "byar":
        low, high = _byar_limits(k, confidence)
    else:
        exact_low, exact_high = _exact_limits(k, confidence)
        byar_low, byar_high = _byar_limits(k, confidence)
        use_byar = k >= PHE_BYAR_THRESHOLD
        low = np.where(use_byar, byar_low, exact_low)
        high = np.where(use_byar, byar_high, exact_high)
    ok = valid_counts(k)
    return np.where(ok, low, np.nan), np.where(ok, high, np.nan)


def crude_rate_many(
    count: npt.ArrayLike,
    population: npt.ArrayLike,
    per: float = 1000.0,
    confidence: float = 0.95,
    method: RateMethod = "exact",
) -> RateArray:
    """Rates ``count / population · per`` with Poisson intervals, over arrays.

    Rows with a non-positive population or an invalid count are NaN.
    """
    k, pop = np.broadcast_arrays(as_float_array(count), as_float_array(population))
    low, high = count_interval(k, confidence, method)
    ok = np.isfinite(pop) & (pop > 0) & valid_counts(k)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(ok, per / pop, np.nan)
    return RateArray(
        rate=k * scale,
        ci_low=low * scale,
        ci_high=high * scale,
        confidence=confidence,
        per=float(per),
        method=_METHOD_NAMES[method],
    )


def crude_rate(
    count: float,
    population: float,
    per: float = 1000.0,
    confidence: float = 0.95,
    method: RateMethod = "exact",
) -> Rate:
    """One rate ``count / population · per`` with its Poisson interval.

    A negative or fractional count raises ``ValueError``; a population of
    zero or less gives NaN throughout.
    """
    as_count(count, "count")
    result = crude_rate_many(count, population, per, confidence, method)
    return Rate(
        rate=float(result.rate[0]),
        ci_low=float(result.ci_low[0]),
        ci_high=float(result.ci_high[0]),
        confidence=result.confidence,
        per=result.per,
        method=result.method,
    )


def rate_per_1000(
    count: float, population: float, confidence: float = 0.95, method: RateMethod = "exact"
) -> Rate:
    """Rate per 1,000 population with the exact Poisson interval (see :func:`crude_rate`)."""
    return crude_rate(count, population, 1000.0, confidence, method)


def rate_per_1000_many(
    count: npt.ArrayLike,
    population: npt.ArrayLike,
    confidence: float = 0.95,
    method: RateMethod = "exact",
) -> RateArray:
    """:func:`rate_per_1000` over arrays."""
    return crude_rate_many(count, population, 1000.0, confidence, method)
