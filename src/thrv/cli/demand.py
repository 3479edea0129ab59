"""`thrv simulate`, `thrv demand` and `thrv forecast`: demand extracts, profile and forecasts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from thrv.cli._app import (
    FormatOption,
    ReadDbOption,
    app,
    console,
    err,
    format_list,
    open_store,
    optional_month,
    progress_steps,
    report_written,
)
from thrv.store.database import DEFAULT_DB


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="Folder to write the generated extracts into.")] = Path("simulated"),
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 0,
    months: Annotated[int, typer.Option(help="Months of history to generate.")] = 36,
    end: Annotated[str | None, typer.Option(help="Last month, YYYY-MM (default: last full month).")] = None,
    force: Annotated[str, typer.Option(help="Force the extracts are for (its districts and LSOAs are used).")] = "Cambridgeshire Constabulary",
    scale: Annotated[float, typer.Option(help="Volume factor (1.0 = published national-average force volumes).")] = 1.0,
    measures: Annotated[bool, typer.Option("--measures", help="Write only GENERATED plan measures (measures.csv: workforce, volunteers, call handling, surveys; docs/plan.md) instead of the extracts.")] = False,
) -> None:
    """Write GENERATED force extracts (calls, incidents, recorded crimes, surveys) for demos and tests.

    No force publishes these records, so thrv generates them in the documented schemas,
    calibrated to published figures (docs/simulate.md), with seasonal, weekly and daily
    cycles. Every row says `generated=true` and every report marks figures computed from it.

    Example: `thrv simulate --out sim/ --seed 1 && thrv ingest sim/`
    """
    if measures:  # the Police and Crime Plan's generic measures feed (thrv.plan.generate)
        from thrv.plan.generate import simulate_measures

        paths = simulate_measures(out, seed=seed, months=months, end=optional_month(end, "--end"), force=force)
        console.print(f"generated plan measures (not real figures) for {force}:")
        report_written(paths)
        return
    from thrv.demand import simulate as run

    written = run(out, seed=seed, months=months, end=optional_month(end, "--end"), force=force, scale=scale)
    console.print(f"generated data (not real records) for {force}:")
    report_written(written)


@app.command()
def demand(
    out: Annotated[Path, typer.Option(help="Folder for demand.json, the CSVs and the report.")] = Path("demand"),
    db: ReadDbOption = Path(DEFAULT_DB),
    from_month: Annotated[str | None, typer.Option("--from", help="First month, YYYY-MM (default: all held).")] = None,
    to_month: Annotated[str | None, typer.Option("--to", help="Last month, YYYY-MM.")] = None,
    area: Annotated[str | None, typer.Option(help="A force ('Cambridgeshire Constabulary' or 'Cambridgeshire') or a district.")] = None,
    fmt: FormatOption = "html",
) -> None:
    """Demand profile: volume by hour × weekday, by category and district; busiest hours; mix change.

    Uses the calls and incidents extracts when the store holds them, and recorded crime.

    Example: `thrv demand --db force.duckdb --from 2024-01 --to 2025-12 --area Cambridgeshire --out demand/`
    """
    from thrv.demand import build_demand, write_demand

    formats = format_list(fmt)
    with open_store(db, read_only=True) as store:
        try:
            model = build_demand(store, optional_month(from_month, "--from"), optional_month(to_month, "--to"), area)
        except ValueError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
    report_written(write_demand(model, out, formats))


@app.command()
def forecast(
    out: Annotated[Path, typer.Option(help="Folder for forecast.json, forecast.csv, forecast_backtest.csv and the report.")] = Path("forecast"),
    db: ReadDbOption = Path(DEFAULT_DB),
    horizon: Annotated[int, typer.Option(help="Months ahead (12 to 48).", min=1, max=48)] = 12,
    area: Annotated[str | None, typer.Option(help="A force ('Cambridgeshire Constabulary' or 'Cambridgeshire') or a district.")] = None,
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

    Example: `thrv forecast --db force.duckdb --horizon 24 --area Cambridgeshire --fast --out forecast/`
    """
    from thrv.demand import build_forecast, write_forecast

    formats = format_list(fmt)
    progress, task = progress_steps("forecast", 2)
    with open_store(db, read_only=True) as store, progress:
        progress.update(task, description="backtests and forecasts")
        try:
            model = build_forecast(store, horizon=horizon, area=area, scenarios=scenarios, seed=seed, with_arima=not fast)
        except ValueError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        progress.advance(task)
        written = write_forecast(model, out, formats)
        progress.advance(task)
    report_written(written)
