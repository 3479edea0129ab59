"""The ``thrv`` command: small verbs over the library, with progress bars and clear exits.

Every command takes ``--db`` (default ``./thrv.duckdb``). Exit codes: 0 success, 1 the
work ran but something was refused or failed a check, 2 bad usage.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from thrv import __version__
from thrv.store.database import DEFAULT_DB, Store, StoreError

app = typer.Typer(
    name="thrv",
    help=(
        "Police performance packs, strategic needs assessments and multi-agency insight "
        "from police and partner records.\n\n"
        "Typical session:\n\n"
        "  thrv ingest data/sample            # load data.police.uk CSVs, folders or zips\n\n"
        "  thrv status                        # what is stored, gaps, quarantined rows\n\n"
        "  thrv pack --month 2025-12 --out pack/   # the monthly performance pack\n\n"
        "Every command reads and writes the store given by --db (default ./thrv.duckdb)."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    pretty_exceptions_show_locals=False,
)
console = Console(stderr=False)
err = Console(stderr=True)

DbOption = Annotated[
    Path,
    typer.Option("--db", help="The store: a DuckDB file, created if missing.", show_default=True),
]


def _open(db: Path, read_only: bool = False) -> Store:
    if read_only and not db.exists():
        err.print(f"[red]error:[/red] {db}: no such store; run `thrv ingest PATH --db {db}` first")
        raise typer.Exit(2)
    try:
        return Store(db, read_only=read_only)
    except StoreError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _version(value: bool) -> None:
    if value:
        console.print(f"thrv {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """thrv: from police records to board-ready analysis."""


@app.command()
def ingest(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="CSV files (plain or .csv.gz), folders (searched recursively) or zip archives.",
            show_default=False,
        ),
    ],
    db: DbOption = Path(DEFAULT_DB),
    force: Annotated[
        str | None,
        typer.Option(help="Force name for files that do not say it (stop and search files not named by data.police.uk)."),
    ] = None,
    reload: Annotated[
        bool, typer.Option(help="Re-apply files whose content is already stored (e.g. to restore an older version).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Load data.police.uk files (street, outcomes, stop and search) and force extracts.

    Every row read is stored or quarantined with its file, line and reason; the counts
    reconcile. Re-running is a no-op; a corrected version of a month replaces that month
    for that force. A file whose columns are not a known kind is refused (exit code 1)
    and nothing from it is stored.

    Example: `thrv ingest ~/Downloads/police-data.zip --db force.duckdb`
    """
    from thrv.ingest import ingest as run_ingest
    from thrv.sources.files import SourceError

    with _open(db) as store:
        progress = Progress(
            TextColumn("[bold]ingest[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=as_json or not err.is_terminal,
        )
        with progress:
            task = progress.add_task("", total=None)

            def on_file(source: object, index: int, total: int) -> None:
                progress.update(task, total=total, completed=index, description=getattr(source, "basename", ""))

            try:
                report = run_ingest(store, paths, force_name=force, reload=reload, on_file=on_file)
            except SourceError as exc:
                err.print(f"[red]error:[/red] {exc}")
                raise typer.Exit(2) from exc
    if as_json:
        console.print_json(json.dumps({"files": [vars(f) for f in report.files], "seconds": report.seconds}))
    else:
        _print_ingest(report)
    if not report.ok:
        raise typer.Exit(1)


def _print_ingest(report: object) -> None:
    from thrv.ingest import IngestReport

    assert isinstance(report, IngestReport)
    for outcome in report.files:
        if outcome.status == "refused":
            err.print(f"[red]refused:[/red] {outcome.message}")
        elif outcome.rows_quarantined:
            console.print(
                f"[yellow]quarantined[/yellow] {outcome.rows_quarantined:,} of {outcome.rows_read:,} rows "
                f"in {outcome.name} (see `thrv quarantine`)"
            )
    by_status = {s: [f for f in report.files if f.status == s] for s in ("stored", "skipped", "refused")}
    read = report.total("rows_read")
    stored = report.total("rows_stored")
    quarantined = report.total("rows_quarantined")
    replaced = report.total("rows_replaced")
    console.print(
        f"{len(report.files)} file(s): {len(by_status['stored'])} stored, "
        f"{len(by_status['skipped'])} already in the store, {len(by_status['refused'])} refused"
    )
    console.print(
        f"rows read {read:,} = stored {stored:,} + quarantined {quarantined:,}"
        + ("" if read == stored + quarantined else "  [red]DOES NOT RECONCILE[/red]")
        + (f"; {replaced:,} older rows replaced" if replaced else "")
    )
    if report.seconds > 0 and read:
        console.print(f"{read / report.seconds:,.0f} rows/s over {report.seconds:.1f} s")


@app.command()
def status(db: DbOption = Path(DEFAULT_DB)) -> None:
    """Show what the store holds: rows by table, force and month, gaps, quarantine.

    A gap is a month missing between a force's first and last month in a table, e.g.
    Northumbria's 2022-01 in the bundled real data.
    """
    from thrv.store.status import store_status

    with _open(db, read_only=True) as store:
        st = store_status(store)
    table = Table(title=f"thrv store {db}")
    for col in ("table", "rows", "forces", "first month", "last month"):
        table.add_column(col, justify="right" if col in {"rows", "forces"} else "left")
    for row in st.tables.itertuples(index=False):
        table.add_row(
            str(row.table),
            f"{int(row.rows):,}",
            _fmt(getattr(row, "forces", "")),
            _fmt_month(getattr(row, "first_month", None)),
            _fmt_month(getattr(row, "last_month", None)),
        )
    console.print(table)
    if not st.coverage.empty:
        cov = Table(title="coverage by force")
        for col in ("table", "force", "months", "first", "last", "rows", "missing months"):
            cov.add_column(col)
        for r in st.coverage.itertuples(index=False):
            cov.add_row(
                str(r.table), str(r.force), str(r.months), _fmt_month(r.first_month), _fmt_month(r.last_month),
                f"{int(r.rows):,}", str(r.missing_months) or "none",
            )
        console.print(cov)
    if not st.quarantine.empty:
        q = Table(title="quarantined rows by reason")
        for col in ("kind", "reason", "rows"):
            q.add_column(col)
        for r in st.quarantine.head(15).itertuples(index=False):
            q.add_row(str(r.kind), str(r.reason), f"{int(r.rows):,}")
        console.print(q)
    files = st.files
    if not files.empty:
        parts = [f"{int(r.files)} {r.status}" for r in files.itertuples(index=False)]
        console.print("files: " + ", ".join(parts) + ("; rows reconcile" if st.reconciled else "; [red]rows do not reconcile[/red]"))


@app.command()
def quarantine(
    db: DbOption = Path(DEFAULT_DB),
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 20,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Write every quarantined row to this CSV.")] = None,
) -> None:
    """List quarantined rows with file, line, reason and the raw text, to fix at source."""
    with _open(db, read_only=True) as store:
        df = store.df("SELECT file, line, reason, raw FROM quarantine ORDER BY ingest_id, line")
    if csv_out:
        df.to_csv(csv_out, index=False)
        console.print(f"wrote {len(df):,} rows to {csv_out}")
        return
    for r in df.head(limit).itertuples(index=False):
        console.print(f"{r.file}:{r.line}: {r.reason}\n    {r.raw}", highlight=False, markup=False)
    if len(df) > limit:
        console.print(f"... {len(df) - limit:,} more (use --limit or --csv)")


def _fmt(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def _fmt_month(value: object) -> str:
    if value is None or str(value) in {"NaT", "nan", "None"}:
        return ""
    return str(value)[:7]


def run() -> None:  # pragma: no cover - console entry point wrapper
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
