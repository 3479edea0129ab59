"""Ingest speed on the whole real data set, beside a plain pandas load of the same files.

    python benchmarks/ingest.py [--data ../shared/data/police_uk] [--work bench-work]

thrv's ingest does more than a load: it hashes each file, checks every row (months,
coordinates, duplicates), quarantines bad rows with their line and text, and writes each
file in its own transaction. The pandas baseline only parses the CSVs into DataFrames
(`pd.read_csv(dtype=str)`), the least an analyst's script does. Both run in this process,
one after the other, on the same files; the figures printed are wall-clock seconds.
"""

from __future__ import annotations

import argparse
import platform
import resource
import shutil
import time
from pathlib import Path

import pandas as pd

from thrv.ingest import ingest
from thrv.sources.files import discover
from thrv.store.database import Store

ROOT = Path(__file__).resolve().parents[1]


def pandas_load(paths: list[Path]) -> tuple[int, float]:
    started = time.perf_counter()
    rows = 0
    for source in discover(paths):
        import gzip
        import io

        data = source.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        rows += len(pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False))
    return rows, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "police_uk")
    parser.add_argument("--work", type=Path, default=ROOT / "bench-work")
    args = parser.parse_args()
    if not args.data.exists():
        raise SystemExit(f"{args.data}: the real data set is not there; pass --data")
    args.work.mkdir(parents=True, exist_ok=True)
    db = args.work / "ingest-bench.duckdb"
    for p in (db, Path(str(db) + ".wal")):
        p.unlink(missing_ok=True)

    paths = [args.data]
    n_files = len(discover(paths))
    print(f"machine: {platform.machine()}, {shutil.os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"files: {n_files} CSVs under {args.data}")

    rows_pd, t_pd = pandas_load(paths)
    with Store(db) as store:
        started = time.perf_counter()
        report = ingest(store, paths)
        t_thrv = time.perf_counter() - started
        started = time.perf_counter()
        again = ingest(store, paths)
        t_again = time.perf_counter() - started
    read = report.total("rows_read")
    stored = report.total("rows_stored")
    quarantined = report.total("rows_quarantined")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print(f"{'':28}{'rows':>12}{'seconds':>10}{'rows/s':>12}")
    print(f"{'pandas read_csv (parse only)':28}{rows_pd:>12,}{t_pd:>10.1f}{rows_pd / t_pd:>12,.0f}")
    print(f"{'thrv ingest (checked, stored)':28}{read:>12,}{t_thrv:>10.1f}{read / t_thrv:>12,.0f}")
    print(f"{'thrv re-run (no-op)':28}{again.total('rows_read'):>12,}{t_again:>10.1f}")
    print()
    print(f"reconciliation: read {read:,} = stored {stored:,} + quarantined {quarantined:,} -> "
          f"{'OK' if read == stored + quarantined else 'MISMATCH'}")
    replaced = report.total("rows_replaced")
    print(f"rows replaced by a later version of the same force-month: {replaced:,}; "
          f"files skipped as already stored: {sum(f.status == 'skipped' for f in report.files)}")
    print(f"second run stored {again.total('rows_stored'):,} rows (expected 0)")
    print(f"thrv / pandas time: {t_thrv / t_pd:.2f}x; peak RSS of this process {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
