"""Monthly summaries of the largest tables, kept beside their rows for fast packs.

A national store holds tens of millions of street-level crimes; a pack at force, area and
district level needs only their counts per force, district, month, crime type and last
outcome (a million rows). :func:`refresh` writes those counts to ``crimes_monthly``
(``rows`` per group, and the newest ``ingest_id`` among them) for the (force, month) units
a write touched, or for the whole table; the pack reads them instead of the rows when
:func:`fresh_summary` finds them current, and falls back to the rows otherwise, with the
same figures either way.

Current means: the summary's rows add up to the table's rows and its newest ``ingest_id``
is the table's (every write stores its rows under a new, larger id, and a deletion changes
the count), and the reference tables are those the summary was built with (loading a new
lookup re-derives ``district_code`` in place). A summary that is not
current is ignored, never half used. :func:`refresh` runs inside the caller's transaction,
so the rows and their counts change together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import duckdb
import pandas as pd

#: table -> (summary table, the columns it is grouped by)
SUMMARIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "crimes": ("crimes_monthly", ("force", "district_code", "month", "crime_type", "last_outcome_category")),
}
#: the count column of a summary
ROWS = "rows"
#: the newest ingest id in each summary row (for the freshness check)
NEWEST = "newest_ingest_id"
#: meta key holding the reference version a summary was built with
STAMP = "summary_reference_version|"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def refresh(con: Any, table: str, units: Sequence[tuple[str, str]] | None = None, ingest_id: int | None = None) -> int:
    """(Re)write the summary of ``table`` for ``units`` ((force, "YYYY-MM") pairs), or all of it.

    ``con`` is the store's DuckDB connection, inside the transaction that changed the rows:
    the writer calls ``refresh(con, kind.table, units, ingest_id)`` after storing a file's
    rows and deleting every earlier row of its units, so the units' rows are exactly the
    rows stored under ``ingest_id`` and only those are counted (without ``ingest_id`` the
    units' rows are found in the whole table). A table with no summary defined is left
    alone. The whole table is summarised instead when the store has no summary yet, when it
    was built with other reference tables, or when its totals still differ from the rows'
    after the units were rewritten (rows changed by a writer that did not refresh it).
    Returns the summary rows written.
    """
    if table not in SUMMARIES:
        return 0
    name, keys = SUMMARIES[table]
    meta = (f"(SELECT value FROM meta WHERE key = 'reference_version'), "
            f"(SELECT value FROM meta WHERE key = '{STAMP + name}')")
    # one question: the reference version, the summary's stamp, and the rows in the table and
    # in its summary (a summary that does not exist is a catalog error, which leaves the
    # transaction usable)
    try:
        version, stamp, raw_rows, summary_rows = con.execute(
            f"SELECT {meta}, (SELECT count(*) FROM {_quote(table)}), "
            f"(SELECT coalesce(sum({ROWS}), 0) FROM {_quote(name)})"
        ).fetchall()[0]
        exists = True
    except duckdb.CatalogException:
        (version, stamp), exists = con.execute(f"SELECT {meta}").fetchall()[0], False
    version = "" if version is None else str(version)
    if exists and stamp != version:  # built with another lookup: districts changed since
        units = None
    if units is not None and not units and exists:
        return 0
    cols = ", ".join(_quote(k) for k in keys)
    select = (f"SELECT {cols}, count(*) AS {ROWS}, max(ingest_id) AS {NEWEST} FROM {_quote(table)} {{where}} "
              f"GROUP BY ALL")
    written = -1
    if units is not None and exists:
        # a file holds one or a few force-months: a filter (the month prunes by zone maps) is
        # cheaper here than a join with the list of units
        match = " OR ".join("(force = ? AND month = ?)" for _ in units)
        params = [v for force, month in units for v in (force, dt.date.fromisoformat(month + "-01"))]
        removed = con.execute(f"DELETE FROM {_quote(name)} WHERE {match} RETURNING {ROWS}", params).fetchall()
        args: list[Any]
        if ingest_id is not None:  # the units hold this write's rows alone
            where, args = "WHERE ingest_id = ? AND force IS NOT NULL AND month IS NOT NULL", [int(ingest_id)]
        else:
            where, args = f"WHERE {match}", params
        added = con.execute(f"INSERT INTO {_quote(name)} " + select.format(where=where) + f" RETURNING {ROWS}",
                            args).fetchall()
        written = len(added)
        # rows another writer changed outside these units (an older thrv): the summary's rows
        # after this refresh differ from the table's, so summarise it all again
        after = int(summary_rows) - sum(int(r[0]) for r in removed) + sum(int(r[0]) for r in added)
        if after != int(raw_rows):
            written = -1
        elif ingest_id is None:  # the same count could hide newer rows: the newest ids must agree too
            # (after a write's own refresh both are that write's, the newest in the store)
            newest = con.execute(f"SELECT (SELECT max(ingest_id) FROM {_quote(table)}), "
                                 f"(SELECT max({NEWEST}) FROM {_quote(name)})").fetchall()[0]
            if newest[0] != newest[1]:
                written = -1
    if written < 0:
        written = _rebuild(con, name, select.format(where=""))
        stamp = None
    if stamp != version:  # the stamp is rewritten only when it changes
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [STAMP + name, version])
    return written


def _rebuild(con: Any, name: str, select: str) -> int:
    """The whole summary written again from every row; returns its rows."""
    con.execute(f"CREATE OR REPLACE TABLE {_quote(name)} AS {select}")
    return int(con.execute(f"SELECT count(*) FROM {_quote(name)}").fetchall()[0][0])


def build(con: Any, table: str = "crimes") -> int:
    """Build the whole summary of ``table`` (once per store; :func:`refresh` keeps it after)."""
    if table not in SUMMARIES:
        raise ValueError(f"no summary is defined for table {table!r}")
    return refresh(con, table, None)


def fresh_summary(con: Any, table: str) -> Any | None:
    """The Ibis table of ``table``'s summary when the store has one and it is current, else None.

    ``con`` is an Ibis backend. One small query: the table's row count and newest
    ``ingest_id`` (statistics on DuckDB), the summary's, and the reference stamps.
    """
    if table not in SUMMARIES:
        return None
    name, keys = SUMMARIES[table]
    existing = set(con.list_tables())
    if name not in existing or table not in existing or "meta" not in existing:
        return None
    s = con.table(name)
    raw = con.table(table)
    if not {*keys, ROWS, NEWEST} <= set(s.columns) or "ingest_id" not in raw.columns:
        return None
    meta = con.table("meta")
    stamp = meta.filter(meta.key == STAMP + name).select(stamp=meta.value)
    version = meta.filter(meta.key == "reference_version").select(version=meta.value)
    check = (raw.aggregate(rows=raw.count(), newest=raw.ingest_id.max())
             .cross_join(s.aggregate(summary_rows=s[ROWS].sum(), summary_newest=s[NEWEST].max()))
             .cross_join(stamp).cross_join(version)).to_pandas()
    if len(check) != 1:
        return None
    row = check.iloc[0]

    def number(v: Any) -> int | None:
        return None if pd.isna(v) else int(v)

    current = (row["stamp"] == row["version"] and (number(row["rows"]) or 0) == (number(row["summary_rows"]) or 0)
               and number(row["newest"]) == number(row["summary_newest"]))
    return s if current else None
