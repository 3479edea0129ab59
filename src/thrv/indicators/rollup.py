"""Roll LSOA-level monthly figures up the hierarchy: force, area, district, LSOA.

Records with no LSOA (data.police.uk publishes about 4% of crimes without a location) or
located outside the force's area count in the force figure and in no district; at district
level they get a row of their own, :data:`UNLOCATED`, so the districts add up to the force.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from thrv.indicators.aggregate import SERIES_KEYS, MonthlyFigures
from thrv.indicators.hierarchy import Hierarchy

#: the district-level row holding a force's records that lie in none of its districts
UNLOCATED = "Unlocated"
UNLOCATED_NOTE = (
    "Unlocated: records published without a location (no LSOA) or located outside the force's "
    "area. They count in the force figure and in no district or area; this row makes the "
    "districts add up to the force."
)


def _melt(df: pd.DataFrame, level: str, area_col: str, code_col: str | None) -> pd.DataFrame:
    value_cols = [c for c in df.columns if c.startswith(("n|", "d|"))]
    ids = sorted({c.split("|", 1)[1] for c in value_cols})
    parts = []
    for ind in ids:
        part = pd.DataFrame(
            {
                "indicator": ind,
                "level": level,
                "force": df["force"].to_numpy(),
                "area": df[area_col].to_numpy(),
                "area_code": df[code_col].to_numpy() if code_col else "",
                "month": df["month"].to_numpy(),
                "num": df[f"n|{ind}"].to_numpy(dtype="float64"),
                "den": df[f"d|{ind}"].to_numpy(dtype="float64") if f"d|{ind}" in df else float("nan"),
            }
        )
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def roll_up(figures: MonthlyFigures, hierarchy: Hierarchy, levels: Sequence[str]) -> pd.DataFrame:
    """Monthly num/den per indicator and area at each requested level, in long form."""
    out: list[pd.DataFrame] = []
    for wide in figures.wide.values():
        if wide.empty:
            continue
        sums = [c for c in wide.columns if c.startswith(("n|", "d|"))]
        if "force" in levels:
            f = wide.groupby(["force", "month"], as_index=False)[sums].sum()
            f["area"] = f["force"]
            f["code"] = ""
            out.append(_melt(f, "force", "area", None))
        if "district_code" in wide.columns:  # aggregated by district in the engine
            tagged = wide.merge(
                hierarchy.districts[["force", "district_code", "district"]], on=["force", "district_code"],
                how="left", indicator=True,
            )
        else:
            if not wide["lsoa_code"].notna().any() or not ({"area", "district", "lsoa"} & set(levels)):
                continue
            tagged = wide.merge(hierarchy.lsoas, on=["force", "lsoa_code"], how="left", indicator=True)
        inside = (tagged["_merge"] == "both").to_numpy()
        located = tagged[inside].drop(columns="_merge")
        if "district" in levels:
            outside = tagged[~inside]
            u = outside.groupby(["force", "month"], as_index=False)[sums].sum()
            if not u.empty:
                u["area"] = UNLOCATED
                out.append(_melt(u, "district", "area", None))
        if located.empty:
            continue
        if "district" in levels or "area" in levels:
            d = located.groupby(["force", "district_code", "district", "month"], as_index=False)[sums].sum()
            if "district" in levels:
                out.append(_melt(d, "district", "district", "district_code"))
            if "area" in levels:
                a = d.merge(hierarchy.districts[["force", "district_code", "area"]], on=["force", "district_code"])
                a = a.dropna(subset=["area"])
                if not a.empty:
                    a = a.groupby(["force", "area", "month"], as_index=False)[sums].sum()
                    out.append(_melt(a, "area", "area", None))
        if "lsoa" in levels and "lsoa_code" in located.columns and located["lsoa_code"].notna().any():
            # LSOAs get counts only: a rate or share of a handful of records says nothing
            counts = [c for c in sums if c.startswith("n|") and f"d|{c[2:]}" not in wide.columns]
            lsoa = located.groupby(["force", "lsoa_code", "month"], as_index=False)[counts].sum()
            out.append(_melt(lsoa, "lsoa", "lsoa_code", "lsoa_code"))
    if not out:
        return pd.DataFrame(columns=[*SERIES_KEYS, "month", "num", "den"])
    series = pd.concat([o for o in out if not o.empty], ignore_index=True)
    series["area_code"] = series["area_code"].fillna("").astype(str)
    return series
