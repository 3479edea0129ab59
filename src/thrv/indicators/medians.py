"""Median and 90th-percentile indicators (e.g. minutes to arrive at immediate incidents).

A median cannot be summed up the hierarchy or across months, so these indicators work from
row values: each area's values are pooled per period and the period's median (or P90) taken.
So ``avg_1y`` of a median indicator is the median of every record in the 12 months before
the pack month (not the mean of 12 monthly medians), and its labels compare the records of
the two periods with the Mann-Whitney test (or a bootstrap of the difference in medians);
the interval of the difference in medians is Price & Bonett's (2002) order-statistic one,
cheap enough for every series. A P90 has its own test, a seeded bootstrap of the difference
in 90th percentiles (:func:`thrv.stats.quantiles.bootstrap_quantile_test`), never the
median's. The rolling 12 months are compared with the baseline on the months the two do
not share (:func:`thrv.indicators.compare.baseline_months`). Medians are given for the
force, areas and districts only.

The monthly medians/P90s of the charts and SPC are computed in the engine
(:func:`thrv.indicators.aggregate._value_series`, equal to :func:`monthly_series` to the
last bit); a pack pulls the row values only for the months its tests compare
(:func:`thrv.indicators.pack.compared_months`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from thrv.indicators.aggregate import SERIES_KEYS as KEYS
from thrv.indicators.compare import (
    CompareOptions,
    add_months,
    baseline_end_for,
    baseline_months,
    month_index,
)
from thrv.indicators.definitions import PERCENTILE, Indicator
from thrv.indicators.hierarchy import Hierarchy
from thrv.stats import bootstrap_median_test, classify, mann_whitney_test
from thrv.stats.quantiles import bootstrap_quantile_test


def assign_levels(values: pd.DataFrame, hierarchy: Hierarchy, levels: Sequence[str]) -> pd.DataFrame:
    """Each value once per level it counts in: force, and its district/area/LSOA if known."""
    parts = []
    base = values.dropna(subset=["value"])
    if "force" in levels:
        parts.append(base.assign(level="force", area=base["force"], area_code=""))
    located = base.dropna(subset=["lsoa_code"]).merge(hierarchy.lsoas, on=["force", "lsoa_code"], how="inner")
    if "district" in levels:
        parts.append(located.assign(level="district", area=located["district"], area_code=located["district_code"]))
    if "area" in levels:
        with_area = located.merge(hierarchy.districts[["force", "district_code", "area"]], on=["force", "district_code"])
        with_area = with_area.dropna(subset=["area"])
        parts.append(with_area.assign(level="area", area_code=""))
    # no LSOA level: an LSOA sees a handful of incidents a month, too few for a median
    cols = [*KEYS, "month", "value"]
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat([p[cols] for p in parts], ignore_index=True)


def monthly_series(assigned: pd.DataFrame, indicators: Mapping[str, Indicator]) -> pd.DataFrame:
    """Monthly median (or P90) per series, as num with den NaN (for charts, SPC, extremes)."""
    if assigned.empty:
        return pd.DataFrame(columns=[*KEYS, "month", "num", "den"])
    parts = []
    for measure in ("median", "p90"):
        ids = [i for i, ind in indicators.items() if ind.measure == measure]
        frame = assigned[assigned["indicator"].isin(ids)]
        if frame.empty:
            continue
        q = PERCENTILE[measure] / 100.0
        grouped = frame.groupby([*KEYS, "month"], sort=False)["value"].quantile(q).rename("num").reset_index()
        parts.append(grouped)
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*KEYS, "month", "num"])
    out["den"] = np.nan
    return out


def compare_values(
    assigned: pd.DataFrame,
    indicators: Mapping[str, Indicator],
    month: dt.date,
    options: CompareOptions,
    covered: Mapping[tuple[str, str], set[int]],
) -> pd.DataFrame:
    """Pooled-period figures and tests for every median/P90 series.

    ``covered[(table, force)]`` holds the month indices with data, so a period missing
    from the store is "Insufficient data" rather than an empty pool read as a fact.
    """
    rows = []
    b_end = baseline_end_for(month, options)
    periods = {
        "current": (month, month),
        "avg_1y": (add_months(month, -12), add_months(month, -1)),
        "avg_3y": (add_months(month, -36), add_months(month, -1)),
        "rolling_12m": (add_months(month, -11), month),
        "baseline": (add_months(b_end, -11), b_end),
    }
    need = {"current": 1, "avg_1y": int(np.ceil(options.min_coverage * 12)), "avg_3y": int(np.ceil(options.min_coverage * 36)), "rolling_12m": 12, "baseline": 12}
    r_only, b_only = baseline_months(month, options)
    r_idx = np.array([month_index(m) for m in r_only], dtype=np.int64)
    b_idx = np.array([month_index(m) for m in b_only], dtype=np.int64)
    assigned = assigned.assign(_m=assigned["month"].map(month_index))
    for key, group in assigned.groupby(KEYS, sort=False):
        ind = indicators[str(key[0])]
        month_idx = group["_m"].to_numpy()
        all_values = group["value"].to_numpy()
        held = covered.get((ind.table, str(key[2])), set())
        q = PERCENTILE[ind.measure]
        pools: dict[str, np.ndarray | None] = {}
        row: dict[str, object] = dict(zip(KEYS, key, strict=True))
        for name, (first, last) in periods.items():
            months_with_data = sum(1 for m in range(month_index(first), month_index(last) + 1) if m in held)
            values = all_values[(month_idx >= month_index(first)) & (month_idx <= month_index(last))]
            ok = months_with_data >= need[name] and len(values) > 0
            pools[name] = values if ok else None
            row[name] = float(np.percentile(values, q)) if ok else np.nan
        for k in (1, 2, 3):
            m = add_months(month, -12 * k)
            values = all_values[month_idx == month_index(m)]
            row[f"prev_{k}y"] = float(np.percentile(values, q)) if month_index(m) in held and len(values) else np.nan
        # the baseline test: only the months the two 12-month periods do not share
        if pools["rolling_12m"] is not None and pools["baseline"] is not None:
            pools["rolling_only"] = all_values[np.isin(month_idx, r_idx)]
            pools["baseline_only"] = all_values[np.isin(month_idx, b_idx)]
        else:
            pools["rolling_only"] = pools["baseline_only"] = None
        for suffix, (a, b) in {"": ("rolling_only", "baseline_only"), "_1y": ("current", "avg_1y"), "_3y": ("current", "avg_3y")}.items():
            pa, pb = pools[a], pools[b]
            if pa is None or pb is None or len(pa) < 2 or len(pb) < 2:
                row.update({f"label{suffix}": "Insufficient data", f"test{suffix}": "", f"p_value{suffix}": np.nan,
                            f"estimate{suffix}": np.nan, f"ci_low{suffix}": np.nan, f"ci_high{suffix}": np.nan})
                continue
            if ind.measure == "p90":
                res = bootstrap_quantile_test(pa, pb, 0.9, options.confidence, seed=0)
            elif ind.test == "bootstrap":
                res = bootstrap_median_test(pa, pb, options.confidence, seed=0)
            else:
                res = mann_whitney_test(pa, pb, options.confidence, interval="price_bonett")
            row.update({
                f"label{suffix}": classify(res, ind.label_direction, options.alpha),  # type: ignore[arg-type]
                f"test{suffix}": res.method + (", on the months not shared with the baseline" if suffix == "" else ""),
                f"p_value{suffix}": np.nan if res.p_value is None else res.p_value,
                f"estimate{suffix}": np.nan if res.estimate is None else res.estimate,
                f"ci_low{suffix}": np.nan if res.ci_low is None else res.ci_low,
                f"ci_high{suffix}": np.nan if res.ci_high is None else res.ci_high,
            })
        row["current_num"] = float(len(pools["current"])) if pools["current"] is not None else np.nan
        rows.append(row)
    return pd.DataFrame(rows)
