"""The demand streams (calls, incidents, recorded crime) as one shape of Ibis table.

Profiles and forecasts ask the same questions of every stream — how many, when, of what
kind, where — so each stream is mapped once onto common columns: ``force``, ``month``,
``category``, ``category_group``, ``district``, ``hour``/``weekday`` (where the time of day is
known) and ``generated``. Everything is an Ibis expression, so the counting happens in the
engine and only small aggregates come back to Python.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import ibis

from thrv.reference import force_by_name


@dataclass(frozen=True)
class Stream:
    """One source of demand and how its columns map onto the common shape."""

    name: str
    table: str
    title: str
    noun: str
    category: str
    group: str | None = None
    #: a column naming the district, or None to find it from the LSOA via the reference lookup
    district: str | None = None
    located: bool = True
    hourly: bool = False
    #: categories left out of "all" (anti-social behaviour is not a crime)
    not_in_total: tuple[str, ...] = ()


STREAMS: dict[str, Stream] = {
    "crimes": Stream(
        "crimes", "crimes", "Recorded crime and ASB (data.police.uk)", "crimes", "crime_type",
        not_in_total=("Anti-social behaviour",),
    ),
    "incidents": Stream(
        "incidents", "incidents", "Incidents (command and control)", "incidents", "category",
        group="category_group", district="district_name", hourly=True,
    ),
    "calls": Stream("calls", "calls", "Calls (999, 101, online)", "calls", "line", located=False, hourly=True),
    "force_crimes": Stream(
        "force_crimes", "force_crimes", "Recorded crime (force system)", "crimes", "crime_type", district="district_name",
    ),
}


def available(con: Any, stream: Stream) -> bool:
    """The store has the stream's table and at least one row in it."""
    if stream.table not in set(con.list_tables()):
        return False
    return bool(con.table(stream.table).count().to_pyarrow().as_py())


def stream_table(con: Any, stream: Stream, force: str | None = None, district: str | None = None) -> Any:
    """The stream's rows as force, month, category, category_group, district, hour, weekday, generated."""
    t = con.table(stream.table)
    if stream.district:
        district_col = t[stream.district]
    elif stream.located:
        ref = con.table("ref_lsoa").select("lsoa_code", _district="lad_name", _pfa="pfa_code")
        t = t.left_join(ref, t.lsoa_code == ref.lsoa_code)
        pfa = {f: _pfa_code(f) for f in _forces(con, stream)}
        # a record located outside its force's area counts for the force, in no district
        same_area = t.force.cases(*pfa.items(), else_="") == t["_pfa"] if pfa else ibis.literal(False)
        district_col = same_area.ifelse(t["_district"], ibis.null().cast("string"))
    else:
        district_col = ibis.null().cast("string")
    cols = {
        "force": t.force,
        "month": t.month,
        "category": t[stream.category].fill_null("(not recorded)"),
        "category_group": t[stream.group] if stream.group else t[stream.category].fill_null("(not recorded)"),
        "district": district_col,
        "hour": t.hour if stream.hourly else ibis.null().cast("int64"),
        "weekday": t.weekday if stream.hourly else ibis.null().cast("int64"),
        "generated": t.generated.fill_null(False) if "generated" in t.columns else ibis.literal(False),
    }
    out = t.select(**cols)
    if force:
        out = out.filter(out.force == force)
    if district:
        out = out.filter(out.district == district)
    return out


def _pfa_code(force: str) -> str:
    found = force_by_name(force)
    return found.pfa_code if found is not None else ""


def _forces(con: Any, stream: Stream) -> list[str]:
    t = con.table(stream.table)
    return [str(f) for f in t.select("force").distinct().to_pandas()["force"].dropna()]


def month_range(con: Any, stream: Stream) -> tuple[dt.date, dt.date] | None:
    t = con.table(stream.table)
    row = t.aggregate(first=t.month.min(), last=t.month.max()).to_pandas().iloc[0]
    if row["first"] is None or str(row["first"]) in {"NaT", "None"}:
        return None
    return _as_date(row["first"]), _as_date(row["last"])


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def resolve_area(con: Any, area: str | None) -> tuple[str | None, str | None]:
    """(force, district) for an --area: a force as published, or a district name; else an error."""
    if area is None:
        return None, None
    from thrv.areas import match_area  # the one rule every command uses

    forces: set[str] = set()
    for stream in STREAMS.values():
        if stream.table in set(con.list_tables()):
            forces.update(_forces(con, stream))
    ref = con.table("ref_lsoa")
    lads = ref.select("lad_name", "pfa_code").distinct().to_pandas()
    owner_of = {}
    for f in sorted(forces):
        known = force_by_name(f)
        if known is not None:
            owner_of[known.pfa_code] = f
    # the districts of the forces held, as for every other command
    pairs = [(owner_of[str(p)], str(n)) for n, p in zip(lads["lad_name"], lads["pfa_code"], strict=True) if str(p) in owner_of]
    level, force, name = match_area(area, sorted(forces), pairs)
    if level == "force":
        return force, None
    return force or None, name
