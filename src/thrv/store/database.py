"""The store: one embedded DuckDB file holding canonical tables, quarantine and the ingest log.

This module (with the rest of ``thrv.store``) is the only code that talks to the database
engine. Analysis code asks it for Ibis tables (:meth:`Store.ibis`), which compile to the
SQL of whichever backend is connected, so the same indicator code can run on DuckDB here
and on a distributed engine elsewhere.

Each file is written in one transaction: its rows, its quarantined rows, the rows it
replaces and its log entry either all land or none do (a killed process or a failing disk
leaves the store as it was before that file). Opt-in, several whole files share one
transaction (:meth:`Store.begin_batch`): a failure then leaves the store as it was before
the batch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from thrv import __version__
from thrv.reference import REFERENCE
from thrv.sources.csvtext import BadRow, FileRefused
from thrv.sources.reader import FilePlan
from thrv.store.schema import (
    DISTRICT_COLUMN,
    SYSTEM_TABLES_SQL,
    create_table_sql,
    has_lsoa,
)
from thrv.store.writer import EngineDeclined, write_plan

SCHEMA_VERSION = "3"
DEFAULT_DB = "thrv.duckdb"
#: while many files are ingested, the write-ahead log is folded into the file this rarely
BULK_CHECKPOINT = "4GB"
#: engine threads while ingesting
BULK_THREADS = 1


@dataclass(frozen=True)
class WriteResult:
    """What one file did to the store."""

    ingest_id: int
    rows_read: int
    rows_stored: int
    rows_quarantined: int
    rows_replaced: int
    superseded: list[str]
    #: earlier files whose rows this file replaced: (file, rows replaced, rows of it that remain)
    affected: list[tuple[str, int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    shared_ids: int = 0
    #: why the careful reader read the file ("" when the engine did)
    careful: str = ""
    examples: list[BadRow] = field(default_factory=list)


class Store:
    """An open store. Use as a context manager, or call :meth:`close`.

    The embedded DuckDB engine: the one store that is written to. For reading it offers
    what every engine does (:mod:`thrv.store.engines`): ``ibis()``, ``tables()``, ``close()``.
    """

    engine = "duckdb"

    def __init__(
        self,
        path: str | Path = DEFAULT_DB,
        read_only: bool = False,
        wait: float = 0.0,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        """Open (or create) the store. ``wait``: seconds to keep trying while another process
        holds the file (DuckDB allows one writing process), before giving up with a message;
        ``on_wait(message)`` is called once if it has to wait."""
        self.path = str(path)
        self.read_only = read_only
        #: a batch of files is open: their writes share one transaction (:meth:`begin_batch`)
        self.in_batch = False
        if not read_only:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.con = self._connect(wait, on_wait)
        if not read_only:
            self._migrate()

    def _connect(self, wait: float, on_wait: Callable[[str], None] | None) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + wait
        delay = 0.1
        told = False
        while True:
            try:
                return duckdb.connect(self.path, read_only=self.read_only)
            except duckdb.IOException as exc:
                text = " ".join(str(exc).split())
                if "lock" not in text.lower():
                    raise StoreError(f"{self.path}: cannot open the store ({text})") from exc
                holder = re.search(r"held in (\S+) \(PID (\d+)\)", text)
                who = f" ({Path(holder.group(1)).name}, PID {holder.group(2)})" if holder else ""
                left = deadline - time.monotonic()
                if left > 0:
                    if on_wait and not told:
                        on_wait(f"{self.path}: the store is locked by another process{who}")
                        told = True
                    time.sleep(min(delay, left))
                    delay = min(delay * 2, 1.0)
                    continue
                waited = f"; waited {wait:.0f} s" if wait else ""
                raise StoreLocked(
                    f"{self.path}: the store is locked by another process{who}, e.g. `thrv serve` or "
                    f"another ingest{waited}; stop it or try again when it has finished"
                ) from exc

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """BEGIN ... COMMIT, or ROLLBACK on any exception (then re-raised).

        Inside an open batch the work joins the batch's transaction; whoever opened the
        batch commits it or rolls it back.
        """
        if self.in_batch:
            yield self.con
            return
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
            self._add_rows_current(con)
            con.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION]
            )
        self._load_reference()

    @staticmethod
    def _add_rows_current(con: duckdb.DuckDBPyConnection) -> None:
        """A store made before ``ingest_log.rows_current``: add it, counted from the tables."""
        columns = {r[1] for r in con.execute("PRAGMA table_info('ingest_log')").fetchall()}
        if "rows_current" in columns:
            return
        from thrv.sources.registry import all_kinds

        con.execute("ALTER TABLE ingest_log ADD COLUMN rows_current BIGINT")
        con.execute("UPDATE ingest_log SET rows_current = 0")
        for table in sorted({k.table for k in all_kinds()}):
            con.execute(
                f"UPDATE ingest_log SET rows_current = c.n FROM "
                f"(SELECT ingest_id, count(*) AS n FROM {table} GROUP BY ingest_id) c "
                f"WHERE ingest_log.ingest_id = c.ingest_id AND ingest_log.table_name = '{table}'"
            )
            # earlier versions did not update units after a partial replacement: recount them
            units: dict[int, list[list[str]]] = {}
            for ingest_id, force, month in con.execute(
                f"SELECT DISTINCT ingest_id, force, strftime(month, '%Y-%m') FROM {table} "
                "WHERE force IS NOT NULL AND month IS NOT NULL ORDER BY 1, 2, 3"
            ).fetchall():
                units.setdefault(int(ingest_id), []).append([str(force), str(month)])
            if units:
                con.executemany(
                    "UPDATE ingest_log SET units = ? WHERE ingest_id = ?",
                    [[json.dumps(u), i] for i, u in units.items()],
                )

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
    def last_ingest_id(self) -> int:
        """The newest ``ingest_log`` id (0 for an empty log): files logged after it are this run's."""
        return int(self.con.execute("SELECT coalesce(max(ingest_id), 0) FROM ingest_log").fetchall()[0][0])

    def stored_since(self, sha256: str, after: int) -> dict[str, Any] | None:
        """The entry of a file with this content stored after log id ``after``, if any.

        After Ctrl-C: a file whose transaction committed just before the interrupt is
        stored, though the loop never heard so.
        """
        rows = self.con.execute(
            "SELECT file, kind, rows_read, rows_stored, rows_quarantined, rows_replaced FROM ingest_log "
            "WHERE sha256 = ? AND ingest_id > ? AND status IN ('stored', 'superseded') ORDER BY ingest_id LIMIT 1",
            [sha256, after],
        ).fetchall()
        if not rows:
            return None
        keys = ("file", "kind", "rows_read", "rows_stored", "rows_quarantined", "rows_replaced")
        return dict(zip(keys, rows[0], strict=True))

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

    @contextmanager
    def bulk(self) -> Iterator[None]:
        """Many files in a row: checkpoint once at the end, and run each statement on one thread.

        Each file is still its own committed transaction in the write-ahead log (a killed
        process loses nothing committed); only folding the log into the file is deferred
        (checkpointing every few files rewrites the same row groups again and again). One
        engine thread suits many small statements (a file is a few MB) and leaves the other
        core to the ingest loop, which reads and decompresses the next files meanwhile.
        """
        settings = dict(
            self.con.execute(
                "SELECT name, value FROM duckdb_settings() WHERE name IN ('checkpoint_threshold', 'threads')"
            ).fetchall()
        )
        self.con.execute(f"SET checkpoint_threshold = '{BULK_CHECKPOINT}'")
        self.con.execute(f"SET threads = {BULK_THREADS}")
        try:
            yield
        except BaseException:
            # stopped part-way (Ctrl-C, an error): what is committed is in the write-ahead
            # log; it is folded in when the store is next closed or opened
            with suppress(duckdb.Error, RuntimeError):
                self._restore(settings)
            raise
        self._restore(settings)
        with suppress(duckdb.Error):  # another transaction still open: DuckDB checkpoints later
            self.con.execute("CHECKPOINT")

    def _restore(self, settings: dict[str, str]) -> None:
        for name, value in settings.items():
            self.con.execute(f"SET {name} = '{value}'")

    def begin_batch(self) -> None:
        """Open one transaction for the files written until :meth:`commit_batch`.

        Opt-in (``ingest(..., batch_rows=N)``): each file is still stored whole or not at
        all, but a process killed mid-batch loses the whole uncommitted batch (a re-run
        stores it). A file that needs a transaction of its own (the engine's parse is
        declined, or the engine refuses the file) raises :class:`BatchBroken`: the caller
        rolls the batch back and writes its files one transaction each.
        """
        self.con.begin()
        self.in_batch = True

    def commit_batch(self) -> None:
        """Commit the open batch: its files are stored. A disk error stops the run (:class:`StoreError`)."""
        self.in_batch = False
        with interrupts():
            try:
                self.con.commit()
            except duckdb.Error as exc:
                with suppress(duckdb.Error, RuntimeError):
                    self.con.rollback()
                raise StoreError(f"{self.path}: cannot write to the store ({_one_line(exc)})") from exc

    def rollback_batch(self) -> None:
        """Roll back the open batch, if any (nothing of its files is left)."""
        if self.in_batch:
            self.in_batch = False
            with suppress(duckdb.Error, RuntimeError):
                self.con.rollback()

    def write_file(self, plan: FilePlan, started: dt.datetime, clock: float) -> WriteResult:
        """Store one file's rows and quarantine, replacing what it supersedes, atomically.

        A well-formed file is parsed by the engine; if the engine's parse does not match the
        line scan, that transaction is rolled back and the file is read again carefully.
        """
        if self.in_batch:
            try:
                with self.writing(plan.name):
                    return self._write(plan, started, clock)
            except (EngineDeclined, FileRefused) as exc:
                raise BatchBroken(f"{plan.name}: needs a transaction of its own ({_one_line(exc)[:200]})") from exc
        with self.writing(plan.name):
            try:
                return self._write(plan, started, clock)
            except EngineDeclined as exc:
                return self._write(plan.fallback(str(exc)), started, clock)

    @contextmanager
    def writing(self, name: str) -> Iterator[None]:
        """Around one file's write: what the engine raises, as an ingest reports it.

        Ctrl-C is KeyboardInterrupt; a disk error stops the run (:class:`StoreError`); any
        other engine error refuses this file alone (:class:`FileRefused`, one line).
        """
        with interrupts():
            try:
                yield
            except duckdb.InterruptException:
                raise
            except duckdb.IOException as exc:  # the disk, not the file: stop the run
                raise StoreError(f"{self.path}: cannot write to the store ({_one_line(exc)})") from exc
            except duckdb.Error as exc:  # something in this file the engine could not take
                raise FileRefused(
                    f"{name}: could not be stored ({_one_line(exc)[:300]}); nothing from it was stored"
                ) from exc

    def _write(self, plan: FilePlan, started: dt.datetime, clock: float) -> WriteResult:
        kind = plan.kind
        with self.transaction() as con:
            ingest_id = int(con.execute("SELECT nextval('ingest_id_seq')").fetchall()[0][0])
            written = write_plan(con, plan, ingest_id)
            notes = written.notes
            finished = dt.datetime.now(dt.UTC)
            con.execute(
                "INSERT INTO ingest_log (ingest_id, file, sha256, bytes, kind, table_name, status, rows_read, "
                "rows_stored, rows_quarantined, rows_replaced, superseded_by, units, message, started_at, "
                "finished_at, seconds, thrv_version, rows_current) "
                "VALUES (?, ?, ?, ?, ?, ?, 'stored', ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?)",
                [
                    ingest_id,
                    plan.name,
                    plan.sha256,
                    plan.size,
                    kind.name,
                    kind.table,
                    written.rows_read,
                    written.rows_stored,
                    written.rows_quarantined,
                    written.rows_replaced,
                    json.dumps(written.units),
                    "; ".join(notes) or None,
                    started,
                    finished,
                    time.perf_counter() - clock,
                    __version__,
                    written.rows_stored,
                ],
            )
        return WriteResult(
            ingest_id,
            written.rows_read,
            written.rows_stored,
            written.rows_quarantined,
            written.rows_replaced,
            written.superseded,
            affected=written.affected,
            notes=notes,
            shared_ids=written.shared_ids,
            careful=written.careful,
            examples=written.examples,
        )

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
                "INSERT INTO ingest_log (ingest_id, file, sha256, bytes, kind, table_name, status, rows_read, "
                "rows_stored, rows_quarantined, rows_replaced, superseded_by, units, message, started_at, "
                "finished_at, seconds, thrv_version, rows_current) "
                "VALUES (?, ?, ?, ?, NULL, NULL, 'refused', 0, 0, 0, 0, NULL, NULL, ?, ?, ?, ?, ?, 0)",
                [ingest_id, name, sha256, size, message, started, dt.datetime.now(dt.UTC),
                 time.perf_counter() - clock, __version__],
            )

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


