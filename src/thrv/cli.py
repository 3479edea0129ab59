"""The ``thrv`` command: small verbs over the library, with progress bars and clear exits.

Every command takes ``--db`` (default ``./thrv.duckdb``). Exit codes: 0 success, 1 the
work ran but something was refused or failed a check, 2 bad usage.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
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
console = Console(stderr=False, soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

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
    mapping: Annotated[
        Path | None,
        typer.Option(help="Column mapping (TOML) from a force's own headings and codes to thrv's (docs/schema.md)."),
    ] = None,
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
    from thrv.sources.mapping import MappingError, load_mapping

    try:
        columns = load_mapping(mapping) if mapping else None
    except MappingError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
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
                report = run_ingest(store, paths, force_name=force, reload=reload, on_file=on_file, mapping=columns)
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
        generated = int(getattr(row, "generated_rows", 0) or 0)
        table.add_row(
            str(row.table) + (" (GENERATED)" if generated and generated == row.rows else " (some generated)" if generated else ""),
            _count(row.rows),
            _fmt(getattr(row, "forces", "")),
            _fmt_month(getattr(row, "first_month", None)),
            _fmt_month(getattr(row, "last_month", None)),
        )
    console.print(table)
    if not st.coverage.empty:
        console.print("[bold]coverage by force[/bold] (a gap is a month missing between the first and the last)")
        for r in st.coverage.itertuples(index=False):
            console.print(
                f"  {r.table}: {r.force}: {r.months} months, {_fmt_month(r.first_month)} to "
                f"{_fmt_month(r.last_month)}, {_count(r.rows)} rows; gaps: {str(r.missing_months) or 'none'}",
                highlight=False,
            )
    if not st.quarantine.empty:
        q = Table(title="quarantined rows by reason")
        for col in ("kind", "reason", "rows"):
            q.add_column(col)
        for r in st.quarantine.head(15).itertuples(index=False):
            q.add_row(str(r.kind), str(r.reason), _count(r.rows))
        console.print(q)
    files = st.files
    if not files.empty:
        parts = [f"{_count(r.files)} {r.status}" for r in files.itertuples(index=False)]
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


FormatOption = Annotated[
    str,
    typer.Option("--format", help="Comma-separated subset of html, pdf, xlsx (JSON and CSV are always written)."),
]


def _steps(label: str, total: int) -> tuple[Progress, Any]:
    progress = Progress(
        TextColumn(f"[bold]{label}[/bold]"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.description}"), TimeElapsedColumn(),
        console=err, transient=True, disable=not err.is_terminal,
    )
    return progress, progress.add_task("", total=total)


@app.command()
def pack(
    month: Annotated[str, typer.Option(help="The pack month, YYYY-MM.", show_default=False)],
    out: Annotated[Path, typer.Option(help="Folder to write pack.json, pack.csv and the formats into.")] = Path("pack"),
    db: DbOption = Path(DEFAULT_DB),
    area: Annotated[
        str | None, typer.Option(help="A force (as published, e.g. 'Cambridgeshire Constabulary'), area or district.")
    ] = None,
    fmt: FormatOption = "html",
    levels: Annotated[str, typer.Option(help="Levels to include: any of force,area,district,lsoa.")] = "force,area,district,lsoa",
    indicators: Annotated[
        list[Path] | None, typer.Option(help="Indicator definition file(s) (TOML) instead of the defaults.")
    ] = None,
    areas: Annotated[Path | None, typer.Option(help="Area configuration (TOML) grouping districts into areas.")] = None,
    confidence: Annotated[float, typer.Option(help="Confidence level of every test and interval.")] = 0.95,
    baseline_end: Annotated[
        str | None, typer.Option(help="Fix the baseline to the 12 months ending YYYY-MM (default: the last March).")
    ] = None,
    public: Annotated[bool, typer.Option(help="Published view: suppress small numbers (see docs/disclosure.md).")] = False,
    suppression: Annotated[
        str, typer.Option(help="With --public: 'threshold' (counts 1-4 shown as <5) or 'ons_10_5' (under 10 hidden, rest rounded to 5).")
    ] = "threshold",
    threshold: Annotated[int, typer.Option(help="With --public --suppression threshold: the smallest count shown.")] = 5,
    spc_run: Annotated[int, typer.Option(help="SPC: points in a run or trend that signal special cause (6, 7 or 8).")] = 7,
    spc_rebase: Annotated[str | None, typer.Option(help="SPC: recompute limits from this month, YYYY-MM.")] = None,
) -> None:
    """Build the monthly performance pack: every indicator for the force, areas and districts.

    For the month: the same month 1, 2 and 3 years earlier, the 1- and 3-year monthly averages,
    the rolling 12 months and the baseline (by default the 12 months to the last March),
    each compared by a stated test (exact Poisson for counts, two-proportion for rates)
    and labelled Improved / Comparable / Deteriorated (or Higher / Lower), with a sentence
    saying what changed.

    Example: `thrv pack --month 2025-12 --area "Cambridgeshire Constabulary" --out pack/ --format html,pdf,xlsx`
    """
    from thrv.indicators.compare import CompareOptions
    from thrv.indicators.definitions import IndicatorError
    from thrv.indicators.hierarchy import AreaError
    from thrv.indicators.pack import build_pack, parse_month
    from thrv.report.files import parse_formats, write_pack
    from thrv.report.model import pack_model

    try:
        when = parse_month(month)
        formats = parse_formats(fmt)
        options = CompareOptions(
            confidence=confidence,
            baseline_end=parse_month(baseline_end) if baseline_end else None,
            spc_shift_length=spc_run,
            spc_trend_length=spc_run,
            spc_rebase=parse_month(spc_rebase) if spc_rebase else None,
        )
        level_list = [x.strip() for x in levels.split(",") if x.strip()]
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    progress, task = _steps("pack", 3 + len(formats))
    with _open(db, read_only=True) as store, progress:
        progress.update(task, description="computing indicators")
        try:
            built = build_pack(store, when, area, level_list, indicators, areas, options)
        except (IndicatorError, AreaError, ValueError) as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        progress.advance(task)
        model = pack_model(built)
        if public:
            from thrv.report.disclosure import DisclosureRule, public_model

            try:
                model = public_model(model, DisclosureRule(suppression, threshold))
            except ValueError as exc:
                err.print(f"[red]error:[/red] {exc}")
                raise typer.Exit(2) from exc
        progress.advance(task)

        def step(name: str) -> None:
            progress.update(task, description=f"writing {name}")
            progress.advance(task)

        written = write_pack(model, out, formats, public=public, progress=step)
    rows = model["rows"]
    counts = {lv: sum(1 for r in rows if r["area_level"] == lv) for lv in ("force", "area", "district", "lsoa")}
    console.print(
        f"pack for {month}: {len(built.indicators)} indicators, "
        + ", ".join(f"{n:,} {lv} rows" for lv, n in counts.items() if n)
    )
    for path in written:
        console.print(f"  wrote {path}")


def _optional_month(text: str | None, option: str) -> Any:
    from thrv.indicators.pack import parse_month

    if text is None:
        return None
    try:
        return parse_month(text)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {option}: {exc}")
        raise typer.Exit(2) from exc


def _formats(text: str) -> list[str]:
    from thrv.report.files import parse_formats

    try:
        return parse_formats(text)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _report_written(paths: list[Path]) -> None:
    for path in paths:
        console.print(f"  wrote {path}")


@app.command()
def assess(
    from_month: Annotated[str, typer.Option("--from", help="First month, YYYY-MM.", show_default=False)],
    to_month: Annotated[str, typer.Option("--to", help="Last month, YYYY-MM.", show_default=False)],
    out: Annotated[Path, typer.Option(help="Folder for assessment.json, the CSVs and the report.")] = Path("assessment"),
    db: DbOption = Path(DEFAULT_DB),
    area: Annotated[
        str | None, typer.Option(help="A force as published ('Cambridgeshire Constabulary') or a district.")
    ] = None,
    fmt: FormatOption = "html",
    priorities: Annotated[Path | None, typer.Option(help="MoRiLE-style scoring matrix (TOML) instead of the default.")] = None,
    h3_resolution: Annotated[int, typer.Option(help="Hexagon size for hot spots (H3 resolution; 8 ≈ 0.7 km²).")] = 8,
) -> None:
    """Strategic needs assessment: harm, trends and emerging issues, hot spots, vulnerability, priorities.

    Harm is weighted two ways (Cambridge Crime Harm Index and ONS Crime Severity Score);
    trends use seasonally adjusted tests; hot spots are Getis-Ord Gi* on an H3 hexagon grid
    with a Benjamini-Hochberg false-discovery correction; priorities are ranked by a
    MoRiLE-style matrix with every input shown and a ±20% sensitivity check. It runs on any
    period held, a single month included, and says what one month cannot show.

    Example: `thrv assess --from 2024-01 --to 2025-12 --area "Cambridgeshire Constabulary" --out assessment/`
    """
    from dataclasses import replace

    from thrv.assess import (
        AreaError,
        AssessConfig,
        HarmError,
        PriorityError,
        build_assessment,
        write_assessment,
    )

    first = _optional_month(from_month, "--from")
    last = _optional_month(to_month, "--to")
    formats = _formats(fmt)
    config = AssessConfig(h3_resolution=h3_resolution)
    if priorities:
        config = replace(config, priorities_file=priorities)
    progress, task = _steps("assess", 2)
    with _open(db, read_only=True) as store, progress:
        progress.update(task, description="computing the assessment")
        try:
            model = build_assessment(store, first, last, area, config)
        except (AreaError, HarmError, PriorityError, ValueError) as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        progress.advance(task)
        progress.update(task, description="writing the report")
        written = write_assessment(model, out, formats)
        progress.advance(task)
    top = model.get("priorities", [])[:3]
    if top:
        console.print("top priorities: " + "; ".join(f"{p.get('rank')}. {p.get('title', p.get('theme', ''))}" for p in top))
    _report_written(written)


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="Folder to write the generated extracts into.")] = Path("simulated"),
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 0,
    months: Annotated[int, typer.Option(help="Months of history to generate.")] = 36,
    end: Annotated[str | None, typer.Option(help="Last month, YYYY-MM (default: last full month).")] = None,
    force: Annotated[str, typer.Option(help="Force the extracts are for (its districts and LSOAs are used).")] = "Cambridgeshire Constabulary",
    scale: Annotated[float, typer.Option(help="Volume factor (1.0 = published national-average force volumes).")] = 1.0,
) -> None:
    """Write GENERATED force extracts (calls, incidents, recorded crimes, surveys) for demos and tests.

    No force publishes these records, so thrv generates them in the documented schemas,
    calibrated to published figures (docs/simulate.md), with seasonal, weekly and daily
    cycles. Every row says `generated=true` and every report marks figures computed from it.

    Example: `thrv simulate --out sim/ --seed 1 && thrv ingest sim/`
    """
    from thrv.demand import simulate as run

    written = run(out, seed=seed, months=months, end=_optional_month(end, "--end"), force=force, scale=scale)
    console.print(f"generated data (not real records) for {force}:")
    _report_written(written)


@app.command()
def demand(
    out: Annotated[Path, typer.Option(help="Folder for demand.json, the CSVs and the report.")] = Path("demand"),
    db: DbOption = Path(DEFAULT_DB),
    from_month: Annotated[str | None, typer.Option("--from", help="First month, YYYY-MM (default: all held).")] = None,
    to_month: Annotated[str | None, typer.Option("--to", help="Last month, YYYY-MM.")] = None,
    area: Annotated[str | None, typer.Option(help="A force or district.")] = None,
    fmt: FormatOption = "html",
) -> None:
    """Demand profile: volume by hour × weekday, by category and district; busiest hours; mix change.

    Uses the calls and incidents extracts when the store holds them, and recorded crime.
    """
    from thrv.demand import build_demand, write_demand

    formats = _formats(fmt)
    with _open(db, read_only=True) as store:
        try:
            model = build_demand(store, _optional_month(from_month, "--from"), _optional_month(to_month, "--to"), area)
        except ValueError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
    _report_written(write_demand(model, out, formats))


@app.command()
def forecast(
    out: Annotated[Path, typer.Option(help="Folder for forecast.json, forecast.csv, forecast_backtest.csv and the report.")] = Path("forecast"),
    db: DbOption = Path(DEFAULT_DB),
    horizon: Annotated[int, typer.Option(help="Months ahead (12 to 48).", min=1, max=48)] = 12,
    area: Annotated[str | None, typer.Option(help="A force or district.")] = None,
    scenarios: Annotated[Path | None, typer.Option(help="Scenario file (TOML): population growth, trend changes.")] = None,
    fast: Annotated[bool, typer.Option(help="Leave AutoARIMA out of the candidate models (much quicker).")] = False,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    fmt: FormatOption = "html",
) -> None:
    """Likely future demand with 80% and 95% prediction intervals, and the backtest behind it.

    For each monthly series (crime by type, force and district; incidents by category;
    calls by line) candidate models (AutoETS, AutoARIMA, seasonal naive) are compared by
    rolling-origin backtests and the one with the lowest MASE against a seasonal-naive
    forecast is used; the backtest table says where no model beats seasonal naive.
    """
    from thrv.demand import build_forecast, write_forecast

    formats = _formats(fmt)
    progress, task = _steps("forecast", 2)
    with _open(db, read_only=True) as store, progress:
        progress.update(task, description="backtests and forecasts")
        try:
            model = build_forecast(store, horizon=horizon, area=area, scenarios=scenarios, seed=seed, with_arima=not fast)
        except ValueError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        progress.advance(task)
        written = write_forecast(model, out, formats)
        progress.advance(task)
    _report_written(written)


user_app = typer.Typer(help="Manage dashboard users (passwords are stored only as salted hashes).", no_args_is_help=True)
app.add_typer(user_app, name="user")


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Option(help="analyst (everything), partner (aggregates only) or public (published view).")] = "analyst",
    db: DbOption = Path(DEFAULT_DB),
    users: Annotated[Path | None, typer.Option(help="Users file (default: <db>.users.json).")] = None,
    token: Annotated[bool, typer.Option(help="Also create an API token (printed once).")] = False,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")] = False,
) -> None:
    """Add or replace a user of `thrv serve`. There is no default user: add one first.

    Example: `thrv user add alice --role analyst --db force.duckdb`
    """
    from thrv.web.auth import AuthError, add_user, users_path_for

    path = users or users_path_for(db)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        new_token = add_user(path, name, role, password, with_token=token)
    except AuthError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"user {name} ({role}) saved in {path}")
    if new_token:
        console.print(f"API token (shown once): {new_token}")


@app.command()
def serve(
    db: DbOption = Path(DEFAULT_DB),
    host: Annotated[str, typer.Option(help="Address to listen on (localhost only by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    users: Annotated[Path | None, typer.Option(help="Users file (default: <db>.users.json).")] = None,
    audit: Annotated[Path | None, typer.Option(help="Audit log, JSON lines (default: <db>.audit.jsonl).")] = None,
    warm: Annotated[str | None, typer.Option(help="Months to build at start-up, e.g. 2025-11,2025-12 (default: the latest).")] = None,
) -> None:
    """Run the dashboard and REST API: choose area, month and indicator; download any format.

    Every request needs a signed-in user (`thrv user add` first); roles limit what each
    sees; every request is written to the audit log. The OpenAPI documentation is at /docs.
    """
    import uvicorn

    from thrv.web.app import create_app
    from thrv.web.auth import AuthError, users_path_for

    if not db.exists():
        err.print(f"[red]error:[/red] {db}: no such store; run `thrv ingest PATH --db {db}` first")
        raise typer.Exit(2)
    months = [m.strip() for m in warm.split(",")] if warm else ["latest"]
    try:
        web = create_app(
            db, users or users_path_for(db), audit or db.with_name(db.name + ".audit.jsonl"), warm=months
        )
    except AuthError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    if host not in {"127.0.0.1", "localhost", "::1"}:
        err.print(f"[yellow]warning:[/yellow] listening on {host}: put it behind TLS before exposing it")
    console.print(f"thrv dashboard on http://{host}:{port}/ (API docs at /docs)")
    uvicorn.run(web, host=host, port=port, log_level="warning")


def _count(value: Any) -> str:
    return f"{int(value):,}"


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
