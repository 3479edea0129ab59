"""The few engine queries an assessment needs, as Ibis expressions.

Everything heavy is aggregated in the engine: one scan gives the cube of counts by crime
type, month and LSOA (with the year before the period, for same-period comparisons), one
gives counts by snapped map point. data.police.uk snaps every record to one of a limited
set of points, so the point table has far fewer rows than the records behind it, and hex
binning happens on those distinct points in Python. The expressions use only portable
operations (filter, join, group-by, count) so they compile for distributed engines too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from ibis import _

from thrv.assess.scope import Scope

CUBE_KEYS = ["force", "crime_type", "month", "lsoa21_code", "district_code"]
POINT_KEYS = ["latitude", "longitude", "location", "crime_type", "lsoa21_code", "district_code"]


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def month_range(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every first-of-month from ``first`` to ``last`` inclusive."""
    out, m = [], dt.date(first.year, first.month, 1)
    while m <= last:
        out.append(m)
        m = add_months(m, 1)
    return out


def scoped_records(con: Any, scope: Scope, first: dt.date, last: dt.date) -> Any:
    """Street-level records of the scope's forces in [first, last], with 2021 LSOA and district.

    A force's own records whose LSOA lies outside its area keep a place code; the place
    tables ignore codes outside the scope, the totals keep them (as in the pack).
    """
    t = con.table("crimes")
    t = t.filter((t.month >= first) & (t.month <= last) & t.force.isin(list(scope.forces)))
    ref = con.table("ref_lsoa")
    ref = ref.select(_lsoa=ref.lsoa_code, lsoa21_code=ref.lsoa21_code, district_code=ref.lad_code)
    t = t.left_join(ref, t.lsoa_code == ref._lsoa).drop("_lsoa")
    if scope.level in {"area", "district"}:
        t = t.filter(t.district_code.isin(scope.district_codes))
    return t


def _dates(frame: pd.DataFrame) -> pd.DataFrame:
    if "month" in frame.columns:
        frame["month"] = pd.to_datetime(frame["month"]).dt.date
    return frame


def _in_key_order(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Rows sorted by their group keys: engines return groups in any order, and later steps
    (the first LSOA of a point, the main type among equal counts, top-N tables) must not
    depend on it."""
    return frame.sort_values(keys, kind="stable", na_position="last").reset_index(drop=True)


def crime_cube(con: Any, scope: Scope, first: dt.date, last: dt.date, history_months: int = 12) -> pd.DataFrame:
    """Counts by force, crime type, month, 2021 LSOA and district, from ``history_months``
    before ``first`` to ``last`` (the earlier months serve same-period-last-year tests)."""
    t = scoped_records(con, scope, add_months(first, -history_months), last)
    frame = t.group_by(CUBE_KEYS).aggregate(n=_.count()).to_pandas()
    frame = _dates(frame)
    frame["n"] = frame["n"].astype("int64")
    return _in_key_order(frame, list(CUBE_KEYS))


def coverage(con: Any, scope: Scope, first: dt.date, last: dt.date, history_months: int = 12) -> pd.DataFrame:
    """Months each force has any street-level record for (a missing month is a gap, not a zero)."""
    t = con.table("crimes")
    start = add_months(first, -history_months)
    t = t.filter((t.month >= start) & (t.month <= last) & t.force.isin(list(scope.forces)))
    frame = t.group_by(["force", "month"]).aggregate(rows=_.count()).to_pandas()
    return _in_key_order(_dates(frame), ["force", "month"])


def point_counts(con: Any, scope: Scope, first: dt.date, last: dt.date) -> pd.DataFrame:
    """Counts by snapped map point (latitude, longitude, location text), crime type and place."""
    t = scoped_records(con, scope, first, last)
    t = t.filter(t.latitude.notnull() & t.longitude.notnull())
    frame = t.group_by(POINT_KEYS).aggregate(n=_.count()).to_pandas()
    frame["n"] = frame["n"].astype("int64")
    return _in_key_order(frame, list(POINT_KEYS))


def months_held_in_store(con: Any, forces: tuple[str, ...]) -> tuple[dt.date | None, dt.date | None]:
    """First and last month of street-level records held for these forces."""
    t = con.table("crimes")
    t = t.filter(t.force.isin(list(forces)))
    row = t.aggregate(first=t.month.min(), last=t.month.max()).to_pandas().iloc[0]
    if pd.isna(row["first"]):
        return None, None
    return pd.Timestamp(row["first"]).date(), pd.Timestamp(row["last"]).date()