#: the columns of an ``ingest_log`` entry, in the order writers give them
LOG_COLUMNS = (
    "ingest_id, file, sha256, bytes, kind, table_name, status, rows_read, rows_stored, rows_quarantined, "
    "rows_replaced, superseded_by, units, message, started_at, finished_at, seconds, thrv_version, rows_current"
)


def log_replaced(con: duckdb.DuckDBPyConnection, affected: list[tuple[int, int]], by: int) -> list[tuple[str, int, int]]:
    """Keep earlier files' log entries true after ``by`` replaced some of their rows.

    ``affected`` is (earlier ingest id, rows of it removed); an entry left with no rows is
    marked superseded by ``by``. Returns (file, rows removed, rows of it left).
    """
    out: list[tuple[str, int, int]] = []
    for old_id, removed in affected:
        row = con.execute(
            "UPDATE ingest_log SET rows_current = rows_current - ?, "
            "status = CASE WHEN rows_current - ? <= 0 THEN 'superseded' ELSE status END, "
            "superseded_by = CASE WHEN rows_current - ? <= 0 THEN ? ELSE superseded_by END "
            "WHERE ingest_id = ? RETURNING file, rows_current",
            [int(removed), int(removed), int(removed), by, int(old_id)],
        ).fetchall()
        if row:
            out.append((str(row[0][0]), int(removed), max(int(row[0][1] or 0), 0)))
    return out


class StoreError(Exception):
    """The store cannot be opened or used."""


class StoreLocked(StoreError):
    """Another process holds the store (DuckDB admits one writing process)."""


class BatchBroken(Exception):
    """A file in an open batch cannot be written within it: roll the batch back and write
    its files one transaction each."""


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


@contextmanager
def interrupts() -> Iterator[None]:
    """Ctrl-C during a statement: DuckDB stops it and raises its own error; raise KeyboardInterrupt."""
    try:
        yield
    except duckdb.InterruptException as exc:
        raise KeyboardInterrupt from exc
    except RuntimeError as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt) or "interrupted" in str(exc).lower():
            raise KeyboardInterrupt from exc
        raise
