"""The write path: one file parsed, checked and stored inside one transaction.

The caller (:meth:`thrv.store.database.Store.write_file`) opens the transaction; this module
runs, on that connection:

1. the rows: for a well-formed file DuckDB's CSV reader parses it and the kind's checks run
   as SQL in the same statement (:mod:`thrv.store.checks`), good rows going straight into
   the table; otherwise the careful reader's text is checked by the same SQL, and a kind's
   own rules run on the typed columns as Arrow arrays;
2. the quarantine: every row that failed, with its line, raw text and reason;
3. duplicate rows (kinds with an identifier), found by hashing in SQL and moved to the
   quarantine;
4. the replacement: rows of earlier files that this file supersedes (same table, force and
   month; or same identifier) are deleted, and those files' log entries updated to what
   remains of them.

The engine's parse is used only when it provably agrees with the line scan: the lines it
rejects are the lines the scan found bad, and it returns exactly the records the scan
counted. Otherwise :class:`EngineDeclined` is raised, the transaction is rolled back and
the file is read again by the careful reader.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from thrv.sources.csvtext import BadRow
from thrv.sources.kinds import Kind
from thrv.sources.reader import FilePlan
from thrv.sources.validate import Reasons
from thrv.store import summary
from thrv.store.checks import Failure, case, ident, month_failure, passes, quote, typed_query
from thrv.store.schema import DISTRICT_COLUMN, has_lsoa, table_columns

#: quarantined rows kept on the result to show at once
EXAMPLES = 3

_ARROW_TYPES = {
    "text": pa.string(),
    "month": pa.date32(),
    "date": pa.date32(),
    "longitude": pa.float64(),
    "latitude": pa.float64(),
    "float": pa.float64(),
    "int": pa.int64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("s", tz="UTC"),
}


class EngineDeclined(Exception):
    """The engine's parse of a file does not match the line scan; read it carefully instead."""


