"""What the store holds: rows per table, force and month, gaps in coverage, quarantine reasons.

Written in Ibis, so it reads any engine (:mod:`thrv.store.engines`): a DuckDB file, a
Parquet folder or Spark. The engine computes the counts (one query for every table's
totals, one for every table's force-months); the months missing between a force's first
and last month are found here from those few rows, since a month calendar is not portable
SQL (DuckDB's ``generate_series`` has no Spark twin with the same types).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

import ibis
import pandas as pd

from thrv.sources.registry import all_kinds

COVERAGE_COLUMNS = ["table", "force", "months", "first_month", "last_month", "rows", "missing_months"]
PARTNER_COLUMNS = ["table", "partner", "datasets", "rows", "first", "last"]
#: partner tables and the columns that give their first and last period (None: person records)
PARTNER_TABLES = {
    "partner_measures": ("period_start", "period_end"),
    "partner_incidents": ("month", "month"),
    "partner_people": None,
}


@dataclass
class StoreStatus:
    tables: pd.DataFrame  # table, rows, forces, first_month, last_month, generated_rows
    coverage: pd.DataFrame  # table, force, months, first_month, last_month, rows, missing_months
    quarantine: pd.DataFrame  # kind, reason (shortened), rows
    files: pd.DataFrame  # status, files, rows_read, rows_stored, rows_quarantined, rows_replaced
    #: table, partner, datasets, rows, first, last (periods or months held; person records have none)
    partners: pd.DataFrame = dataclasses.field(default_factory=lambda: pd.DataFrame(columns=PARTNER_COLUMNS))

    @property
    def reconciled(self) -> bool:
        stored = self.files[self.files["status"].isin(["stored", "superseded"])]
        return bool((stored["rows_read"] == stored["rows_stored"] + stored["rows_quarantined"]).all())


def _columns(kind: Any) -> set[str]:
    return {c.name for c in (*kind.columns, *kind.added)}


def _kind_tables(held: set[str]) -> list[tuple[str, set[str]]]:
    """(table, declared columns) of every kind, once per table, in registry order."""
    seen: dict[str, set[str]] = {}
    for kind in all_kinds():
        if kind.table not in seen:
            seen[kind.table] = _columns(kind)
    return [(t, cols) for t, cols in seen.items() if t in held]


def _as_date(value: Any) -> dt.date | None:
    if value is None or (not isinstance(value, dt.date) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date()


def table_summary(con: Any, tables: list[tuple[str, set[str]]]) -> pd.DataFrame:
    """Rows, forces, first and last month and generated rows of every table, in one query."""
    parts = []
    for table, declared in tables:
        t = con.table(table)
        cols = set(t.columns) & (declared | {"force", "month", "generated"})
        by_month = {"force", "month"} <= cols
        parts.append(t.aggregate(
            table=ibis.literal(table),
            rows=t.count(),
            forces=t.force.nunique() if by_month else ibis.null().cast("int64"),
            first_month=t.month.min() if by_month else ibis.null().cast("date"),
            last_month=t.month.max() if by_month else ibis.null().cast("date"),
            generated_rows=t.count(where=t.generated.fill_null(False)) if "generated" in cols else ibis.literal(0).cast("int64"),
        ))
    if not parts:
        return pd.DataFrame(columns=["table", "rows", "forces", "first_month", "last_month", "generated_rows"])
    frame = ibis.union(*parts).to_pandas() if len(parts) > 1 else parts[0].to_pandas()
    order = {t: i for i, (t, _) in enumerate(tables)}
    frame = frame.sort_values("table", key=lambda s: s.map(order)).reset_index(drop=True)
    for col in ("first_month", "last_month"):
        frame[col] = frame[col].map(_as_date)
    frame["rows"] = frame["rows"].astype("int64")
    # a conditional count over no rows is NULL on some engines (Spark sums), 0 on others
    frame["generated_rows"] = frame["generated_rows"].fillna(0).astype("int64")
    frame["forces"] = frame["forces"].astype("Int64")
    return frame


def _months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(dt.date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def coverage(con: Any, tables: list[str]) -> pd.DataFrame:
    """Months held per table and force, with the months missing between the first and the last."""
    if not tables:
        return pd.DataFrame(columns=COVERAGE_COLUMNS)
    parts = []
    for table in tables:
        t = con.table(table)
        parts.append(t.group_by(["force", "month"]).aggregate(n=t.count()).mutate(table=ibis.literal(table)))
    held = (ibis.union(*parts) if len(parts) > 1 else parts[0]).to_pandas()
    held["month"] = held["month"].map(_as_date)
    held = held.dropna(subset=["force", "month"])
    rows = []
    for (table, force), g in held.groupby(["table", "force"], sort=False):
        months = set(g["month"])
        first, last = min(months), max(months)
        gaps = [f"{m:%Y-%m}" for m in _months_between(first, last) if m not in months]
        rows.append((table, force, len(months), first, last, int(g["n"].sum()), ", ".join(gaps)))
    order = {t: i for i, t in enumerate(tables)}
    out = pd.DataFrame(rows, columns=COVERAGE_COLUMNS)
    return out.sort_values(["table", "force"], key=lambda s: s.map(order) if s.name == "table" else s).reset_index(drop=True)


def quarantine_reasons(con: Any) -> pd.DataFrame:
    """Quarantined rows by kind and reason, quoted values and numbers folded (most first)."""
    q = con.table("quarantine")
    reason = q.reason.re_replace("'[^']*'", "'...'").re_replace("[0-9]+", "N")
    grouped = q.mutate(reason=reason).group_by(["kind", "reason"]).aggregate(rows=ibis._.count())
    frame = grouped.to_pandas()
    return frame.sort_values(["rows", "kind", "reason"], ascending=[False, True, True], na_position="last").reset_index(drop=True)


def file_totals(con: Any) -> pd.DataFrame:
    """Files and rows by ingest status (stored, superseded, refused)."""
    log = con.table("ingest_log")
    frame = log.group_by("status").aggregate(
        files=log.count(),
        rows_read=log.rows_read.sum(),
        rows_stored=log.rows_stored.sum(),
        rows_quarantined=log.rows_quarantined.sum(),
        rows_replaced=log.rows_replaced.sum(),
    ).to_pandas()
    frame = frame.sort_values("status").reset_index(drop=True)
    for col in ("files", "rows_read", "rows_stored", "rows_quarantined", "rows_replaced"):
        frame[col] = frame[col].astype("int64")
    return frame


def quarantined_rows(store: Any, limit: int | None = None) -> tuple[pd.DataFrame, int]:
    """Quarantined rows (file, line, reason, raw text) in ingest then line order, the first
    ``limit`` of them (all when None), and how many there are in all."""
    columns = ["file", "line", "reason", "raw"]
    if "quarantine" not in set(store.tables()):
        return pd.DataFrame(columns=columns), 0
    q = store.ibis().table("quarantine")
    total = int(q.count().execute())
    ordered = q.order_by([q.ingest_id, q.line, q.file, q.reason, q.raw]).select(*columns)
    frame = (ordered if limit is None else ordered.limit(limit)).to_pandas()
    return frame.reset_index(drop=True), total


def partner_summary(con: Any, held: set[str]) -> pd.DataFrame:
    """Rows per partner in each partner table, with the datasets and the periods they cover
    (person records carry no period: they are who, not when)."""
    frames = []
    for table, period in PARTNER_TABLES.items():
        if table not in held:
            continue
        t = con.table(table)
        aggs: dict[str, Any] = {"rows": t.count()}
        if "dataset" in t.columns:
            aggs["datasets"] = t.dataset.nunique()
        if period is not None:
            aggs["first"] = t[period[0]].min()
            aggs["last"] = t[period[1]].max()
        frame = t.group_by("partner").aggregate(**aggs).to_pandas().assign(table=table)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=PARTNER_COLUMNS)
    out = pd.concat([f.reindex(columns=PARTNER_COLUMNS) for f in frames], ignore_index=True)
    for col in ("first", "last"):
        out[col] = out[col].map(_as_date)
    order = {t: i for i, t in enumerate(PARTNER_TABLES)}
    return out.sort_values(["table", "partner"], key=lambda s: s.map(order) if s.name == "table" else s,
                           kind="mergesort").reset_index(drop=True)


def store_status(store: Any) -> StoreStatus:
    """Everything ``thrv status`` shows, from any engine's store."""
    con = store.ibis()
    held = set(store.tables())
    tables = _kind_tables(held)
    summary = table_summary(con, tables)
    month_tables = [t for t, cols in tables if {"force", "month"} <= cols]
    cov = coverage(con, month_tables)
    empty_q = pd.DataFrame(columns=["kind", "reason", "rows"])
    empty_f = pd.DataFrame(columns=["status", "files", "rows_read", "rows_stored", "rows_quarantined", "rows_replaced"])
    quarantine = quarantine_reasons(con) if "quarantine" in held else empty_q
    files = file_totals(con) if "ingest_log" in held else empty_f
    return StoreStatus(summary, cov, quarantine, files, partner_summary(con, held))
