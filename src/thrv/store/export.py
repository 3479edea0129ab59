"""Copy a DuckDB store to a folder of Parquet tables, for Spark or any Parquet reader.

Layout (what :class:`~thrv.store.engines.ParquetStore` and ``spark://...?path=`` read)::

    DIR/_thrv.json                               manifest: tables, rows, partitions, source
    DIR/crimes/force=Kent%20Police/data_0.parquet
    DIR/ref_lsoa/data_0.parquet                  tables with no force: one file

A table is partitioned by ``force`` where it has one, so an engine reading a force opens
only its folder, and the rows inside are ordered by month: each Parquet row group then
holds a run of months, and its min/max statistics let DuckDB and Spark skip the months a
query does not ask for without a folder per month. Folders per force *and* month
(``partition_by=("force", "month")``, ``thrv export --partition-by force,month``) are
available, but at national scale they make thousands of files of a few hundred kilobytes
(12,393 for five years of 43 forces), which Spark lists, plans and opens one task each:
far slower than a few files per force. The partition columns are kept inside the files
too: every file is a complete, typed table, whoever reads it. Folder names are
percent-encoded by DuckDB and decoded by Spark.

The copy is written beside ``DIR`` and moved into place only when every table's row count
read back from the Parquet equals the store's, so a failed export never leaves a partial
folder where a complete one is expected.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from thrv import __version__
from thrv.store.database import SCHEMA_VERSION, Store
from thrv.store.engines import MANIFEST, EngineError, parse_target

PARTITION_COLUMNS = ("force", "month")  # the columns a table may be partitioned by
DEFAULT_PARTITION_BY = ("force",)
ORDER_COLUMNS = ("force", "month")  # rows are written in this order within a partition


@dataclass(frozen=True)
class ExportedTable:
    name: str
    rows: int
    files: int
    partitioned_by: tuple[str, ...]


@dataclass(frozen=True)
class ExportResult:
    path: Path
    tables: list[ExportedTable]
    seconds: float

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


def export_target(text: str) -> Path:
    """The folder of a ``--to`` value: ``parquet:///DIR`` or a plain folder path."""
    target = parse_target(text)
    if target.engine == "duckdb":  # a plain path: a folder
        return Path(target.path)
    if target.engine != "parquet":
        raise EngineError(f"{text}: export writes Parquet; give --to parquet:///DIR")
    return Path(target.path)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def partition_columns(text: str) -> tuple[str, ...]:
    """Parse ``--partition-by``: a comma-separated subset of force and month ('' for none)."""
    wanted = tuple(dict.fromkeys(c.strip() for c in text.split(",") if c.strip()))
    unknown = [c for c in wanted if c not in PARTITION_COLUMNS]
    if unknown:
        raise EngineError(f"--partition-by {text}: can partition by {' and/or '.join(PARTITION_COLUMNS)}, not {', '.join(unknown)}")
    return wanted


def export_parquet(
    store: Store, target: Path, replace: bool = False, partition_by: tuple[str, ...] = DEFAULT_PARTITION_BY,
) -> ExportResult:
    """Write every table of ``store`` under ``target`` (see the module docstring)."""
    started = time.perf_counter()
    if any(c not in PARTITION_COLUMNS for c in partition_by):
        raise EngineError(f"partition_by={partition_by!r}: choose among {PARTITION_COLUMNS}")
    target = target.expanduser().resolve()
    if target.exists() and any(target.iterdir()) and not replace:
        raise EngineError(f"{target}: folder exists and is not empty; use --replace to overwrite it")
    work = target.with_name(f".{target.name}.partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    con = store.con
    tables: list[ExportedTable] = []
    try:
        for name in store.tables():
            columns = [r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ? "
                "ORDER BY ordinal_position", [name]).fetchall()]
            parts = tuple(c for c in partition_by if c in columns)
            order = [c for c in ORDER_COLUMNS if c in columns]
            # a total order (every column after force and month), so the files do not depend
            # on how the engine's threads happened to interleave the rows
            order += [c for c in columns if c not in order]
            select = f"SELECT * FROM {_quote(name)} ORDER BY {', '.join(_quote(c) for c in order)}" if columns else ""
            rows = int(con.execute(f"SELECT count(*) FROM {_quote(name)}").fetchall()[0][0])
            folder = work / name
            if not rows:
                parts = ()
            if parts:
                nulls = con.execute(
                    f"SELECT count(*) FROM {_quote(name)} WHERE " + " OR ".join(f"{_quote(c)} IS NULL" for c in parts)
                ).fetchall()[0][0]
                if nulls:  # a folder cannot say NULL to every reader alike: keep such tables whole
                    parts = ()
            if parts:
                con.execute(
                    f"COPY ({select}) TO {_literal(folder)} (FORMAT parquet, "
                    f"PARTITION_BY ({', '.join(_quote(c) for c in parts)}), WRITE_PARTITION_COLUMNS true)"
                )
            else:  # also an empty table: a file with no rows keeps its columns and types
                folder.mkdir()
                con.execute(f"COPY ({select}) TO {_literal(folder / 'data_0.parquet')} (FORMAT parquet)")
            glob = _literal(folder / "**" / "*.parquet")
            back = int(con.execute(f"SELECT count(*) FROM read_parquet({glob}, hive_partitioning = false)").fetchall()[0][0])
            if back != rows:
                raise EngineError(f"{name}: {rows:,} rows in the store but {back:,} read back from {folder}")
            tables.append(ExportedTable(name, rows, sum(1 for _ in folder.rglob("*.parquet")), parts))
        manifest = {
            "format": "thrv parquet store",
            "schema_version": SCHEMA_VERSION,
            "thrv_version": __version__,
            "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "source": str(Path(store.path).resolve()),
            "tables": {t.name: {"rows": t.rows, "files": t.files, "partitioned_by": list(t.partitioned_by)} for t in tables},
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    old = target.with_name(f".{target.name}.old")
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    work.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return ExportResult(target, tables, time.perf_counter() - started)