@dataclass
class Written:
    """What writing one file did."""

    rows_read: int = 0
    rows_stored: int = 0
    rows_quarantined: int = 0
    rows_replaced: int = 0
    shared_ids: int = 0
    #: earlier files left with no rows
    superseded: list[str] = field(default_factory=list)
    #: earlier files whose rows this file replaced: (file, rows replaced, rows of it that remain)
    affected: list[tuple[str, int, int]] = field(default_factory=list)
    units: list[tuple[str, str]] = field(default_factory=list)
    examples: list[BadRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: why the careful reader read the file ("" when the engine did)
    careful: str = ""


def _register(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    con.register(name, table)


def _bad_table(rows: list[BadRow]) -> pa.Table:
    return pa.table(
        {
            "line": pa.array([b.line for b in rows], pa.int32()),
            "raw": pa.array([b.raw for b in rows], pa.string()),
            "reason": pa.array([b.reason for b in rows], pa.string()),
        }
    )


def _insert_quarantine(con: duckdb.DuckDBPyConnection, plan: FilePlan, ingest_id: int, rows: list[BadRow]) -> None:
    if not rows:
        return
    _register(con, "_thrv_bad", _bad_table(rows))
    try:
        con.execute(
            "INSERT INTO quarantine (ingest_id, file, kind, line, raw, reason) "
            "SELECT ?, ?, ?, line, raw, reason FROM _thrv_bad",
            [ingest_id, plan.name, plan.kind.name],
        )
    finally:
        con.unregister("_thrv_bad")


def _insert_sql(kind: Kind, select_from: str, where: str, districts: bool) -> str:
    names = [c.name for c in table_columns(kind)]
    columns = ", ".join(ident(n) for n in names)
    values = ", ".join(f"v.{ident(n)}" for n in names)
    if districts and has_lsoa(kind):
        return (
            f"INSERT INTO {kind.table} ({columns}, {DISTRICT_COLUMN}, ingest_id, source_file, source_line) "
            f"SELECT {values}, l.lad_code, $id, $file, v._line FROM ({select_from}) v "
            f"LEFT JOIN ref_lsoa l ON l.lsoa_code = v.lsoa_code WHERE {where}"
        )
    return (
        f"INSERT INTO {kind.table} ({columns}, ingest_id, source_file, source_line) "
        f"SELECT {values}, $id, $file, v._line FROM ({select_from}) v WHERE {where}"
    )


def _count(result: list[tuple[Any, ...]]) -> int:
    return int(result[0][0]) if result else 0


def _read_csv(plan: FilePlan) -> str:
    """The engine's read of the staged file. When the line scan found lines the engine must
    skip, its rejects are stored (and compared with the scan's); when the scan found none,
    the reader stops at any line it would reject, which declines the file the same way."""
    assert plan.scan is not None and plan.csv_path is not None
    width = len(plan.scan.header)
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
    rejects = (", store_rejects = true, rejects_table = 'thrv_rejects', rejects_scan = 'thrv_reject_scans'"
               if _skips(plan) else "")
    return (
        f"read_csv({quote(plan.csv_path)}, header = true, auto_detect = false, columns = {columns}, "
        f"delim = ',', quote = '\"', escape = '\"', strict_mode = true, null_padding = false{rejects})"
    )


def _skips(plan: FilePlan) -> bool:
    """Whether the line scan found lines the engine's reader is to skip."""
    return plan.scan is not None and len(plan.scan.engine_skips) > 0


def _engine_lines(con: duckdb.DuckDBPyConnection, plan: FilePlan) -> str | bool:
    """How the engine's n-th record finds its line: n + 2, or a lookup of the scan's lines."""
    scan = plan.scan
    assert scan is not None
    if scan.identity:
        return True
    lines = pa.table({"_rec": pa.array(np.arange(scan.n_good, dtype=np.int64)), "_line": pa.array(scan.good_lines)})
    _register(con, "_thrv_lines", lines)
    return "_thrv_lines"


def _month_source(plan: FilePlan) -> str | None:
    """The timestamp whose UK-local month is a row's month, for kinds whose rows do not say it
    (stop and search files not named by month); kinds with rules derive their own."""
    kind = plan.kind
    if "month" not in {c.name for c in kind.added} or plan.file_month or plan.checks:
        return None
    stamps = [c.name for c in kind.columns if c.type == "timestamp" and c.required]
    return stamps[0] if stamps else None


def _query(
    plan: FilePlan, source: str, trim: bool | frozenset[int], with_reason: bool = True, lines: str | bool | None = None
) -> str:
    return typed_query(
        plan.kind,
        plan.positions,
        source,
        plan.today,
        trim=trim,
        constants=plan.constants,
        file_month=plan.file_month,
        month_from=_month_source(plan),
        with_reason=with_reason,
        lines=lines,
    )


def _clear_rejects(con: duckdb.DuckDBPyConnection) -> list[int]:
    """The lines the engine's reader rejected in the last read, cleared for the next."""
    return sorted({int(r[0]) for r in con.execute("DELETE FROM thrv_rejects RETURNING line").fetchall()})


def _rows_by_engine(con: duckdb.DuckDBPyConnection, plan: FilePlan, ingest_id: int, districts: bool) -> tuple[int, list[BadRow]]:
    """Parse and check a well-formed file in the engine; good rows go straight into the table."""
    scan = plan.scan
    assert scan is not None
    source = _read_csv(plan)
    lines = _engine_lines(con, plan)
    try:
        stored = _count(
            con.execute(
                _insert_sql(plan.kind, _query(plan, source, scan.trim, with_reason=False, lines=lines), "_ok", districts),
                {"id": ingest_id, "file": plan.name},
            ).fetchall()
        )
        rejected = _clear_rejects(con) if _skips(plan) else []  # else the reader stopped at any reject
        if rejected != scan.engine_skips.tolist():
            raise EngineDeclined(
                f"the engine's CSV reader and the line scan disagree on which lines are bad "
                f"(e.g. line {next(iter(set(rejected) ^ set(scan.engine_skips.tolist())))})"
            )
        failed: list[tuple[int, int, str]] = []
        if stored != scan.n_good:
            query = _query(plan, source, scan.trim, lines=lines)
            failed = [
                (int(r[0]), int(r[1]), str(r[2]))
                for r in con.execute(f"SELECT _rec, _line, _reason FROM ({query}) WHERE NOT _ok").fetchall()
            ]
            if _skips(plan):
                _clear_rejects(con)
        if stored + len(failed) != scan.n_good:
            raise EngineDeclined(
                f"the engine's CSV reader found {stored + len(failed):,} records where the line scan found {scan.n_good:,}"
            )
    except duckdb.Error as exc:
        raise EngineDeclined(f"the engine's CSV reader stopped ({' '.join(str(exc).split())[:160]})") from exc
    finally:
        if not scan.identity:
            con.unregister("_thrv_lines")
    bad = list(scan.bad) + [BadRow(line, scan.raw(line), reason) for _rec, line, reason in failed]
    return stored, bad


def _text_table(plan: FilePlan) -> pa.Table:
    records = plan.records
    assert records is not None
    columns = {f"c{i}": col for i, col in enumerate(records.columns)}
    columns["_rec"] = pa.array(np.arange(records.n_good, dtype=np.int64))
    columns["_line"] = pa.array(np.asarray(records.lines, dtype=np.int64))
    return pa.table(columns)


def _rows_by_sql(con: duckdb.DuckDBPyConnection, plan: FilePlan, ingest_id: int, districts: bool) -> tuple[int, list[BadRow]]:
    """Check text the careful reader parsed with the same SQL, good rows into the table."""
    records = plan.records
    assert records is not None
    _register(con, "_thrv_text", _text_table(plan))
    try:
        stored = _count(
            con.execute(
                _insert_sql(plan.kind, _query(plan, "_thrv_text", True, with_reason=False), "_ok", districts),
                {"id": ingest_id, "file": plan.name},
            ).fetchall()
        )
        failed = []
        if stored != records.n_good:
            query = _query(plan, "_thrv_text", True)
            failed = con.execute(f"SELECT _rec, _line, _reason FROM ({query}) WHERE NOT _ok").fetchall()
    finally:
        con.unregister("_thrv_text")
    bad = list(records.bad) + [BadRow(int(line), records.raw_of(int(rec)), str(reason)) for rec, line, reason in failed]
    return stored, bad


def _rows_by_rules(con: duckdb.DuckDBPyConnection, plan: FilePlan, ingest_id: int, districts: bool) -> tuple[int, list[BadRow]]:
    """Type in SQL, run the kind's own checks on Arrow arrays, then store and quarantine."""
    records = plan.records
    assert records is not None
    kind = plan.kind
    _register(con, "_thrv_text", _text_table(plan))
    try:
        typed = con.execute(f"SELECT * FROM ({_query(plan, '_thrv_text', True)}) ORDER BY _rec").to_arrow_table()
    finally:
        con.unregister("_thrv_text")
    n = typed.num_rows
    cols: dict[str, pa.Array] = {}
    for column in table_columns(kind):
        if column.name in typed.column_names:
            cols[column.name] = typed[column.name].combine_chunks().cast(_ARROW_TYPES[column.type])
        else:
            cols[column.name] = pa.nulls(n, _ARROW_TYPES[column.type])
    reasons = Reasons(n, typed["_reason"].combine_chunks())
    for check in plan.checks:
        check(cols, reasons)
    final = {c.name: cols[c.name].cast(_ARROW_TYPES[c.type]) for c in table_columns(kind)}
    final["_rec"] = typed["_rec"].combine_chunks()
    final["_line"] = typed["_line"].combine_chunks()
    final["_checked"] = reasons.values
    _register(con, "_thrv_final", pa.table(final))
    try:
        names = {c.name for c in table_columns(kind)}
        failures = [Failure("_checked IS NOT NULL", "_checked IS NULL", "_checked")]
        if "month" in names and not plan.future_months:
            failures.append(month_failure(ident("month"), plan.today))
        select = f"SELECT *, {passes(failures)} AS _ok, {case(failures)} AS _reason FROM _thrv_final"
        stored = _count(
            con.execute(_insert_sql(kind, select, "_ok", districts), {"id": ingest_id, "file": plan.name}).fetchall()
        )
        failed = []
        if stored != n:
            failed = con.execute(f"SELECT _rec, _line, _reason FROM ({select}) WHERE NOT _ok").fetchall()
    finally:
        con.unregister("_thrv_final")
    bad = list(records.bad) + [BadRow(int(line), records.raw_of(int(rec)), str(r)) for rec, line, r in failed]
    return stored, bad


def _raw_of_line(plan: FilePlan) -> Any:
    if plan.scan is not None:
        return plan.scan.raw
    records = plan.records
    assert records is not None
    index = {int(line): j for j, line in enumerate(records.lines.tolist())}
    return lambda line: records.raw_of(index[line])


@dataclass
class _Stats:
    rows: int
    shared_ids: int
    clash: int
    units: list[tuple[str, str]]


def _stats(con: duckdb.DuckDBPyConnection, kind: Kind, ingest_id: int) -> _Stats:
    """A file's stored rows: how many, identifiers shared, possible repeats, (force, month) units.

    Two rows can be identical only if they share their identifier, so the (rare) rows whose
    identifier repeats are the only ones hashed: equal rows have equal hashes, and only
    when two hashes meet are the repeats looked for exactly.
    """
    names = {c.name for c in table_columns(kind)}
    where = f"ingest_id = {ingest_id}"
    # one scan of the file's rows for the count, the shared identifiers and the units
    figures = ["count(*)"]
    if kind.duplicate_id:
        key = ident(kind.duplicate_id)
        figures.append(f"count({key}) - count(DISTINCT {key})")
    has_units = {"force", "month"} <= names
    if has_units:
        figures.append(  # the few distinct months formatted in Python, not every row's
            "list(DISTINCT struct_pack(force := force, month := month)) "
            "FILTER (WHERE force IS NOT NULL AND month IS NOT NULL)"
        )
    found = con.execute(f"SELECT {', '.join(figures)} FROM {kind.table} WHERE {where}").fetchall()[0]
    rows = int(found[0])
    shared = int(found[1] or 0) if kind.duplicate_id else 0
    clash = 0
    if shared:
        assert kind.duplicate_id
        key = ident(kind.duplicate_id)
        columns = ", ".join(ident(c.name) for c in kind.columns)
        clash = _count(
            con.execute(
                f"SELECT count(*) - count(DISTINCT hash({columns})) FROM {kind.table} WHERE {where} AND {key} IN "
                f"(SELECT {key} FROM {kind.table} WHERE {where} GROUP BY {key} HAVING count(*) > 1)"
            ).fetchall()
        )
    units: list[tuple[str, str]] = []
    if has_units:
        units = sorted((str(u["force"]), u["month"].strftime("%Y-%m")) for u in (found[-1] or []))
    return _Stats(rows, shared, int(clash), units)


def _duplicates(con: duckdb.DuckDBPyConnection, plan: FilePlan, ingest_id: int) -> list[BadRow]:
    """Rows identical in every column to an earlier stored row of the file that has an id:
    found exactly (a window over the columns), deleted and returned for the quarantine."""
    kind = plan.kind
    assert kind.duplicate_id
    columns = ", ".join(ident(c.name) for c in kind.columns)
    where = f"ingest_id = {ingest_id} AND {ident(kind.duplicate_id)} IS NOT NULL"
    repeats = con.execute(
        f"SELECT source_line, first FROM (SELECT source_line, min(source_line) OVER (PARTITION BY {columns}) AS first "
        f"FROM {kind.table} WHERE {where}) WHERE source_line <> first ORDER BY source_line"
    ).fetchall()
    if not repeats:
        return []
    lines = pa.table({"line": pa.array([int(r[0]) for r in repeats], pa.int32())})
    _register(con, "_thrv_repeats", lines)
    try:
        con.execute(
            f"DELETE FROM {kind.table} WHERE ingest_id = {ingest_id} AND source_line IN (SELECT line FROM _thrv_repeats)"
        )
    finally:
        con.unregister("_thrv_repeats")
    raw = _raw_of_line(plan)
    return [BadRow(int(line), raw(int(line)), f"duplicate row: identical to line {int(first)}") for line, first in repeats]


def units_of(con: duckdb.DuckDBPyConnection, kind: Kind, ingest_id: int) -> list[tuple[str, str]]:
    """(force, YYYY-MM) pairs of a file's rows still in the store."""
    return _stats(con, kind, ingest_id).units


def _candidates(con: duckdb.DuckDBPyConnection, kind: Kind, ingest_id: int, units: list[tuple[str, str]]) -> list[int]:
    """Earlier files of the same table that may hold rows this file replaces.

    Read from the log (it records what remains of every file), so a file that replaces
    nothing costs no scan of the table. The log's units are matched in the engine: a
    national store holds thousands of files, and parsing each one's units in Python for
    every new file grew with the square of the files.
    """
    pairs = "from_json(coalesce(nullif(units, ''), '[]'), '[[\"VARCHAR\"]]')"
    if kind.replace_by == "id":
        held, wanted = f"list_transform({pairs}, p -> p[1])", sorted({f for f, _m in units})
    else:  # (force, month) pairs as one text each, joined by a character no name holds
        held, wanted = f"list_transform({pairs}, p -> p[1] || chr(31) || p[2])", sorted({f"{f}\x1f{m}" for f, m in units})
    rows = con.execute(
        "SELECT ingest_id FROM ingest_log WHERE table_name = ? AND status = 'stored' "
        f"AND coalesce(rows_current, 1) > 0 AND ingest_id <> ? AND list_has_any({held}, ?::VARCHAR[]) ORDER BY 1",
        [kind.table, ingest_id, wanted],
    ).fetchall()
    return [int(i) for (i,) in rows]


def _replace(con: duckdb.DuckDBPyConnection, plan: FilePlan, ingest_id: int, units: list[tuple[str, str]], written: Written) -> None:
    """Delete the earlier rows this file supersedes; keep the earlier files' log entries true."""
    kind = plan.kind
    if not units:
        return
    candidates = _candidates(con, kind, ingest_id, units)
    if not candidates:
        return
    among = f"o.ingest_id IN ({', '.join(str(i) for i in candidates)})"
    if kind.replace_by == "id" and kind.id_column:
        # identifiers are a force's own: the same id from another force is another record
        key = ident(kind.id_column)
        match = (
            f"EXISTS (SELECT 1 FROM {kind.table} n WHERE n.ingest_id = {ingest_id} "
            f"AND n.{key} = o.{key} AND n.force = o.force)"
        )
        params: list[Any] = []
    else:
        match = "(" + " OR ".join("(o.force = ? AND o.month = ?)" for _ in units) + ")"
        params = [v for force, month in units for v in (force, dt.date.fromisoformat(month + "-01"))]
    where = f"{among} AND {match}"
    affected = con.execute(f"SELECT o.ingest_id, count(*) FROM {kind.table} o WHERE {where} GROUP BY 1 ORDER BY 1", params).fetchall()
    if not affected:
        return
    con.execute(f"DELETE FROM {kind.table} o WHERE {where}", params)
    for old_id, removed in affected:
        remaining = units_of(con, kind, int(old_id))
        row = con.execute(
            "UPDATE ingest_log SET rows_current = rows_current - ?, units = ?, "
            "status = CASE WHEN rows_current - ? <= 0 THEN 'superseded' ELSE status END, "
            "superseded_by = CASE WHEN rows_current - ? <= 0 THEN ? ELSE superseded_by END "
            "WHERE ingest_id = ? RETURNING file, rows_current",
            [int(removed), json.dumps(remaining), int(removed), int(removed), ingest_id, int(old_id)],
        ).fetchall()
        written.rows_replaced += int(removed)
        if not row:
            continue
        name, left = str(row[0][0]), max(int(row[0][1] or 0), 0)
        written.affected.append((name, int(removed), left))
        if left == 0:
            written.superseded.append(name)


def write_plan(con: duckdb.DuckDBPyConnection, plan: FilePlan, ingest_id: int, districts: bool = True) -> Written:
    """Store one file's rows and quarantine and apply its replacements (inside a transaction)."""
    if plan.scan is not None:
        stored, bad = _rows_by_engine(con, plan, ingest_id, districts)
        rows_read = plan.scan.rows_read
    elif plan.checks:
        stored, bad = _rows_by_rules(con, plan, ingest_id, districts)
        rows_read = plan.records.rows_read if plan.records else 0
    else:
        stored, bad = _rows_by_sql(con, plan, ingest_id, districts)
        rows_read = plan.records.rows_read if plan.records else 0
    kind = plan.kind
    stats = _stats(con, kind, ingest_id)
    if stats.rows != stored:  # the engine's count of what it inserted against a count of the table
        raise RuntimeError(f"{plan.name}: {stored:,} rows inserted but {stats.rows:,} found; nothing stored")
    if stats.clash:
        repeats = _duplicates(con, plan, ingest_id)
        if repeats:
            bad = sorted(bad + repeats, key=lambda b: b.line)
            stats = _stats(con, kind, ingest_id)
    else:
        bad = sorted(bad, key=lambda b: b.line)
    _insert_quarantine(con, plan, ingest_id, bad)
    written = Written(
        rows_read=rows_read,
        rows_stored=stats.rows,
        rows_quarantined=len(bad),
        shared_ids=stats.shared_ids,
        examples=bad[:EXAMPLES],
        careful=plan.careful,
        units=stats.units,
    )
    written.notes = list(plan.notes)
    if written.shared_ids:
        written.notes.append(
            f"{written.shared_ids} row(s) share a {kind.duplicate_id} with a different row; kept as published"
        )
    if kind.repeat_note and written.rows_stored:
        written.notes.append(kind.repeat_note)
    _replace(con, plan, ingest_id, written.units, written)
    # the monthly counts the pack reads change in the same transaction as their rows
    summary.refresh(con, kind.table, written.units, ingest_id)
    return written


def arrow_type(column_type: str) -> pa.DataType:
    """The Arrow type a kind's rules see for a column type."""
    return _ARROW_TYPES[column_type]
