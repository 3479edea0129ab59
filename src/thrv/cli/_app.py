"""The ``thrv`` application object and what every command shares: options, messages, exits.

Every command takes ``--db`` (default ``./thrv.duckdb``). Exit codes: 0 success, 1 the
work ran but something was refused or failed a check, 2 bad usage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from thrv import __version__
from thrv.store.database import Store, StoreError

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
console = Console(stderr=False, soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[
    Path,
    typer.Option("--db", help="The store: a DuckDB file, created if missing.", show_default=True),
]
#: ``--db`` for commands that only read: the store must exist
ReadDbOption = Annotated[
    Path,
    typer.Option("--db", help="The store to read (a DuckDB file made by `thrv ingest`).", show_default=True),
]


def open_store(db: Path, read_only: bool = False) -> Store:
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


FormatOption = Annotated[
    str,
    typer.Option("--format", help="Comma-separated subset of html, pdf, xlsx (JSON and CSV are always written)."),
]


def progress_steps(label: str, total: int) -> tuple[Progress, Any]:
    progress = Progress(
        TextColumn(f"[bold]{label}[/bold]"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.description}"), TimeElapsedColumn(),
        console=err, transient=True, disable=not err.is_terminal,
    )
    return progress, progress.add_task("", total=total)


def optional_month(text: str | None, option: str) -> Any:
    from thrv.indicators.pack import parse_month

    if text is None:
        return None
    try:
        return parse_month(text)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {option}: {exc}")
        raise typer.Exit(2) from exc


def format_list(text: str) -> list[str]:
    from thrv.report.files import parse_formats

    try:
        return parse_formats(text)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


def report_written(paths: list[Path]) -> None:
    for path in paths:
        console.print(f"  wrote {path}")


def fmt_count(value: Any) -> str:
    return f"{int(value):,}"


def fmt_value(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def fmt_month(value: object) -> str:
    if value is None or str(value) in {"NaT", "nan", "None"}:
        return ""
    return str(value)[:7]
