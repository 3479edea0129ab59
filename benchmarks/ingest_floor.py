"""What a durable load of the real files costs in DuckDB, taken apart, beside the in-memory read.

    python benchmarks/ingest_floor.py [--data ../shared/data/police_uk] [--work bench-work]

``benchmarks/ingest.py`` holds thrv to DuckDB's in-memory ``read_csv`` of the same files.
This script asks what any ingest that commits each file to a DuckDB store must pay on top
of that read, before checking anything. Each way of loading the same files (the explicit
schema of ``benchmarks/ingest.py``, nothing checked) runs back to back in one process:

- ``memory``: one ``read_csv`` per file into an in-memory table (the target's baseline), and
  one multi-file ``read_csv`` per header (the cost of calling the reader once per file, and
  of reading small files one at a time rather than in one parallel scan);
- ``memory, commit per file``: one ``INSERT`` per file into one table per kind of an
  in-memory database, each its own transaction (the transactions, with no log to write);
- ``store, commit per file``: the same into a store file, timed apart from the final
  ``CHECKPOINT`` (the write-ahead log: every committed file's rows are serialised
  uncompressed into the log; the checkpoint then compresses them into the file);
- ``staged``: every file read in one multi-file ``read_csv`` per header into an in-memory
  staging table first, then one ``INSERT ... SELECT`` per file into the store, each its own
  transaction (parsing taken out of the commit loop);
- ``store, batches``: files grouped so that each transaction holds at least a row group
  (122,880 rows), and ``one transaction``: the whole set at once (DuckDB then writes the
  rows compressed straight into the file and logs nothing; a killed process loses the
  uncommitted batch, which a re-run loads again).

Each runs with one engine thread (thrv's setting) and the engine's default; the load
average is printed beside each line. Figures from the same run compare; the machine may be
shared. Wall-clock and CPU seconds of this process.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
from ingest import ROOT, _files, _load, _read_csv

#: DuckDB's rows per row group: a transaction at least this big is written straight to the file
ROW_GROUP = 122_880


def _many(paths: list[str], schema: str) -> str:
    names = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"
    return f"read_csv({names}, header = true, auto_detect = false, columns = {schema}, ignore_errors = true, filename = true)"


class Bench:
    def __init__(self, files: list[tuple[str, str]], work: Path) -> None:
        self.files = files
        self.work = work
        self.groups: dict[str, list[str]] = {}
        for path, schema in files:
            self.groups.setdefault(schema, []).append(path)
        self.group_of = {p: g for g, paths in enumerate(self.groups.values()) for p in paths}
        self.lines: list[tuple[str, int, float, float]] = []

    def timed(self, label: str, run: Callable[[], int]) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        rows = run()
        seconds, cpu_s = time.perf_counter() - wall, time.process_time() - cpu
        self.lines.append((label, rows, seconds, cpu_s))
        print(f"  {label:62}{rows:>11,}{seconds:>8.2f}{cpu_s:>8.2f}   {_load()}", flush=True)

    def connect(self, threads: int | None, store: bool) -> tuple[duckdb.DuckDBPyConnection, Path | None]:
        db = self.work / "floor.duckdb" if store else None
        if db is not None:
            for p in (db, Path(str(db) + ".wal")):
                p.unlink(missing_ok=True)
        con = duckdb.connect(str(db) if db else ":memory:")
        if threads:
            con.execute(f"SET threads = {threads}")
        con.execute("SET checkpoint_threshold = '4GB'")  # one checkpoint, at the end, as thrv does
        for g, (schema, paths) in enumerate(self.groups.items()):
            con.execute(f"CREATE TABLE k{g} AS SELECT * FROM {_read_csv(paths[0], schema)} LIMIT 0")
        if store:
            con.execute("CHECKPOINT")
        return con, db

    def checkpoint(self, con: duckdb.DuckDBPyConnection, db: Path | None) -> None:
        wal = Path(str(db) + ".wal") if db else None
        megabytes = wal.stat().st_size / 1e6 if wal and wal.exists() else 0.0
        self.timed(f"  ... then CHECKPOINT (write-ahead log {megabytes:,.0f} MB)", lambda: self._checkpoint(con))
        con.close()

    @staticmethod
    def _checkpoint(con: duckdb.DuckDBPyConnection) -> int:
        con.execute("CHECKPOINT")
        return 0

    def per_file(self, con: duckdb.DuckDBPyConnection, batch_rows: int = 1) -> int:
        """One INSERT per file; a COMMIT whenever ``batch_rows`` rows are uncommitted (1: every file)."""
        rows = uncommitted = 0
        con.begin()
        for path, schema in self.files:
            found = int(con.execute(f"INSERT INTO k{self.group_of[path]} SELECT * FROM {_read_csv(path, schema)}").fetchall()[0][0])
            rows, uncommitted = rows + found, uncommitted + found
            if uncommitted >= batch_rows:
                con.commit()
                con.begin()
                uncommitted = 0
        con.commit()
        return rows

    def memory(self, threads: int | None) -> None:
        con = duckdb.connect()
        if threads:
            con.execute(f"SET threads = {threads}")

        def one_by_one() -> int:
            rows = 0
            for i, (path, schema) in enumerate(self.files):
                con.execute(f"CREATE OR REPLACE TABLE t{i % 2} AS SELECT * FROM {_read_csv(path, schema)}")
                rows += int(con.execute(f"SELECT count(*) FROM t{i % 2}").fetchall()[0][0])
            return rows

        def all_at_once() -> int:
            rows = 0
            for g, (schema, paths) in enumerate(self.groups.items()):
                con.execute(f"CREATE OR REPLACE TABLE m{g} AS SELECT * FROM {_many(paths, schema)}")
                rows += int(con.execute(f"SELECT count(*) FROM m{g}").fetchall()[0][0])
            return rows

        self.timed("memory: read_csv per file (the target's baseline)", one_by_one)
        self.timed(f"memory: one multi-file read_csv per header ({len(self.groups)} calls)", all_at_once)
        con.close()
        con, _ = self.connect(threads, store=False)
        self.timed("memory, commit per file: INSERT per file, no log", lambda: self.per_file(con))
        con.close()

    def store(self, threads: int | None) -> None:
        con, db = self.connect(threads, store=True)
        self.timed("store, commit per file: INSERT per file, write-ahead log", lambda: self.per_file(con))
        self.checkpoint(con, db)
        self.staged(threads)
        for label, batch in (
            (f"store, batches of >= {ROW_GROUP:,} rows per transaction", ROW_GROUP),
            ("store, one transaction for every file", 1 << 62),
        ):
            con, db = self.connect(threads, store=True)
            self.timed(label, lambda con=con, batch=batch: self.per_file(con, batch))
            self.checkpoint(con, db)

    def staged(self, threads: int | None) -> None:
        con, db = self.connect(threads, store=True)
        con.execute("ATTACH ':memory:' AS staging")
        ranges: dict[str, tuple[int, int, int]] = {}

        def stage() -> int:
            rows = 0
            for g, (schema, paths) in enumerate(self.groups.items()):
                con.execute(f"CREATE TABLE staging.s{g} AS SELECT * FROM {_many(paths, schema)} ORDER BY filename")
                for name, first, last in con.execute(
                    f"SELECT filename, min(rowid), max(rowid) FROM staging.s{g} GROUP BY filename"
                ).fetchall():
                    ranges[str(name)] = (g, int(first), int(last))
                rows += int(con.execute(f"SELECT count(*) FROM staging.s{g}").fetchall()[0][0])
            return rows

        def commit_each() -> int:
            rows = 0
            columns = {g: ", ".join(f"\"{c[0]}\"" for c in con.execute(f"DESCRIBE k{g}").fetchall()) for g in range(len(self.groups))}
            for path, _schema in self.files:
                if path not in ranges:  # a file with no rows
                    continue
                g, first, last = ranges[path]
                con.begin()
                rows += int(con.execute(
                    f"INSERT INTO k{g} SELECT {columns[g]} FROM staging.s{g} WHERE rowid BETWEEN {first} AND {last}"
                ).fetchall()[0][0])
                con.commit()
            return rows

        self.timed("staged: one multi-file read_csv per header into memory", stage)
        self.timed("staged: then INSERT ... SELECT per file into the store, commit each", commit_each)
        self.checkpoint(con, db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "police_uk")
    parser.add_argument("--work", type=Path, default=ROOT / "bench-work")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    bench = Bench(_files(args.data), args.work)
    print(f"files: {len(bench.files)} CSVs under {args.data}, DuckDB {duckdb.__version__}, {os.cpu_count()} cores")
    print(f"  {'':62}{'rows':>11}{'wall s':>8}{'CPU s':>8}")
    for threads in (1, None):
        print(f"engine threads: {threads or 'default'}")
        bench.memory(threads)
        bench.store(threads)
    db = args.work / "floor.duckdb"
    for p in (db, Path(str(db) + ".wal")):
        p.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
