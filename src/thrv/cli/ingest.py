"""`thrv ingest`: files in, every row stored or quarantined."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from thrv.cli._app import DbOption, app, console, err
from thrv.store.database import DEFAULT_DB

#: per-file lines of one sort printed before the rest are summed up (--json lists every file)
MAX_LINES = 10
_SHARED = re.compile(r"^\d+ row\(s\) share a \w+ with a different row")


def _batch_rows(value: int | None) -> int | None:
    if value is not None and value < 1:
        raise typer.BadParameter(
            f"a batch holds at least 1 row, not {value} (e.g. --batch-rows 500000); "
            "leave it out for one transaction per file"
        )
    return value


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
    max_megabytes: Annotated[
        float | None,
        typer.Option(help="Largest CSV one file may decompress to, MB (default in config/ingest.toml: 2048).", show_default=False),
    ] = None,
    max_ratio: Annotated[
        float | None,
        typer.Option(help="Largest decompressed/compressed size ratio of a gzip file or zip member (default 200).", show_default=False),
    ] = None,
    wait: Annotated[
        float | None,
        typer.Option(help="Seconds to wait for a store another process holds open (default 15).", show_default=False),
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
    batch_rows: Annotated[
        int | None,
        typer.Option(
            "--batch-rows",
            metavar="N",
            callback=_batch_rows,
            help=(
                "Write several files in one transaction, committed once it holds at least N rows read "
                "(e.g. 500000): fewer commits, so faster on large sets. Each file is still stored whole or "
                "not at all, with the same rows, quarantine and log; but a process killed part-way loses the "
                "whole uncommitted batch (not only the file being written), as does Ctrl-C, and running the "
                "same command again stores it. Default: one transaction per file."
            ),
            show_default=False,
        ),
    ] = None,
) -> None:
    """Load data.police.uk files (street, outcomes, stop and search) and force extracts.

    Every row read is stored or quarantined with its file, line and reason; the counts
    reconcile. Re-running is a no-op; a corrected version of a month replaces that month
    for that force. A file that cannot be read (a broken archive or gzip stream, columns
    of no known kind, a month in its name that does not exist) is refused with a
    one-line reason, nothing from it is stored, the other files still load, and the exit
    code is 1. Ctrl-C stops cleanly: what was stored stays, and running the same command
    again resumes. Exit codes: 0 all stored, 1 some refused, 2 bad usage or the store
    cannot be opened, 130 interrupted.

    Example: `thrv ingest ~/Downloads/police-data.zip --db force.duckdb`

    Partner files: `thrv ingest people.csv --db force.duckdb --partner council`
    """
    from thrv.ingest import IngestInterrupted
    from thrv.ingest import ingest as run_ingest
    from thrv.sources.files import SourceError, load_limits, lock_wait_seconds
    from thrv.sources.mapping import MappingError, load_mapping
    from thrv.store.database import Store, StoreError, interrupts

    try:
        columns: Any
        if partner is not None and mapping:  # a partner's mapping has its own sections
            from thrv.sources.partner_mapping import load_partner_mapping

            columns = load_partner_mapping(mapping)
        else:
            columns = load_mapping(mapping) if mapping else None
        limits = load_limits(max_megabytes=max_megabytes, max_ratio=max_ratio)
    except (MappingError, ValueError) as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from exc
    if batch_rows is not None and partner is not None:
        err.print("[red]error:[/red] --batch-rows applies to police files and force extracts, not to --partner files "
                  "(each partner file is written in its own transactions)", highlight=False)
        raise typer.Exit(2)
    seconds = lock_wait_seconds() if wait is None else wait

    def waiting(message: str) -> None:
        err.print(f"{escape(message)}; waiting up to {seconds:.0f} s", highlight=False)

    try:
        with interrupts():
            store = Store(db, wait=seconds, on_wait=waiting)
    except StoreError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from exc
    except KeyboardInterrupt:
        err.print("interrupted while opening the store, before any file was read; nothing was stored", highlight=False)
        raise typer.Exit(130) from None
    with store:
        progress = Progress(
            TextColumn("[bold]ingest[/bold]"),
            BarColumn(),
            TextColumn("{task.fields[files]}"),
            TextColumn("{task.fields[rows]}"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            TextColumn("{task.description}"),
            console=err,
            transient=True,
            disable=as_json or not err.is_terminal,
        )
        with progress:
            task = progress.add_task("", total=None, files="", rows="")

            def on_file(source: Any, index: int, total: int) -> None:
                progress.update(task, description=escape(getattr(source, "basename", "")), files=f"{index}/{total} files")

            def on_progress(p: Any) -> None:
                progress.update(
                    task,
                    total=max(p.bytes_total, 1),
                    completed=p.bytes_done,
                    files=f"{p.files_done}/{p.files_total} files",
                    rows=f"{p.rows_read:,} rows",
                )

            try:
                report = run_ingest(
                    store, paths, force_name=force, reload=reload, on_file=on_file, mapping=columns,
                    limits=limits, on_progress=on_progress, partner=partner, vault=vault, batch_rows=batch_rows,
                )
            except (SourceError, StoreError) as exc:
                progress.stop()
                err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
                raise typer.Exit(2) from exc
            except IngestInterrupted as exc:
                progress.stop()
                done = exc.report
                stored = [f for f in done.files if f.status == "stored"]
                err.print(
                    f"interrupted: {len(stored)} of {done.total_files} file(s) stored "
                    f"({done.total('rows_stored'):,} rows) and {len(done.files) - len(stored)} skipped or refused "
                    "before Ctrl-C; the file being loaded was rolled back. Run the same command again to "
                    "resume: files already stored are skipped.",
                    highlight=False,
                    soft_wrap=True,
                )
                raise typer.Exit(130) from None
    if as_json:
        console.print_json(json.dumps({"files": [vars(f) for f in report.files], "seconds": report.seconds}))
    else:
        _print_ingest(report)
    if not report.ok:
        raise typer.Exit(1)


def _shown(lines: list[str], what: str) -> list[str]:
    if len(lines) <= MAX_LINES:
        return lines
    return [*lines[:MAX_LINES], f"... and {len(lines) - MAX_LINES:,} more {what} (thrv ingest --json lists every file)"]


def _print_ingest(report: object) -> None:
    from thrv.ingest import IngestReport

    assert isinstance(report, IngestReport)
    for outcome in report.files:
        if outcome.status == "refused":
            err.print(f"[red]refused:[/red] {escape(outcome.message)}", highlight=False, soft_wrap=True)
        elif outcome.rows_quarantined:
            console.print(
                f"[yellow]quarantined[/yellow] {outcome.rows_quarantined:,} of {outcome.rows_read:,} rows "
                f"in {escape(outcome.name)} (see `thrv quarantine`)",
                highlight=False,
            )
            for line in outcome.examples:
                console.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)
    skipped = [
        f.name if f.message == f"already ingested as {f.name}" else f"{f.name} ({f.message})"
        for f in report.files
        if f.status == "skipped"
    ]
    for line in _shown(skipped, "files already in the store"):
        console.print(f"already in the store: {line}", highlight=False, markup=False, soft_wrap=True)
    # a note every file shares (a policy, e.g. identical outcome rows kept) is said once
    by_text: dict[str, list[str]] = {}
    for outcome in report.files:
        for note in outcome.notes:
            by_text.setdefault(note, []).append(outcome.name)
    replaced: list[str] = []
    careful: list[str] = []
    other: list[str] = []
    sharing = [f for f in report.files if f.shared_ids]
    if len(sharing) > 3:
        biggest = max(sharing, key=lambda f: f.shared_ids)
        console.print(
            f"note: {sum(f.shared_ids for f in sharing):,} row(s) in {len(sharing):,} files share an identifier "
            f"(e.g. a Crime ID) with a different row; kept as published (most: {biggest.name}, {biggest.shared_ids:,})",
            highlight=False, markup=False, soft_wrap=True,
        )
    for text, names in by_text.items():
        if len(sharing) > 3 and _SHARED.match(text):
            continue
        if text.startswith("replaced "):
            replaced.extend(f"{n}: {text}" for n in names)
        elif text.startswith("read by the careful reader"):
            careful.extend(f"{n}: {text}" for n in names)
        elif len(names) > 1 and not re.match(r"^\d", text):
            console.print(f"note ({len(names):,} files): {text}", highlight=False, markup=False, soft_wrap=True)
        else:
            other.extend(f"{n}: {text}" for n in names)
    for line in _shown(replaced, "files that replaced earlier rows"):
        console.print(f"replaced: {line}", highlight=False, markup=False, soft_wrap=True)
    for line in _shown(other, "notes"):
        console.print(f"note: {line}", highlight=False, markup=False, soft_wrap=True)
    for line in _shown(careful, "files read by the careful reader"):
        console.print(f"note: {line}", highlight=False, markup=False, soft_wrap=True)
    by_status = {s: [f for f in report.files if f.status == s] for s in ("stored", "skipped", "refused")}
    read = report.total("rows_read")
    stored = report.total("rows_stored")
    quarantined = report.total("rows_quarantined")
    replaced_rows = report.total("rows_replaced")
    console.print(
        f"{len(report.files)} file(s): {len(by_status['stored'])} stored, "
        f"{len(by_status['skipped'])} already in the store, {len(by_status['refused'])} refused"
    )
    console.print(
        f"rows read {read:,} = stored {stored:,} + quarantined {quarantined:,}"
        + ("" if read == stored + quarantined else "  [red]DOES NOT RECONCILE[/red]")
        + (f"; {replaced_rows:,} older rows replaced" if replaced_rows else "")
    )
    if report.seconds > 0 and read:
        console.print(f"{read / report.seconds:,.0f} rows/s over {report.seconds:.1f} s")
