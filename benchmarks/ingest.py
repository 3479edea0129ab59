"""Ingest speed on the whole real data set, beside DuckDB's own read_csv of the same files.

    python benchmarks/ingest.py [--data ../shared/data/police_uk] [--work bench-work]

thrv's ingest does more than a load: it hashes each file, checks every row (types, months,
coordinates, duplicates), quarantines bad rows with their line and text, derives each
row's district, replaces earlier versions of the same force-month and writes each file in
its own transaction. The baselines are DuckDB reading the same files (as they are on
disk, gzip included) one at a time with an explicit schema (the columns typed as read_csv
can type them: coordinates DOUBLE, stop and search dates TIMESTAMPTZ, the rest VARCHAR),
with nothing checked:

- ``read_csv count(*)``: the parse alone (DuckDB need not build the values);
- ``read_csv -> table``: every value read into an in-memory table (``CREATE TABLE AS``),
  the usual meaning of "DuckDB's read_csv rows/s" and the figure thrv is held to;
- ``read_csv -> store``: the same into a DuckDB file, one committed transaction per file,
  checkpointed once at the end (a load as durable as thrv's, nothing checked).

Each baseline runs with DuckDB's default threads and with one thread (thrv's setting: one
engine thread while the ingest loop decompresses the next files on the other core); the
faster is the baseline. They run before and after thrv and both are printed: the machine
may be shared, so compare figures from the same run (the load average is printed at each
step). Wall-clock seconds throughout; CPU seconds of this process beside them (less
disturbed by other work on a shared machine).

The figure asked of thrv is its rows/s as a share of ``read_csv -> table`` (the raw,
in-memory read of the same files with an explicit schema); the summary also prints its
share of the equally durable load and that load's own share of the in-memory read, which
bounds any ingest that commits each file to a DuckDB file. For a quick run pass one
folder, e.g. ``--data ../shared/data/police_uk/all_forces/2025-10`` (39 files).
``--batch-rows N`` also times the opt-in batched ingest (a transaction per batch of at least
N rows read) in the same run. ``benchmarks/ingest_floor.py`` takes the durable load apart.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
from pathlib import Path
from typing import Any

import duckdb

from thrv.ingest import ingest
from thrv.sources.files import discover, load
from thrv.sources.kinds import kind_from_filename
from thrv.sources.registry import all_kinds
from thrv.store.database import Store

ROOT = Path(__file__).resolve().parents[1]
READ_CSV_TYPES = {"longitude": "DOUBLE", "latitude": "DOUBLE", "float": "DOUBLE", "timestamp": "TIMESTAMPTZ"}


def _files(data: Path) -> list[tuple[str, str]]:
    """(path, explicit schema) for every CSV under ``data``, each read as data.police.uk names it."""
    out = []
    for source in discover([data]):
        found = kind_from_filename(source.basename, all_kinds())
        if found is None:
            raise SystemExit(f"{source.name}: not a data.police.uk file name")
        header = load(source)[:4096].split(b"\n", 1)[0].decode("utf-8-sig").strip().split(",")
        kind = found[0]
        by_heading = {c.source: c for c in kind.columns}
        types = {h: READ_CSV_TYPES.get(by_heading[h].type, "VARCHAR") if h in by_heading else "VARCHAR" for h in header}
        schema = "{" + ", ".join(f"'{h}': '{t}'" for h, t in types.items()) + "}"
        out.append((source.name, schema))
    return out


def _read_csv(path: str, schema: str) -> str:
    escaped = path.replace("'", "''")
    return f"read_csv('{escaped}', header = true, auto_detect = false, columns = {schema}, ignore_errors = true)"


def _load() -> str:
    """The load averages (1, 5, 15 minutes): other work on the machine, beside each figure."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "load average unknown"
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def _timed(run: Any) -> tuple[int, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    rows = run()
    return rows, time.perf_counter() - wall, time.process_time() - cpu


def _best(a: tuple[int, float, float], b: tuple[int, float, float]) -> tuple[int, float, float]:
    return a if a[1] <= b[1] else b


def duckdb_baselines(files: list[tuple[str, str]], work: Path) -> dict[str, tuple[int, float, float]]:
    """(rows, wall seconds, CPU seconds) for each way DuckDB reads the files (best of 2 thread settings)."""
    out: dict[str, tuple[int, float, float]] = {}
    for threads in (None, 1):
        con = duckdb.connect()
        if threads:
            con.execute(f"SET threads = {threads}")

        def count(con: duckdb.DuckDBPyConnection = con) -> int:
            return sum(int(con.execute(f"SELECT count(*) FROM {_read_csv(p, s)}").fetchall()[0][0]) for p, s in files)

        def table(con: duckdb.DuckDBPyConnection = con) -> int:
            rows = 0
            for i, (path, schema) in enumerate(files):
                con.execute(f"CREATE OR REPLACE TABLE t{i % 2} AS SELECT * FROM {_read_csv(path, schema)}")
                rows += int(con.execute(f"SELECT count(*) FROM t{i % 2}").fetchall()[0][0])
            return rows

        for label, run in (("read_csv count(*)", count), ("read_csv -> table", table)):
            result = _timed(run)
            out[label] = _best(out[label], result) if label in out else result
        con.close()
        db = work / "raw-load.duckdb"
        for p in (db, Path(str(db) + ".wal")):
            p.unlink(missing_ok=True)
        con = duckdb.connect(str(db))
        if threads:
            con.execute(f"SET threads = {threads}")
        con.execute("SET checkpoint_threshold = '4GB'")

        def store(con: duckdb.DuckDBPyConnection = con) -> int:
            rows = 0
            for i, (path, schema) in enumerate(files):
                con.begin()
                con.execute(f"CREATE TABLE f{i} AS SELECT * FROM {_read_csv(path, schema)}")
                rows += int(con.execute(f"SELECT count(*) FROM f{i}").fetchall()[0][0])
                con.commit()
            con.execute("CHECKPOINT")
            return rows

        result = _timed(store)
        out["read_csv -> store"] = _best(out["read_csv -> store"], result) if "read_csv -> store" in out else result
        con.close()
        for p in (db, Path(str(db) + ".wal")):
            p.unlink(missing_ok=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "police_uk")
    parser.add_argument("--work", type=Path, default=ROOT / "bench-work")
    parser.add_argument(
        "--batch-rows", type=int, default=0,
        help="also time the opt-in batched ingest (a transaction per batch of at least this many rows) in the same run",
    )
    args = parser.parse_args()
    if not args.data.exists():
        raise SystemExit(f"{args.data}: the real data set is not there; pass --data")
    args.work.mkdir(parents=True, exist_ok=True)
    db = args.work / "ingest-bench.duckdb"
    for p in (db, Path(str(db) + ".wal")):
        p.unlink(missing_ok=True)

    files = _files(args.data)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, DuckDB {duckdb.__version__}")
    print(f"files: {len(files)} CSVs under {args.data}")
    print(f"baselines (before), {_load()}", flush=True)
    before = duckdb_baselines(files, args.work)
    print(f"thrv ingest, {_load()}", flush=True)
    with Store(db) as store:
        wall, cpu = time.perf_counter(), time.process_time()
        report = ingest(store, [args.data])
        t_thrv, c_thrv = time.perf_counter() - wall, time.process_time() - cpu
        started = time.perf_counter()
        again = ingest(store, [args.data])
        t_again = time.perf_counter() - started
    batched: tuple[float, float, int] | None = None
    if args.batch_rows:
        print(f"thrv ingest, batch_rows={args.batch_rows:,}, {_load()}", flush=True)
        for p in (db, Path(str(db) + ".wal")):
            p.unlink(missing_ok=True)
        with Store(db) as store:
            wall, cpu = time.perf_counter(), time.process_time()
            in_batches = ingest(store, [args.data], batch_rows=args.batch_rows)
            batched = (time.perf_counter() - wall, time.process_time() - cpu, in_batches.total("rows_read"))
            same = (in_batches.total("rows_stored"), in_batches.total("rows_quarantined")) == (
                report.total("rows_stored"), report.total("rows_quarantined"))
            print(f"  batched ingest stored and quarantined the same rows as one transaction per file: {same}")
    print(f"baselines (after), {_load()}", flush=True)
    after = duckdb_baselines(files, args.work)
    print(f"done, {_load()}", flush=True)

    read = report.total("rows_read")
    stored = report.total("rows_stored")
    quarantined = report.total("rows_quarantined")
    # thrv's rows are the rows it read: it skips (and does not count) files whose content it
    # already stored, so its rate is per row read, like DuckDB's
    thrv_rate = read / t_thrv
    print()
    print(f"{'':36}{'rows':>11}{'seconds':>9}{'rows/s':>11}{'thrv %':>8}{'CPU s':>8}{'rows/CPU s':>12}{'thrv %':>8}")
    for label in before:
        for run, figures in (("before", before), ("after", after)):
            rows, seconds, cpu_s = figures[label]
            rate, cpu_rate = rows / seconds, rows / cpu_s
            print(
                f"{'DuckDB ' + label + ' (' + run + ')':36}{rows:>11,}{seconds:>9.1f}{rate:>11,.0f}"
                f"{100 * thrv_rate / rate:>7.0f}%{cpu_s:>8.1f}{cpu_rate:>12,.0f}{100 * (read / c_thrv) / cpu_rate:>7.0f}%"
            )
    print(f"{'thrv ingest (checked, stored)':36}{read:>11,}{t_thrv:>9.1f}{thrv_rate:>11,.0f}{'':8}{c_thrv:>8.1f}{read / c_thrv:>12,.0f}")
    if batched is not None:
        b_wall, b_cpu, b_rows = batched
        label = f"thrv, batches >= {args.batch_rows:,} rows"
        print(f"{label:36}{b_rows:>11,}{b_wall:>9.1f}{b_rows / b_wall:>11,.0f}{'':8}{b_cpu:>8.1f}{b_rows / b_cpu:>12,.0f}")
    print(f"{'thrv re-run (no-op)':36}{again.total('rows_read'):>11,}{t_again:>9.1f}")
    print()
    print(f"reconciliation: read {read:,} = stored {stored:,} + quarantined {quarantined:,} -> "
          f"{'OK' if read == stored + quarantined else 'MISMATCH'}")
    replaced = report.total("rows_replaced")
    skipped = [f for f in report.files if f.status == "skipped"]
    print(f"rows replaced by a later version of the same force-month: {replaced:,}; "
          f"files skipped as already stored: {len(skipped)} ({sum(1 for _ in skipped)} duplicate contents)")
    careful = [f for f in report.files if f.careful]
    print(f"files read by the careful reader instead of the engine: {len(careful)}"
          + "".join(f"\n  {f.name}: {f.careful}" for f in careful[:10]))
    print(f"second run stored {again.total('rows_stored'):,} rows (expected 0)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process {peak:,.0f} MiB")
    print()
    _summary(read, t_thrv, c_thrv, before, after)
    if batched is not None:
        b_wall, b_cpu, b_rows = batched
        memory = [r["read_csv -> table"] for r in (before, after)]
        print(f"  batched (batch_rows={args.batch_rows:,}): {_share(b_rows / b_wall, memory, False)} wall, "
              f"{_share(b_rows / b_cpu, memory, True)} CPU of the in-memory read; "
              f"{t_thrv / b_wall:.2f}x the speed of one transaction per file")


def _share(thrv: float, figures: list[tuple[int, float, float]], cpu: bool) -> str:
    """thrv's rate as the lowest and highest share of a baseline's runs (before, after)."""
    shares = sorted(100 * thrv / (rows / (c if cpu else w)) for rows, w, c in figures)
    return f"{shares[0]:.0f}%" if round(shares[0]) == round(shares[-1]) else f"{shares[0]:.0f}-{shares[-1]:.0f}%"


def _summary(read: int, seconds: float, cpu: float, *runs: dict[str, tuple[int, float, float]]) -> None:
    """The figures the target is about, in one place: thrv's rows/s as a share of DuckDB's."""
    memory = [r["read_csv -> table"] for r in runs]
    durable = [r["read_csv -> store"] for r in runs]
    wall, per_cpu = read / seconds, read / cpu
    print(f"thrv ingest: {wall:,.0f} rows/s wall, {per_cpu:,.0f} rows per CPU second")
    for label, figures in (
        ("raw read_csv into memory, explicit schema (the target: >= 50%)", memory),
        ("read_csv into a store file, a transaction per file (as durable)", durable),
    ):
        print(f"  thrv as a share of {label}: {_share(wall, figures, False)} wall, {_share(per_cpu, figures, True)} CPU")
    ceiling = sorted(100 * (d[0] / d[1]) / (m[0] / m[1]) for d, m in zip(durable, memory, strict=True))
    print(f"  DuckDB's own durable load as a share of its in-memory read: {ceiling[0]:.0f}-{ceiling[-1]:.0f}% wall "
          "(what committing each file to a DuckDB file costs, before any check)")


if __name__ == "__main__":
    main()
