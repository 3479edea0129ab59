"""Monthly series from outside the pack (measures, survey splits) judged exactly as the pack judges.

A generic measure fed month by month, or victims' satisfaction for one crime type, is a
monthly series like any pack indicator; so it goes through the pack's own comparison
engine (:func:`thrv.indicators.compare.compare`): the same columns (the month, the same
month one to three years before, the 1- and 3-year averages, the rolling 12 months, the
baseline), the same coverage rules and the same tests and labels. Added here: the
12-month numerator and denominator (the "12-month n" of a survey), Wilson intervals, the
full-history extremes and the SPC limits for the charts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from thrv.indicators.compare import (
    CompareOptions,
    SeriesMatrix,
    add_months,
    baseline_end_for,
    compare,
    month_index,
)
from thrv.indicators.definitions import DEFAULT_TEST, Indicator
from thrv.stats import wilson_interval_many
from thrv.stats.spc import xmr_latest_many

#: months of history on a chart (as the pack)
HISTORY_MONTHS = 36
#: the engine's measure for figures that are shown and averaged but never tested (hours,
#: headcounts): compare() computes every column for a median-type row and leaves its tests
#: to other code, so such rows come back with figures and no labels
_UNTESTED = "median"


@dataclass(frozen=True)
class MonthlySeries:
    """One monthly series: ``num``/``den`` by month (den unused for counts and values).

    ``covered`` lists the months the source holds data for at all: a covered month with no
    row is a true zero, an uncovered one is "no data" (as in the pack).
    """

    key: str
    figure_type: str  # proportion | count | value
    direction: str
    months: Sequence[dt.date]
    num: Sequence[float]
    den: Sequence[float]
    covered: Sequence[dt.date] | None = None


def window_start(month: dt.date, options: CompareOptions) -> dt.date:
    """The first month the comparisons need: four years back, or the baseline's start."""
    return min(add_months(month, -47), add_months(baseline_end_for(month, options), -11))


def series_table(series: Sequence[MonthlySeries], month: dt.date, options: CompareOptions) -> pd.DataFrame:
    """One row per series with the pack's columns and tests, plus n, intervals and extremes."""
    if not series:
        return pd.DataFrame()
    first = window_start(month, options)
    n_months = month_index(month) - month_index(first) + 1
    months = [add_months(first, k) for k in range(n_months)]
    num = np.full((len(series), n_months), np.nan)
    den = np.full((len(series), n_months), np.nan)
    full_rows = []
    for i, s in enumerate(series):
        frame = _frame(s, month)
        full_rows.append(frame)
        cols = np.array([month_index(m) for m in frame["month"]], dtype=int) - month_index(first)
        ok = (cols >= 0) & (cols < n_months)
        num[i, cols[ok]] = frame["num"].to_numpy(dtype=float)[ok]
        den[i, cols[ok]] = frame["den"].to_numpy(dtype=float)[ok]
    engine_measure = {"proportion": "proportion", "count": "count", "value": _UNTESTED}
    keys = pd.DataFrame({
        "indicator": [s.key for s in series],
        "level": "force", "force": "", "area": "", "area_code": "", "table": "measures",
        "measure": [engine_measure[s.figure_type] for s in series],
    })
    indicators = {
        s.key: Indicator(
            id=s.key, title=s.key, measure=engine_measure[s.figure_type], table="measures",
            direction=s.direction if s.direction in {"higher_is_better", "lower_is_better", "none"} else "none",
            test=DEFAULT_TEST["proportion" if s.figure_type == "proportion" else "count"],  # the pack's
        )
        for s in series
    }
    matrix = SeriesMatrix(keys, months, num, den)
    out = compare(matrix, indicators, month, options)
    out["measure"] = [s.figure_type if s.figure_type != "value" else "count" for s in series]
    out["figure_type"] = [s.figure_type for s in series]
    untested = out["figure_type"] == "value"
    for col in [c for c in out.columns if c.startswith(("label", "test", "p_value", "estimate", "ci_low", "ci_high"))]:
        out.loc[untested, col] = "" if col.startswith(("label", "test")) else np.nan

    # the 12 months to M: numerator and denominator (n), with Wilson intervals
    lo = n_months - 12
    r_num, r_den = num[:, lo:], den[:, lo:]
    full = np.isfinite(r_num).sum(axis=1) == 12
    is_prop = (out["figure_type"] == "proportion").to_numpy()
    out["rolling_12m_num"] = np.where(full, np.nansum(r_num, axis=1), np.nan)
    out["rolling_12m_den"] = np.where(full & is_prop, np.nansum(r_den, axis=1), np.nan)
    low, high = _wilson(out["rolling_12m_num"], out["rolling_12m_den"], options.confidence)
    out["rolling_12m_ci_low"], out["rolling_12m_ci_high"] = low, high
    low, high = _wilson(out["current_num"], out["current_den"], options.confidence)
    out["current_ci_low"], out["current_ci_high"] = low, high

    extremes = [_extremes(frame, s.figure_type) for frame, s in zip(full_rows, series, strict=True)]
    out = pd.concat([out.reset_index(drop=True), pd.DataFrame(extremes)], axis=1)
    out = pd.concat([out, _spc(num, den, is_prop, [s.direction for s in series], options)], axis=1)
    out["history"] = pd.Series([_history(num[i], den[i], is_prop[i], months) for i in range(len(series))], dtype=object)
    return out


