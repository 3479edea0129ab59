"""The same pack on three engines, side by side: the DuckDB file, its Parquet export read by
DuckDB, and that Parquet read by Spark (local, 2 cores).

    python benchmarks/spark.py [--db STORE.duckdb] [--month 2025-12] [--work bench-work]
                               [--levels force,area,district] [--master local[2]]

Default store: the derived national store benchmarks/national.py builds in --work (about 30
million DERIVED rows; build it first). Each engine runs in a child process of its own
(``thrv pack`` as the command line runs it, writing pack.json and pack.csv), timed from
start to exit with its peak memory (Spark's JVM is a separate process: its memory is shown
from the JVM's own figure). The pack.csv files are then compared byte for byte.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import datetime as dt, json, resource, sys, time
from pathlib import Path
started = time.perf_counter()
from thrv.store.engines import connect
from thrv.indicators.pack import build_pack
from thrv.report.model import pack_model, CONTRACT_COLUMNS
from thrv.report.files import write_json, write_csv
target, month, out, levels = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4].split(",")
out.mkdir(parents=True, exist_ok=True)
jvm_mib = None
with connect(target) as store:
    opened = time.perf_counter() - started
    pack = build_pack(store, dt.date(int(month[:4]), int(month[5:]), 1), levels=levels)
    computed = time.perf_counter() - started
    if store.engine == "spark":
        rt = store.session.sparkContext._jvm.java.lang.Runtime.getRuntime()
        jvm_mib = (rt.totalMemory() - rt.freeMemory()) / 2**20
model = pack_model(pack)
write_json(model, out / "pack.json")
write_csv(model["rows"], out / "pack.csv", CONTRACT_COLUMNS)
rss = ([int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:")] or [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024])[0]  # VmHWM: this process alone (ru_maxrss after exec can carry the parent's peak)
print(json.dumps({"seconds": time.perf_counter() - started, "opened": opened, "computed": computed,
                  "rows": len(model["rows"]), "peak_mib": rss, "jvm_mib": jvm_mib}))
"""


def run(target: str, month: str, out: Path, levels: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run([sys.executable, "-c", CHILD, target, month, str(out), levels],
                            capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        raise SystemExit(f"{target}: pack failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, help="a DuckDB store (default: the national store in --work)")
    parser.add_argument("--month", default="2025-12")
    parser.add_argument("--work", type=Path, default=ROOT / "bench-work")
    parser.add_argument("--levels", default="force,area,district")
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    db = args.db or args.work / "national-60m.duckdb"
    if not db.exists():
        raise SystemExit(f"{db}: no such store (run benchmarks/national.py first, or give --db)")
    sys.path.insert(0, str(ROOT / "src"))
    from thrv.store.database import Store
    from thrv.store.export import DEFAULT_PARTITION_BY, export_parquet

    parquet = args.work / f"{db.stem}-parquet"
    manifest = parquet / "_thrv.json"
    layout = json.loads(manifest.read_text())["tables"].get("crimes", {}).get("partitioned_by") if manifest.exists() else None
    if layout != list(DEFAULT_PARTITION_BY):  # none yet, or one written with another layout
        with Store(db, read_only=True) as store:
            done = export_parquet(store, parquet, replace=True)
        files = sum(t.files for t in done.tables)
        print(f"exported {done.rows:,} rows to {parquet} in {done.seconds:.1f} s ({files:,} Parquet files)")
    load = os.getloadavg()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
          f"(1/5/15 min) at start; Python {platform.python_version()}")
    targets = {
        "duckdb file": str(db),
        "parquet (duckdb)": f"parquet://{parquet}",
        f"spark {args.master}": f"spark://{args.master}?path={parquet}",
    }
    results = {}
    for name, target in targets.items():
        started = time.perf_counter()
        results[name] = run(target, args.month, args.work / f"pack-{name.split()[0]}", args.levels)
        r = results[name]
        jvm = f", JVM heap used {r['jvm_mib']:,.0f} MiB" if r.get("jvm_mib") else ""
        print(f"{name:>18}: {r['seconds']:7.1f} s (open {r['opened']:.1f} s, figures {r['computed']:.1f} s), "
              f"{int(r['rows']):,} rows, peak {r['peak_mib']:,.0f} MiB{jvm}; wall {time.perf_counter() - started:.1f} s", flush=True)
    base = (args.work / "pack-duckdb" / "pack.csv").read_bytes()
    for name in list(targets)[1:]:
        other = (args.work / f"pack-{name.split()[0]}" / "pack.csv").read_bytes()
        print(f"pack.csv {name} vs duckdb file: {'identical' if other == base else 'DIFFERENT'} ({len(base):,} bytes)")
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")


if __name__ == "__main__":
    main()
