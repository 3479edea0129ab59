"""Engine round trips and rows pulled by one pack, beside the plain way, in the same run.

    python benchmarks/round_trips.py [--db STORE.duckdb] [--work bench-work] [--month 2025-12]

Default store: the demo store of ``make demo`` (the bundled real sample plus 24 GENERATED
months of force extracts, seed 1), built in --work if absent. Counts every query the pack
sends to the engine (Ibis's execute and to_pyarrow on DuckDB) and the rows each returns:

- thrv: the pack as it runs (one query per table and question; the monthly medians/P90s
  computed in the engine; the row values behind them pulled once per row, with a flag per
  filter, and only for the months the Mann-Whitney/bootstrap tests compare);
- all months: as before, every row value of the 48-month window pulled and the monthly
  medians/P90s computed from them in pandas;
- plain: as all months, with the values pulled by one query per indicator.

The pack.csv of all three is compared byte for byte. Run it with an older checkout's ``src``
first on PYTHONPATH to count that version (the plain variant needs this one's code).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def build_demo(db: Path) -> None:
    """The demo store, as ``make demo`` builds it."""
    thrv = [sys.executable, "-c", "from thrv.cli import app; app()"]
    generated = db.parent / "generated"
    for args in (["ingest", str(ROOT / "data" / "sample"), "--db", str(db)],
                 ["simulate", "--out", str(generated), "--months", "24", "--end", "2025-12", "--seed", "1"],
                 ["ingest", str(generated), "--db", str(db)]):
        subprocess.run([*thrv, *args], check=True, capture_output=True)


def count_pack(db: Path, month: str, variant: str, out: Path) -> dict[str, Any]:
    import ibis
    import ibis.backends.duckdb as duck
    import pandas as pd

    from thrv.indicators import aggregate
    from thrv.indicators import pack as pack_module
    from thrv.indicators.pack import build_pack
    from thrv.report.files import write_csv
    from thrv.report.model import CONTRACT_COLUMNS, pack_model
    from thrv.store.engines import connect
    from thrv.web.builds import LEVELS

    seen = {"queries": 0, "rows": 0}
    originals = {name: getattr(duck.Backend, name) for name in ("execute", "to_pyarrow")}

    def wrap(method: Any) -> Any:
        def run(self: Any, expr: Any, *args: Any, **kwargs: Any) -> Any:
            seen["queries"] += 1
            result = method(self, expr, *args, **kwargs)
            seen["rows"] += len(result) if hasattr(result, "__len__") else 1
            return result
        return run

    def per_indicator(t: Any, indicators: Any, has_lsoa: bool) -> Any:
        parts = []
        for ind in indicators:
            v = t.filter(aggregate._predicate(t, ind.where) & t[ind.value].notnull())
            df = v.select(indicator=ibis.literal(ind.id), force=v.force,
                          lsoa_code=v.lsoa_code if has_lsoa else ibis.null().cast("string"),
                          month=v.month, value=v[ind.value].cast("float64")).to_pandas()
            df["month"] = pd.to_datetime(df["month"]).dt.date
            parts.append(df)
        if not parts:
            return None
        df = pd.concat(parts, ignore_index=True)
        keys = ["indicator", "force", "lsoa_code", "month", "value"]
        return df.sort_values(keys, kind="stable", na_position="last").reset_index(drop=True)

    for name, method in originals.items():
        setattr(duck.Backend, name, wrap(method))
    saved = (aggregate._row_values, pack_module.compared_months, pack_module.places_of)
    if variant != "thrv":  # every month's values, medians in pandas
        pack_module.compared_months = lambda *a: None  # type: ignore[assignment]
        pack_module.places_of = lambda *a: None  # type: ignore[assignment]
    if variant == "plain":
        aggregate._row_values = per_indicator  # type: ignore[attr-defined]
    started = time.perf_counter()
    with connect(db) as store:
        pack = build_pack(store, dt.date(int(month[:4]), int(month[5:]), 1), levels=LEVELS)
    seconds = time.perf_counter() - started
    for name, method in originals.items():
        setattr(duck.Backend, name, method)
    aggregate._row_values, pack_module.compared_months, pack_module.places_of = saved  # type: ignore[assignment]
    model = pack_model(pack)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(model["rows"], out / "pack.csv", CONTRACT_COLUMNS)
    return {**seen, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--work", type=Path, default=ROOT / "bench-work")
    parser.add_argument("--month", default="2025-12")
    args = parser.parse_args()
    db = args.db or args.work / "demo" / "thrv.duckdb"
    if not db.exists():
        db.parent.mkdir(parents=True, exist_ok=True)
        build_demo(db)
    print(f"store {db}, pack {args.month} at force, area and district; load average {os.getloadavg()[0]:.1f}")
    results = {}
    from thrv.indicators import pack as pack_module

    variants = ["thrv", "all months", "plain"] if hasattr(pack_module, "compared_months") else ["thrv"]
    for variant in variants:
        # each variant in this process, one after the other (the counts do not depend on timing)
        results[variant] = count_pack(db, args.month, variant, args.work / f"rt-{variant.replace(' ', '-')}")
        r = results[variant]
        print(f"{variant:10s} {r['queries']:4d} round trips  {r['rows']:>10,} rows pulled  {r['seconds']:6.1f} s")
    if len(results) > 1:
        first = (args.work / "rt-thrv" / "pack.csv").read_bytes()
        same = all((args.work / f"rt-{v.replace(' ', '-')}" / "pack.csv").read_bytes() == first for v in variants[1:])
        print(f"pack.csv identical: {same}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
