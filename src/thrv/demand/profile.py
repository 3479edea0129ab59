"""The demand profile: when demand arrives, of what kind, where, and how the mix is changing.

For each stream the store holds (calls, incidents, data.police.uk crime, force-recorded
crime) over a 12-month window (by default the latest 12 months the stream has):

- volume by hour of day × day of week (streams with times), as average per week;
- the busiest hours of the week;
- volume by category and by district (with the rate per 1,000 residents);
- how the mix is changing: each category's count and share in the window against the 12
  months before, with the exact Poisson test of the counts and the two-proportion test of
  the shares (so "mental health is a growing share of incidents" carries a p-value);
- monthly counts by category, for the charts.

Counting is done by the engine through Ibis (:mod:`thrv.demand.streams`); statistics come
from :mod:`thrv.stats`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from thrv import __version__
from thrv.demand.streams import (
    STREAMS,
    Stream,
    add_months,
    available,
    month_range,
    resolve_area,
    stream_table,
)
from thrv.indicators.hierarchy import build_hierarchy
from thrv.stats import classify_many, poisson_exact_test_many, two_proportion_test_many

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
BUSIEST = 10


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe rows: NaN -> None, numpy scalars -> Python."""
    out = df.astype(object).where(pd.notna(df), None)
    return [{str(k): (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in out.to_dict("records")]


def _weeks(first: dt.date, last: dt.date) -> float:
    return ((add_months(last, 1) - first).days) / 7.0


def _hour_weekday(t: Any, stream: Stream, weeks: float) -> pd.DataFrame:
    grid = t.group_by(["weekday", "hour"]).aggregate(count=t.count()).to_pandas()
    full = pd.MultiIndex.from_product([range(7), range(24)], names=["weekday", "hour"]).to_frame(index=False)
    grid = full.merge(grid, on=["weekday", "hour"], how="left").fillna({"count": 0})
    grid["count"] = grid["count"].astype(int)
    grid["per_week"] = grid["count"] / weeks
    grid["share"] = grid["count"] / max(int(grid["count"].sum()), 1)
    grid["day"] = grid["weekday"].map(lambda d: WEEKDAYS[int(d)])
    grid.insert(0, "stream", stream.name)
    return grid


def _hour_by_group(t: Any, stream: Stream, weeks: float) -> pd.DataFrame:
    df = t.group_by(["category_group", "hour"]).aggregate(count=t.count()).to_pandas()
    df["per_day"] = df["count"] / (weeks * 7)
    df["share_of_group"] = df["count"] / df.groupby("category_group")["count"].transform("sum")
    df.insert(0, "stream", stream.name)
    return df.sort_values(["category_group", "hour"])


def _busiest(grid: pd.DataFrame) -> pd.DataFrame:
    top = grid.sort_values("per_week", ascending=False).head(BUSIEST).copy()
    top["rank"] = np.arange(1, len(top) + 1)
    top["label"] = [f"{d} {h:02d}:00-{(h + 1) % 24:02d}:00" for d, h in zip(top["day"], top["hour"], strict=True)]
    return top[["stream", "rank", "label", "day", "hour", "per_week", "share"]]


def _by_category(t: Any, stream: Stream) -> pd.DataFrame:
    df = t.group_by(["category_group", "category"]).aggregate(count=t.count()).to_pandas()
    df["share"] = df["count"] / df["count"].sum()
    df.insert(0, "stream", stream.name)
    # ties broken by name: engines return groups in any order
    return df.sort_values(["count", "category_group", "category"], ascending=[False, True, True], kind="stable")


def _by_district(t: Any, stream: Stream, populations: dict[str, float]) -> pd.DataFrame:
    df = t.group_by(["district", "category_group"]).aggregate(count=t.count()).to_pandas()
    total = df.groupby("district", dropna=False, as_index=False)["count"].sum()
    total["district"] = total["district"].fillna("(no district: outside the force area or not located)")
    total["population"] = total["district"].map(populations)
    total["per_1000"] = total["count"] / total["population"] * 1000
    total["share"] = total["count"] / total["count"].sum()
    total.insert(0, "stream", stream.name)
    return total.sort_values("count", ascending=False)


def _district_category(t: Any, stream: Stream) -> pd.DataFrame:
    df = t.group_by(["district", "category"]).aggregate(count=t.count()).to_pandas().dropna(subset=["district"])
    df["share_of_district"] = df["count"] / df.groupby("district")["count"].transform("sum")
    df.insert(0, "stream", stream.name)
    return df.sort_values(["district", "count", "category"], ascending=[True, False, True], kind="stable")


def mix_change(now: pd.DataFrame, before: pd.DataFrame, stream: str, confidence: float = 0.95) -> pd.DataFrame:
    """Counts and shares by category in two 12-month periods, each change with its test.

    ``now``/``before``: columns category, count. Counts: exact Poisson test (equal exposure);
    shares: two-proportion z-test. Labels are Higher / Lower / Comparable at ``confidence``.
    """
    df = now.merge(before, on="category", how="outer", suffixes=("_now", "_before")).fillna(0)
    n_now, n_before = float(df["count_now"].sum()), float(df["count_before"].sum())
    df["share_now"] = df["count_now"] / n_now if n_now else np.nan
    df["share_before"] = df["count_before"] / n_before if n_before else np.nan
    df["change_share_pp"] = 100 * (df["share_now"] - df["share_before"])
    with np.errstate(divide="ignore", invalid="ignore"):
        df["change_count_pct"] = np.where(df["count_before"] > 0, 100 * (df["count_now"] / df["count_before"] - 1), np.nan)
    counts = poisson_exact_test_many(df["count_now"], 1.0, df["count_before"], 1.0, confidence, intervals=False)
    shares = two_proportion_test_many(df["count_now"], n_now, df["count_before"], n_before, confidence)
    alpha = 1 - confidence
    df["p_value_count"] = counts.p_value
    df["label_count"] = classify_many(counts, "none", alpha)
    df["p_value_share"] = shares.p_value
    df["label_share"] = classify_many(shares, "none", alpha)
    df.insert(0, "stream", stream)
    df["count_now"] = df["count_now"].astype(int)
    df["count_before"] = df["count_before"].astype(int)
    return df.sort_values("count_now", ascending=False)


def _window(con: Any, stream: Stream, first: dt.date | None, last: dt.date | None) -> tuple[dt.date, dt.date] | None:
    held = month_range(con, stream)
    if held is None:
        return None
    end = min(last, held[1]) if last else held[1]
    start = first if first else add_months(end, -11)
    return max(start, held[0]), end


def build_demand(
    store: Any, first: dt.date | None = None, last: dt.date | None = None, area: str | None = None
) -> dict[str, Any]:
    """The demand profile of every stream in the store, as a JSON-able model.

    ``first``/``last`` bound the profile window (months; default: each stream's latest 12
    months); ``area`` is a force (as published) or a district. The year-on-year mix compares
    the 12 months to the window's end with the 12 before, when the store holds them.
    """
    con = store.ibis()
    force, district = resolve_area(con, area)
    sections: dict[str, list[pd.DataFrame]] = {k: [] for k in (
        "hour_weekday", "busiest", "hour_by_group", "by_category", "by_district", "district_category", "mix_change", "monthly",
    )}
    streams: list[dict[str, Any]] = []
    notes: list[str] = []
    forces_seen: set[str] = set()
    for stream in STREAMS.values():
        if not available(con, stream):
            notes.append(f"{stream.title}: not in the store (no {stream.table} table rows)")
            continue
        window = _window(con, stream, first, last)
        if window is None:
            continue
        start, end = window
        base = stream_table(con, stream, force, district)
        if district and not stream.located:
            notes.append(f"{stream.title}: records have no location, so they cannot be shown for {district}")
            continue
        t = base.filter((base.month >= start) & (base.month <= end))
        rows = int(t.count().to_pyarrow().as_py())
        if rows == 0:
            notes.append(f"{stream.title}: no records in {start:%Y-%m} to {end:%Y-%m} for this area")
            continue
        generated = bool(t.generated.any().to_pyarrow().as_py())
        forces_seen.update(str(f) for f in t.select("force").distinct().to_pandas()["force"])
        weeks = _weeks(start, end)
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        streams.append({
            "stream": stream.name, "title": stream.title, "noun": stream.noun, "first": f"{start:%Y-%m}",
            "last": f"{end:%Y-%m}", "months": months, "records": rows, "generated": generated, "hourly": stream.hourly,
        })
        if stream.hourly:
            grid = _hour_weekday(t, stream, weeks)
            sections["hour_weekday"].append(grid)
            sections["busiest"].append(_busiest(grid))
            sections["hour_by_group"].append(_hour_by_group(t, stream, weeks))
        sections["by_category"].append(_by_category(t, stream))
        if stream.located:
            populations = _district_populations(sorted(forces_seen))
            sections["by_district"].append(_by_district(t, stream, populations))
            sections["district_category"].append(_district_category(t, stream))
        monthly = base.group_by(["month", "category"]).aggregate(count=base.count()).to_pandas()
        monthly["month"] = pd.to_datetime(monthly["month"]).dt.strftime("%Y-%m")
        monthly.insert(0, "stream", stream.name)
        sections["monthly"].append(monthly.sort_values(["month", "category"]))
        prev_end, prev_start = add_months(end, -12), add_months(end, -23)
        held = month_range(con, stream)
        assert held is not None
        if held[0] <= prev_start:
            last12 = base.filter((base.month > prev_end) & (base.month <= end))
            prev12 = base.filter((base.month >= prev_start) & (base.month <= prev_end))
            now = last12.group_by("category").aggregate(count=last12.count()).to_pandas()
            before = prev12.group_by("category").aggregate(count=prev12.count()).to_pandas()
            change = mix_change(now, before, stream.name)
            change["period_now"] = f"{add_months(end, -11):%Y-%m} to {end:%Y-%m}"
            change["period_before"] = f"{prev_start:%Y-%m} to {prev_end:%Y-%m}"
            sections["mix_change"].append(change)
        else:
            notes.append(f"{stream.title}: fewer than 24 months held, so no year-on-year mix change")
    model: dict[str, Any] = {
        "meta": {
            "thrv_version": __version__,
            "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "area": area, "force": force, "district": district,
            "first": f"{first:%Y-%m}" if first else None, "last": f"{last:%Y-%m}" if last else None,
            "forces": sorted(forces_seen),
            "generated_data": [s["title"] for s in streams if s["generated"]],
            "notes": notes,
        },
        "streams": streams,
    }
    for key, parts in sections.items():
        model[key] = _records(pd.concat(parts, ignore_index=True)) if parts else []
    return model


def _district_populations(forces: list[str]) -> dict[str, float]:
    if not forces:
        return {}
    pops = build_hierarchy(forces).populations
    districts = pops[pops["level"] == "district"]
    return dict(zip(districts["area"], districts["population"].astype(float), strict=True))
