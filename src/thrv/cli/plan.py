"""`thrv plan`: the Police and Crime Plan on a page, and a check that every indicator resolves."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from thrv.cli._app import DbOption, app, console, err, open_store, report_written
from thrv.store.database import DEFAULT_DB

PlanOption = Annotated[Path, typer.Option("--plan", help="The plan file (TOML, or YAML): themes, outcomes, aims, priorities, indicators.", show_default=False)]
MonthOption = Annotated[str, typer.Option(help="The month to report, YYYY-MM.", show_default=False)]


def load_or_exit(path: Path) -> Any:
    """The plan, or every problem in it printed and exit 2."""
    from thrv.plan.spec import PlanError, load_plan

    try:
        return load_plan(path)
    except PlanError as exc:
        for problem in exc.problems:
            err.print(f"[red]error:[/red] {problem}", highlight=False, markup=True)
        raise typer.Exit(2) from exc


def figures_or_exit(store: Any, plan: Any, month: str, confidence: float) -> Any:
    from thrv.indicators.compare import CompareOptions
    from thrv.indicators.definitions import IndicatorError
    from thrv.indicators.pack import parse_month
    from thrv.plan.figures import build_plan_figures
    from thrv.plan.spec import PlanError

    try:
        when = parse_month(month)
        return build_plan_figures(store, plan, when, CompareOptions(confidence=confidence))
    except PlanError as exc:
        for problem in exc.problems:
            err.print(f"[red]error:[/red] {problem}", highlight=False)
        raise typer.Exit(2) from exc
    except (IndicatorError, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from exc


def report_unresolved(figures: Any, themes: Any = None) -> None:
    """List the indicators (of ``themes``, default all) that did not resolve and exit 1.

    The files are already written: an unresolved indicator is shown there with its reason.
    """
    keys = None if themes is None else {i.key for t in themes for i in t.all_indicators()}
    missing = [u for u in figures.unresolved if keys is None or u["key"] in keys]
    if not missing:
        return
    err.print(f"[red]{len(missing)} plan indicator(s) do not resolve:[/red]")
    for u in missing:
        err.print(f"  {u['where']}: {u['problem']}", highlight=False, markup=False)
    raise typer.Exit(1)


@app.command()
def plan(
    plan_file: PlanOption,
    month: Annotated[str | None, typer.Option(help="The month to report, YYYY-MM (not needed with --check).", show_default=False)] = None,
    out: Annotated[Path, typer.Option(help="Folder to write plan.json and plan.html into.")] = Path("plan"),
    db: DbOption = Path(DEFAULT_DB),
    fmt: Annotated[str, typer.Option("--format", help="Comma-separated subset of html, pdf, xlsx (plan.json is always written).")] = "html",
    confidence: Annotated[float, typer.Option(help="Confidence level of every test and interval.")] = 0.95,
    check: Annotated[bool, typer.Option("--check", help="Only check the plan file (no store needed): exit 0 if it is valid.")] = False,
) -> None:
    """The plan on a page: every theme's outcome, aim and indicators with their latest figures.

    Each indicator is one of thrv's own (by id: the pack's figures) or a generic measure
    ingested from any system (docs/plan.md), with its target or benchmark. Checks that
    every indicator resolves: the files are written either way, and the command exits 1
    listing those that do not.

    Example: `thrv plan --plan examples/plan/police-and-crime-plan.toml --db force.duckdb --month 2025-12 --out plan/`
    """
    from thrv.plan.model import plan_model
    from thrv.plan.render import render_plan_html, write_outputs
    from thrv.report.files import parse_formats

    chosen = load_or_exit(plan_file)
    if check:
        n = sum(1 for _ in chosen.all_indicators())
        console.print(f"{plan_file}: valid: {len(chosen.themes)} themes, {n} indicators")
        return
    if month is None:
        err.print("[red]error:[/red] --month YYYY-MM is needed (or --check to only check the plan file)")
        raise typer.Exit(2)
    try:
        formats = parse_formats(fmt)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    with open_store(db, read_only=True) as store:
        figures = figures_or_exit(store, chosen, month, confidence)
    model = plan_model(figures)
    written = write_outputs(model, out, "plan", formats, render_plan_html)
    n = len(figures.rows)
    console.print(f"plan for {month}, {figures.area}: {len(chosen.themes)} themes, {n} indicators, "
                  f"{n - len(figures.unresolved)} resolved")
    if figures.generated_sources:
        console.print(f"  GENERATED data behind {figures.generated_indicators} indicator(s) ({', '.join(figures.generated_sources)}), marked in every report")
    report_written(written)
    report_unresolved(figures)
