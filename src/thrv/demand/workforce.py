"""From forecast demand to hours and full-time equivalents, with a table of hours per unit.

Planning needs "how many officers", not "how many incidents". Each force-level forecast of a
category (incidents by category, crimes by type, calls by line) is multiplied by its average
hours per unit from ``officer_hours.toml`` and summed per month. The interval of the total
treats the categories' forecast errors as independent (variances add, from each 95%
interval's half-width), which understates it where categories rise and fall together; the
report says so. Hours become full-time equivalents by the productive hours of one officer.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from thrv.reference import DATA

HOURS_TABLE = DATA / "config" / "officer_hours.toml"
Z95 = 1.959963984540054
#: which table of hours each stream uses, and whose hours they are
STREAM_HOURS = {
    "incidents": ("incidents", "officer", "attending incidents"),
    "crimes": ("crimes", "officer", "investigating recorded crime"),
    "force_crimes": ("crimes", "officer", "investigating recorded crime"),
    "calls": ("calls", "staff", "handling calls and contacts"),
}


def load_hours(path: Path | None = None) -> dict[str, Any]:
    try:
        doc = tomllib.loads((path or HOURS_TABLE).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the hours table ({exc})") from exc
    if float(doc.get("settings", {}).get("productive_hours_per_year", 0)) <= 0:
        raise ValueError(f"{path or HOURS_TABLE}: [settings] productive_hours_per_year must be positive")
    return doc


def officer_hours(forecasts: pd.DataFrame, scenario: bool = False, table: dict[str, Any] | None = None) -> dict[str, Any]:
    """Monthly hours and FTE per stream from force-level category forecasts (JSON-able).

    ``forecasts``: rows of the forecast with unique_id, stream, level, category, month,
    forecast, lo95, hi95 (and scenario_* columns when ``scenario``).
    """
    doc = table or load_hours()
    per_year = float(doc["settings"]["productive_hours_per_year"])
    prefix = "scenario_" if scenario else ""
    rows: list[pd.DataFrame] = []
    missing: list[str] = []
    force_level = forecasts[forecasts["level"] == "force"] if "level" in forecasts.columns else forecasts.iloc[0:0]
    for stream, (section, who, activity) in STREAM_HOURS.items():
        mine = force_level[force_level["stream"] == stream]
        hours_of = doc.get(section, {})
        if mine.empty or not hours_of:
            continue
        mine = mine[mine["category"].isin(hours_of)]
        known = set(mine["category"])
        missing.extend(f"{stream}: {c}" for c in sorted(set(force_level[force_level["stream"] == stream]["category"]) - known)
                       if not str(c).startswith("All "))
        if mine.empty:
            continue
        h = mine["category"].map(lambda c, hours_of=hours_of: float(hours_of[c])).to_numpy()
        point = mine[f"{prefix}forecast"].to_numpy(float) * h
        sd = (mine[f"{prefix}hi95"].to_numpy(float) - mine[f"{prefix}lo95"].to_numpy(float)) / (2 * Z95) * h
        part = pd.DataFrame({"force": mine["force"].to_numpy(), "month": mine["month"].to_numpy(), "hours": point, "var": sd**2})
        agg = part.groupby(["force", "month"], as_index=False).agg(hours=("hours", "sum"), var=("var", "sum"))
        half = Z95 * np.sqrt(agg["var"].to_numpy())
        agg["hours_lo95"] = np.maximum(agg["hours"] - half, 0)
        agg["hours_hi95"] = agg["hours"] + half
        agg["fte"] = agg["hours"] / (per_year / 12.0)
        agg["fte_lo95"] = agg["hours_lo95"] / (per_year / 12.0)
        agg["fte_hi95"] = agg["hours_hi95"] / (per_year / 12.0)
        agg.insert(0, "stream", stream)
        agg.insert(1, "who", who)
        agg.insert(2, "activity", activity)
        rows.append(agg.drop(columns="var"))
    frame = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    return {
        "productive_hours_per_year": per_year,
        "source": str(doc["settings"].get("source", "")),
        "scenario": scenario,
        "monthly": _records(frame),
        "yearly": _records(_yearly(frame)),
        "categories_without_hours": missing,
        "note": "Hours = forecast volume × average hours per unit; the interval treats categories as independent "
        "and so understates the uncertainty of the total.",
    }


def _yearly(monthly: pd.DataFrame) -> pd.DataFrame:
    """Each forecast year: total hours and the average monthly FTE (with its monthly 95% limits averaged)."""
    if monthly.empty:
        return monthly
    df = monthly.sort_values("month").copy()
    df["year_ahead"] = df.groupby(["stream", "force"]).cumcount() // 12 + 1
    return df.groupby(["stream", "who", "activity", "force", "year_ahead"], as_index=False).agg(
        first_month=("month", "min"), last_month=("month", "max"), months=("month", "count"),
        hours=("hours", "sum"), fte=("fte", "mean"), fte_lo95=("fte_lo95", "mean"), fte_hi95=("fte_hi95", "mean"),
    )


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    if frame.empty:
        return []
    rows = frame.astype(object).where(pd.notna(frame), None).to_dict("records")
    return [{str(k): (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in rows]
