"""The store: one embedded DuckDB file holding canonical tables, quarantine and the ingest log.

This module (with the rest of ``thrv.store``) is the only code that talks to the database
engine. Analysis code asks it for Ibis tables (:meth:`Store.ibis`), which compile to the
SQL of whichever backend is connected, so the same indicator code can run on DuckDB here
and on a distributed engine elsewhere.

Each file is written in one transaction: its rows, its quarantined rows, the rows it
replaces and its log entry either all land or none do (a killed process or a failing disk
leaves the store as it was before that file).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from thrv import __version__
from thrv.reference import REFERENCE
from thrv.sources.kinds import Kind
from thrv.sources.reader import FileRead
from thrv.store.schema import (
    DISTRICT_COLUMN,
    SYSTEM_TABLES_SQL,
    create_table_sql,
    has_lsoa,
    table_columns,
)

SCHEMA_VERSION = "2"
DEFAULT_DB = "thrv.duckdb"


@dataclass(frozen=True)
class WriteResult:
    """What one file did to the store."""

    ingest_id: int
    rows_read: int
    rows_stored: int
    rows_quarantined: int
    rows_replaced: int
    superseded: list[str]


class Store:
    """An open store. Use as a context manager, or call :meth:`close`.

    The embedded DuckDB engine: the one store that is written to. For reading it offers
    what every engine does (:mod:`thrv.store.engines`): ``ibis()``, ``tables()``, ``close()``.
    """

    engine = "duckdb"

    def __init__(self, path: str | Path = DEFAULT_DB, read_only: bool = False) -> None:
        self.path = str(path)
        self.read_only = read_only
        if not read_only:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.IOException as exc:
            raise StoreError(f"{self.path}: cannot open the store ({exc})") from exc
        if not read_only:
            self._migrate()

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """BEGIN ... COMMIT, or ROLLBACK on any exception (then re-raised)."""
        self.con.begin()
        try:
            yield self.con
        except BaseException:
            self.con.rollback()
            raise
        self.con.commit()

    def _migrate(self) -> None:
        from thrv.sources.registry import all_kinds

        with self.transaction() as con:
            for sql in SYSTEM_TABLES_SQL:
                con.execute(sql)
            for kind in all_kinds():
                con.execute(create_table_sql(kind))
                if has_lsoa(kind):  # a store made before the column existed: add and fill it
                    columns = {r[1] for r in con.execute(f"PRAGMA table_info('{kind.table}')").fetchall()}
                    if DISTRICT_COLUMN not in columns:
                        con.execute(f"ALTER TABLE {kind.table} ADD COLUMN {DISTRICT_COLUMN} VARCHAR")
                        con.execute("DELETE FROM meta WHERE key = 'reference_version'")
            con.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION]
            )
        self._load_reference()

    def _load_reference(self) -> None:
        """(Re)load the shipped reference tables when they changed since the last load."""
        files = sorted(p for p in REFERENCE.glob("*.csv*") if p.is_file())
        digest = hashlib.sha256()
        for path in files:
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
        version = digest.hexdigest()
        current = self.con.execute("SELECT value FROM meta WHERE key = 'reference_version'").fetchall()
        if current and current[0][0] == version:
            return
        with self.transaction() as con:
            for path in files:
                table = "ref_" + path.name.split(".")[0]
                con.execute(
                    f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_csv(?, header=true, "
                    "all_varchar=false, sample_size=-1)",
                    [str(path)],
                )
            from thrv.sources.registry import all_kinds

            for kind in all_kinds():
                if has_lsoa(kind):  # the lookup changed: derive districts again
                    con.execute(
                        f"UPDATE {kind.table} SET {DISTRICT_COLUMN} = ("
                        f"SELECT l.lad_code FROM ref_lsoa l WHERE l.lsoa_code = {kind.table}.lsoa_code)"
                    )
            con.execute("INSERT OR REPLACE INTO meta VALUES ('reference_version', ?)", [version])

    # -- ingest --------------------------------------------------------------------------
    def seen(self, sha256: str, cursor: bool = False) -> dict[str, Any] | None:
        """The log entry of a file with this content already stored, if any.

        ``cursor=True`` asks on a cursor of its own, so another thread may ask while this
        connection writes.
        """
        con = self.con.cursor() if cursor else self.con
        try:
            rows = con.execute(
                "SELECT ingest_id, file, status, superseded_by FROM ingest_log "
                "WHERE sha256 = ? AND status IN ('stored', 'superseded') ORDER BY ingest_id LIMIT 1",
                [sha256],
            ).fetchall()
        finally:
            if cursor:
                con.close()
        if not rows:
            return None
        row = rows[0]
        return {"ingest_id": row[0], "file": row[1], "status": row[2], "superseded_by": row[3]}

    def write_file(self, read: FileRead, started: dt.datetime, clock: float) -> WriteResult:
        """Store one file's rows and quarantine, replacing what it supersedes, atomically."""
        kind = read.kind
        with self.transaction() as con:
            ingest_id = int(con.execute("SELECT nextval('ingest_id_seq')").fetchall()[0][0])
            replaced, superseded = self._replace(con, kind, read, ingest_id)
            self._insert_rows(con, kind, read, ingest_id)
            self._insert_quarantine(con, kind, read, ingest_id)
            finished = dt.datetime.now(dt.UTC)
            con.execute(
                "INSERT INTO ingest_log VALUES (?, ?, ?, ?, ?, ?, 'stored', ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?)",
                [
                    ingest_id,
                    read.name,
                    read.sha256,
                    read.size,
                    kind.name,
                    kind.table,
                    read.rows_read,
                    read.rows_stored,
                    len(read.bad),
                    replaced,
                    json.dumps(read.units()),
                    "; ".join(read.notes) or None,
                    started,
                    finished,
                    time.perf_counter() - clock,
                    __version__,
                ],
            )
        return WriteResult(ingest_id, read.rows_read, read.rows_stored, len(read.bad), replaced, superseded)

    def log_refusal(self, name: str, sha256: str, size: int, message: str, started: dt.datetime, clock: float) -> None:
        """Record a refused file (nothing from it is stored), once per content and message."""
        exists = self.con.execute(
            "SELECT 1 FROM ingest_log WHERE sha256 = ? AND status = 'refused' AND message = ?",
            [sha256, message],
        ).fetchall()
        if exists:
            return
        with self.transaction() as con:
            ingest_id = int(con.execute("SELECT nextval('ingest_id_seq')").fetchall()[0][0])
            con.execute(
                "INSERT INTO ingest_log VALUES (?, ?, ?, ?, NULL, NULL, 'refused', 0, 0, 0, 0, NULL, NULL, ?, ?, ?, ?, ?)",
                [ingest_id, name, sha256, size, message, started, dt.datetime.now(dt.UTC),
                 time.perf_counter() - clock, __version__],
            )

    def _replace(
        self, con: duckdb.DuckDBPyConnection, kind: Kind, read: FileRead, ingest_id: int
    ) -> tuple[int, list[str]]:
        """Delete rows the new file supersedes; mark files left with no rows as superseded."""
        if read.table.num_rows == 0:
            return 0, []
        if kind.replace_by == "id" and kind.id_column:
            # identifiers are a force's own: the same id from another force is another record
            keys = pa.table({"k": read.table[kind.id_column], "f": read.table["force"]})
            match = f"t.{kind.id_column} = k.k AND t.force = k.f"
        else:
            units = read.units()
            keys = pa.table(
                {
                    "force": [u[0] for u in units],
                    "month": pa.array([dt.date.fromisoformat(u[1] + "-01") for u in units], pa.date32()),
                }
            )
            match = "t.force = k.force AND t.month = k.month"
        con.register("_replace_keys", keys)
        try:
            affected = [
                r[0]
                for r in con.execute(
                    f"SELECT DISTINCT t.ingest_id FROM {kind.table} t, _replace_keys k WHERE {match}"
                ).fetchall()
            ]
            if not affected:
                return 0, []
            replaced = con.execute(
                f"SELECT count(*) FROM {kind.table} t, _replace_keys k WHERE {match}"
            ).fetchall()[0][0]
            con.execute(
                f"DELETE FROM {kind.table} t WHERE EXISTS (SELECT 1 FROM _replace_keys k WHERE {match})"
            )
        finally:
            con.unregister("_replace_keys")
        superseded: list[str] = []
        for old_id in affected:
            left = con.execute(f"SELECT count(*) FROM {kind.table} WHERE ingest_id = ?", [old_id]).fetchall()[0][0]
            if left == 0:
                names = con.execute(
                    "UPDATE ingest_log SET status = 'superseded', superseded_by = ? WHERE ingest_id = ? RETURNING file",
                    [ingest_id, old_id],
                ).fetchall()
                superseded.extend(str(n[0]) for n in names)
        return int(replaced), superseded

    def _insert_rows(self, con: duckdb.DuckDBPyConnection, kind: Kind, read: FileRead, ingest_id: int) -> None:
        if read.table.num_rows == 0:
            return
        con.register("_new_rows", read.table)
        try:
            names = [c.name for c in table_columns(kind)]
            select = ", ".join(f'"{n}"' for n in names)
            if has_lsoa(kind):
                con.execute(
                    f"INSERT INTO {kind.table} ({select}, {DISTRICT_COLUMN}, ingest_id, source_file, source_line) "
                    f"SELECT {', '.join(f'n.{chr(34)}{x}{chr(34)}' for x in names)}, l.lad_code, ?, ?, n.source_line "
                    "FROM _new_rows n LEFT JOIN ref_lsoa l ON l.lsoa_code = n.lsoa_code",
                    [ingest_id, read.name],
                )
            else:
                con.execute(
                    f"INSERT INTO {kind.table} ({select}, ingest_id, source_file, source_line) "
                    f"SELECT {select}, ?, ?, source_line FROM _new_rows",
                    [ingest_id, read.name],
                )
        finally:
            con.unregister("_new_rows")

    def _insert_quarantine(self, con: duckdb.DuckDBPyConnection, kind: Kind, read: FileRead, ingest_id: int) -> None:
        if not read.bad:
            return
        bad = pa.table(
            {
                "line": pa.array([b.line for b in read.bad], pa.int32()),
                "raw": [b.raw for b in read.bad],
                "reason": [b.reason for b in read.bad],
            }
        )
        con.register("_bad_rows", bad)
        try:
            con.execute(
                "INSERT INTO quarantine SELECT ?, ?, ?, line, raw, reason FROM _bad_rows",
                [ingest_id, read.name, kind.name],
            )
        finally:
            con.unregister("_bad_rows")

    # -- reading -------------------------------------------------------------------------
    def df(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run SQL written in this package and return a DataFrame."""
        return self.con.execute(sql, params or []).df()

    def arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        return self.con.execute(sql, params or []).to_arrow_table()

    def has_table(self, name: str) -> bool:
        rows = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
        ).fetchall()
        return bool(rows[0][0])

    def tables(self) -> list[str]:
        """Names of the tables (and views) in the store."""
        rows = self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1"
        ).fetchall()
        return [str(r[0]) for r in rows]

    def count(self, table: str) -> int:
        return int(self.con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])

    def ibis(self) -> Any:
        """An Ibis backend on this store's connection (a fresh cursor: safe per thread)."""
        import ibis

        return ibis.duckdb.from_connection(self.con.cursor())


class StoreError(Exception):
    """The store cannot be opened or used."""
