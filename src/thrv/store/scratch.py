"""Checking one file without a store: the write path run on a scratch in-memory database.

:func:`thrv.ingest.read_file` uses this to show what an ingest would store and quarantine,
through exactly the code an ingest runs (the same parse, the same SQL checks, the same
rules), so the tests of the readers test the ingest itself.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, replace

import duckdb
import pyarrow as pa

from thrv.sources.csvtext import BadRow
from thrv.sources.kinds import Kind
from thrv.sources.reader import FilePlan
from thrv.store.schema import SYSTEM_TABLES_SQL, create_table_sql, table_columns
from thrv.store.writer import EngineDeclined, arrow_type, write_plan


@dataclass
class Checked:
    """A file's typed rows (in file order, with ``source_line``) and its quarantined rows."""

    table: pa.Table
    bad: list[BadRow]
    rows_read: int
    notes: list[str]
    careful: str


def _tables(con: duckdb.DuckDBPyConnection, kind: Kind) -> None:
    for sql in SYSTEM_TABLES_SQL:
        con.execute(sql)
    con.execute(create_table_sql(kind))


def check_plan(plan: FilePlan) -> Checked:
    """Write one planned file into a scratch database and read back what was stored."""
    con = duckdb.connect()
    path = None
    try:
        _tables(con, plan.kind)
        if plan.scan is not None:
            handle, path = tempfile.mkstemp(prefix="thrv-check-", suffix=".csv")
            with os.fdopen(handle, "wb") as out:
                out.write(plan.scan.data)
            plan = replace(plan, csv_path=path)
        con.begin()
        try:
            written = write_plan(con, plan, 1, districts=False)
        except EngineDeclined as exc:
            con.rollback()
            con.begin()
            written = write_plan(con, plan.fallback(str(exc)), 1, districts=False)
        con.commit()
        columns = table_columns(plan.kind)
        select = ", ".join(f'"{c.name}"' for c in columns)
        table = con.execute(f"SELECT {select}, source_line FROM {plan.kind.table} ORDER BY source_line").to_arrow_table()
        typed = {c.name: table[c.name].combine_chunks().cast(arrow_type(c.type)) for c in columns}
        typed["source_line"] = table["source_line"].combine_chunks()
        bad = [
            BadRow(int(line), str(raw), str(reason))
            for line, raw, reason in con.execute("SELECT line, raw, reason FROM quarantine ORDER BY line").fetchall()
        ]
        return Checked(pa.table(typed), bad, written.rows_read, written.notes, written.careful)
    finally:
        con.close()
        if path:
            os.unlink(path)
