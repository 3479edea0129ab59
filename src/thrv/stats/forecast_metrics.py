"""Forecast accuracy: MASE, relative MAE and prediction-interval coverage (pure functions).

Forecasts of monthly demand are judged against the benchmark an analyst would otherwise use
— "the same month last year" (the seasonal-naive forecast) — so every figure here is either
scaled by, or compared with, that benchmark.

- **MASE** (Hyndman & Koehler 2006, "Another look at measures of forecast accuracy"): mean
  absolute error divided by the in-sample mean absolute seasonal difference
  ``mean |y_t − y_{t−m}|``. Below 1, the forecast beats the average one-step seasonal-naive
  error made in sample; comparing two models' MASE on the same points compares their MAE.
- **Relative MAE**: MAE of a model / MAE of the seasonal-naive forecast on the same points;
  below 1 means the model beat the benchmark where it was actually tested.
- **Coverage**: the share of held-out values inside a prediction interval; a calibrated 80%
  interval covers about 80%. With n points the share has a binomial sampling error, reported
  as a Wilson interval so "79% of 60 months" is read with its uncertainty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from thrv.stats.proportions import wilson_interval


def seasonal_scale(history: npt.ArrayLike, season: int = 12) -> float:
    """Mean absolute seasonal difference of a series (the MASE denominator).

    Uses lag ``season`` when the series has more than ``season`` points, else lag 1; NaN when
    the series is constant at that lag (no scale to divide by).
    """
    y = np.asarray(history, dtype=float)
    y = y[np.isfinite(y)]
    lag = season if len(y) > season else 1
    if len(y) <= lag:
        return float("nan")
    scale = float(np.mean(np.abs(y[lag:] - y[:-lag])))
    return scale if scale > 0 else float("nan")


def mase(actual: npt.ArrayLike, forecast: npt.ArrayLike, scale: float) -> float:
    """Mean absolute scaled error of forecasts against actual values (NaN pairs ignored)."""
    a, f = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    ok = np.isfinite(a) & np.isfinite(f)
    if not ok.any() or not np.isfinite(scale) or scale <= 0:
        return float("nan")
    return float(np.mean(np.abs(a[ok] - f[ok])) / scale)


def relative_mae(actual: npt.ArrayLike, forecast: npt.ArrayLike, benchmark: npt.ArrayLike) -> float:
    """MAE of ``forecast`` over MAE of ``benchmark`` on the same points (< 1: forecast better)."""
    a, f, b = (np.asarray(x, dtype=float) for x in (actual, forecast, benchmark))
    ok = np.isfinite(a) & np.isfinite(f) & np.isfinite(b)
    if not ok.any():
        return float("nan")
    denominator = float(np.mean(np.abs(a[ok] - b[ok])))
    if denominator == 0:
        return float("nan")
    return float(np.mean(np.abs(a[ok] - f[ok])) / denominator)


@dataclass(frozen=True)
class Coverage:
    """How often held-out values fell inside a prediction interval."""

    nominal: float
    covered: int
    n: int
    share: float
    ci_low: float
    ci_high: float

    @property
    def consistent(self) -> bool:
        """The nominal level lies inside the Wilson interval of the observed share."""
        return bool(self.n) and self.ci_low <= self.nominal <= self.ci_high


def interval_coverage(
    actual: npt.ArrayLike, low: npt.ArrayLike, high: npt.ArrayLike, nominal: float, confidence: float = 0.95
) -> Coverage:
    """Share of ``actual`` within [low, high], with a Wilson interval for that share.

    Note the points of a rolling-origin backtest are not independent (one month is predicted
    from several origins), so the interval is a rough guide, narrower than it should be.
    """
    a, lo, hi = (np.asarray(x, dtype=float) for x in (actual, low, high))
    ok = np.isfinite(a) & np.isfinite(lo) & np.isfinite(hi)
    n = int(ok.sum())
    covered = int(((a[ok] >= lo[ok]) & (a[ok] <= hi[ok])).sum())
    if n == 0:
        return Coverage(nominal, 0, 0, float("nan"), float("nan"), float("nan"))
    ci_low, ci_high = wilson_interval(covered, n, confidence)
    return Coverage(nominal, covered, n, covered / n, ci_low, ci_high)
