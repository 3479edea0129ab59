"""`thrv export`: copy the store to a folder of partitioned Parquet, for Spark and other engines."""

from __future__ import annotations

from typing import Annotated

import typer

from thrv.cli._app import StoreOption, app, console, err, fmt_count, open_store
from thrv.store.database import DEFAULT_DB


@app.command()
def export(
    to: Annotated[str, typer.Option("--to", help="Where to write: parquet:///DIR (or a folder path).", show_default=False)],
    db: StoreOption = DEFAULT_DB,
    replace: Annotated[bool, typer.Option(help="Overwrite DIR when it already holds files.")] = False,
    partition_by: Annotated[str, typer.Option(
        "--partition-by", help="Folders per force (default), per force and month (force,month), or none ('').",
    )] = "force",
) -> None:
    """Write every table of a DuckDB store as Parquet under DIR, a folder per force.

    The folder is a store of its own for commands that only read: `thrv pack --db
    parquet:///DIR` (DuckDB reads it) or `thrv pack --db 'spark://local[2]?path=/DIR'` (Spark
    does), with the same figures. Rows are ordered by month inside each force's files, so
    engines skip unwanted months by the files' statistics; `--partition-by force,month` makes
    a folder per month as well (many small files at national scale: slower on Spark). The
    copy is moved into place only once every table's rows have been read back.

    Example: `thrv export --db force.duckdb --to parquet:///data/thrv-parquet`
    """
    from thrv.store.engines import EngineError
    from thrv.store.export import export_parquet, export_target, partition_columns

    try:
        folder = export_target(to)
        parts = partition_columns(partition_by)
    except EngineError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    with open_store(db, read_only=True) as store:
        if getattr(store, "engine", "") != "duckdb":
            err.print(f"[red]error:[/red] {db}: export copies a DuckDB store; this one is already {store.engine}")
            raise typer.Exit(2)
        try:
            result = export_parquet(store, folder, replace=replace, partition_by=parts)
        except EngineError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
    for t in result.tables:
        by = f", by {' and '.join(t.partitioned_by)}" if t.partitioned_by else ""
        console.print(f"  {t.name}: {fmt_count(t.rows)} rows in {fmt_count(t.files)} file(s){by}", highlight=False)
    console.print(f"exported {fmt_count(result.rows)} rows in {len(result.tables)} tables to parquet://{result.path} "
                  f"in {result.seconds:.1f} s")
