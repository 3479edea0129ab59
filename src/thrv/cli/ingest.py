"""`thrv ingest`: files in, every row stored or quarantined."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from thrv.cli._app import (
    DbOption,
    app,
    console,
    err,
    open_store,
)
from thrv.store.database import DEFAULT_DB


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
    mapping: Annotated[
        Path | None,
        typer.Option(help="Column mapping (TOML) from a force's own headings and codes to thrv's (docs/schema.md)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    partner: Annotated[
        str | None,
        typer.Option(help="The partner agency whose files these are: person records (identifiers go to the vault), area measures or incident records (docs/partner-data.md)."),
    ] = None,
    vault: Annotated[
        Path | None,
        typer.Option(help="Identifier vault for person records (default: DB.vault.duckdb beside the store)."),
    ] = None,
) -> None:
    """Load data.police.uk files (street, outcomes, stop and search) and force extracts.

    Every row read is stored or quarantined with its file, line and reason; the counts
    reconcile. Re-running is a no-op; a corrected version of a month replaces that month
    for that force. A file whose columns are not a known kind is refused (exit code 1)
    and nothing from it is stored.

    Example: `thrv ingest ~/Downloads/police-data.zip --db force.duckdb`

    Partner files: `thrv ingest people.csv --db force.duckdb --partner council`
    """
    from thrv.ingest import ingest as run_ingest
    from thrv.sources.files import SourceError
    from thrv.sources.mapping import MappingError, load_mapping

    try:
        columns: Any
        if partner is not None and mapping:  # a partner's mapping has its own sections
            from thrv.sources.partner_mapping import load_partner_mapping

            columns = load_partner_mapping(mapping)
        else:
            columns = load_mapping(mapping) if mapping else None
    except MappingError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    with open_store(db) as store:
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
                report = run_ingest(store, paths, force_name=force, reload=reload, on_file=on_file, mapping=columns,
                                    partner=partner, vault=vault)
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
            err.print(f"[red]refused:[/red] {escape(outcome.message)}", highlight=False, soft_wrap=True)
        elif outcome.rows_quarantined:
            console.print(
                f"[yellow]quarantined[/yellow] {outcome.rows_quarantined:,} of {outcome.rows_read:,} rows "
                f"in {outcome.name} (see `thrv quarantine`)"
            )
            for line in outcome.examples:
                console.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)
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