def _frame(s: MonthlySeries, month: dt.date) -> pd.DataFrame:
    """The series up to M, zero-filled in covered months without a row."""
    frame = pd.DataFrame({"month": list(s.months), "num": list(s.num), "den": list(s.den)})
    if s.figure_type != "proportion":
        frame["den"] = 0.0
    frame = frame[frame["month"] <= month]
    if s.covered is not None:
        missing = sorted(set(s.covered) - set(frame["month"]))
        missing = [m for m in missing if m <= month]
        if missing:
            frame = pd.concat([frame, pd.DataFrame({"month": missing, "num": 0.0, "den": 0.0})], ignore_index=True)
    return frame.groupby("month", as_index=False)[["num", "den"]].sum(min_count=1).sort_values("month")


def _wilson(x: pd.Series, n: pd.Series, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    xs, ns = x.to_numpy(dtype=float), n.to_numpy(dtype=float)
    ok = np.isfinite(xs) & np.isfinite(ns) & (ns > 0)
    low, high = wilson_interval_many(np.where(ok, xs, 0.0), np.where(ok, ns, 1.0), confidence)
    return np.where(ok, 100.0 * low, np.nan), np.where(ok, 100.0 * high, np.nan)


def _extremes(frame: pd.DataFrame, figure_type: str) -> dict[str, object]:
    """Months held up to M (whole history) and M's rank among them, for "the highest since"."""
    if figure_type == "proportion":
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(frame["den"] > 0, 100.0 * frame["num"] / frame["den"], np.nan)
    else:
        values = frame["num"].to_numpy(dtype=float)
    months = list(frame["month"])
    finite = np.isfinite(values)
    if not finite.any():
        return {"history_months": 0, "history_from": "", "rank_low": np.nan, "rank_high": np.nan,
                "series_max": np.nan, "series_max_month": ""}
    held = values[finite]
    held_months = [m for m, f in zip(months, finite, strict=True) if f]
    current = values[-1]
    top = int(np.argmax(held))
    out: dict[str, object] = {
        "history_months": int(finite.sum()),
        "history_from": held_months[0].strftime("%Y-%m"),
        "series_max": float(held[top]),
        "series_max_month": held_months[top].strftime("%Y-%m"),
    }
    if np.isfinite(current):
        out["rank_low"] = int((held < current).sum()) + 1
        out["rank_high"] = int((held > current).sum()) + 1
    else:
        out["rank_low"] = out["rank_high"] = np.nan
    return out


def _values(num: np.ndarray, den: np.ndarray, is_prop: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(is_prop[:, None], np.where(den > 0, 100.0 * num / den, np.nan), num)


def _spc(num: np.ndarray, den: np.ndarray, is_prop: np.ndarray, directions: list[str], options: CompareOptions) -> pd.DataFrame:
    """XmR limits over the run of consecutive months ending at M (at most 36), as the pack."""
    values = _values(num, den, is_prop)[:, -HISTORY_MONTHS:]
    finite = np.isfinite(values)
    run = np.where(finite[:, ::-1].all(axis=1), values.shape[1], np.argmin(finite[:, ::-1], axis=1))
    cols = np.arange(values.shape[1])
    values = np.where(cols[None, :] >= values.shape[1] - run[:, None], values, np.nan)
    latest = xmr_latest_many(
        values, [d if d in {"higher_is_better", "lower_is_better"} else "none" for d in directions],
        shift_length=options.spc_shift_length, trend_length=options.spc_trend_length,
    )
    return pd.DataFrame({
        "spc_variation": latest.variation.astype(object), "spc_mean": latest.mean,
        "spc_lcl": latest.lcl, "spc_ucl": latest.ucl,
    })


def _history(num: np.ndarray, den: np.ndarray, is_prop: bool, months: list[dt.date]) -> list[dict[str, object]]:
    values = _values(num[None, :], den[None, :], np.array([is_prop]))[0]
    points: list[dict[str, object]] = [
        {"month": m.strftime("%Y-%m"), "value": None if not np.isfinite(v) else float(v)}
        for m, v in zip(months, values, strict=True)
    ]
    return points[-HISTORY_MONTHS:]
