"""What the store holds: rows per table, force and month, gaps in coverage, quarantine reasons."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from thrv.sources.registry import all_kinds
from thrv.store.database import Store


@dataclass
class StoreStatus:
    tables: pd.DataFrame  # table, rows, forces, first_month, last_month
    coverage: pd.DataFrame  # table, force, months, first_month, last_month, rows, missing_months
    quarantine: pd.DataFrame  # reason (shortened), rows
    files: pd.DataFrame  # status, files, rows_read, rows_stored, rows_quarantined

    @property
    def reconciled(self) -> bool:
        stored = self.files[self.files["status"].isin(["stored", "superseded"])]
        return bool((stored["rows_read"] == stored["rows_stored"] + stored["rows_quarantined"]).all())


def _month_tables(store: Store) -> list[str]:
    return [k.table for k in all_kinds() if "month" in {c.name for c in (*k.columns, *k.added)}]


def store_status(store: Store) -> StoreStatus:
    month_tables = _month_tables(store)
    table_rows = []
    coverage_parts = []
    for kind in all_kinds():
        table = kind.table
        if table in month_tables:
            summary = store.df(
                f"SELECT count(*) AS rows, count(DISTINCT force) AS forces, min(month) AS first_month, "
                f"max(month) AS last_month FROM {table}"
            )
        else:
            summary = store.df(f"SELECT count(*) AS rows FROM {table}")
        summary.insert(0, "table", table)
        columns = {c.name for c in (*kind.columns, *kind.added)}
        summary["generated_rows"] = (
            int(store.df(f"SELECT count(*) AS n FROM {table} WHERE generated")["n"].iloc[0]) if "generated" in columns else 0
        )
        table_rows.append(summary)
        if table in month_tables:
            coverage_parts.append(_coverage(store, table))
    tables = pd.concat(table_rows, ignore_index=True)
    tables = tables.drop_duplicates(subset="table")
    coverage = (
        pd.concat(coverage_parts, ignore_index=True)
        if coverage_parts
        else pd.DataFrame(columns=["table", "force", "months", "first_month", "last_month", "rows", "missing_months"])
    )
    quarantine = store.df(
        "SELECT kind, regexp_replace(regexp_replace(reason, '''[^'']*''', '''...''', 'g'), '[0-9]+', 'N', 'g') "
        "AS reason, count(*) AS rows "
        "FROM quarantine GROUP BY ALL ORDER BY rows DESC"
    )
    files = store.df(
        "SELECT status, count(*) AS files, sum(rows_read) AS rows_read, sum(rows_stored) AS rows_stored, "
        "sum(rows_quarantined) AS rows_quarantined, sum(rows_replaced) AS rows_replaced "
        "FROM ingest_log GROUP BY status ORDER BY status"
    )
    return StoreStatus(tables, coverage, quarantine, files)


def _coverage(store: Store, table: str) -> pd.DataFrame:
    """Months held per force, with the months missing between the first and the last."""
    return store.df(
        f"""
        WITH held AS (
            SELECT force, month, count(*) AS n FROM {table} GROUP BY force, month
        ), span AS (
            SELECT force, min(month) AS first_month, max(month) AS last_month,
                   count(*) AS months, sum(n) AS rows
            FROM held GROUP BY force
        ), expected AS (
            SELECT s.force, unnest(generate_series(s.first_month, s.last_month, INTERVAL 1 MONTH))::DATE AS month
            FROM span s
        ), gaps AS (
            SELECT e.force, string_agg(strftime(e.month, '%Y-%m'), ', ' ORDER BY e.month) AS missing_months
            FROM expected e ANTI JOIN held h ON e.force = h.force AND e.month = h.month
            GROUP BY e.force
        )
        SELECT '{table}' AS "table", s.force, s.months, s.first_month, s.last_month, s.rows,
               coalesce(g.missing_months, '') AS missing_months
        FROM span s LEFT JOIN gaps g USING (force)
        ORDER BY s.force
        """
    )
