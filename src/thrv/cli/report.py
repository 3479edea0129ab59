"""`thrv report`: a theme report of the Police and Crime Plan."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from thrv.cli._app import (
    DbOption,
    FormatOption,
    app,
    console,
    err,
    format_list,
    open_store,
    report_written,
)
from thrv.cli.plan import MonthOption, PlanOption, figures_or_exit, load_or_exit, report_unresolved
from thrv.store.database import DEFAULT_DB


@app.command()
def report(
    plan_file: PlanOption,
    theme: Annotated[str, typer.Option(help="The theme's name (e.g. Victims), or 'all' for every theme.", show_default=False)],
    month: MonthOption,
    out: Annotated[Path, typer.Option(help="Folder to write theme-<name>.json and the formats into.")] = Path("plan"),
    db: DbOption = Path(DEFAULT_DB),
    fmt: FormatOption = "html",
    confidence: Annotated[float, typer.Option(help="Confidence level of every test and interval.")] = 0.95,
) -> None:
    """A theme report: the theme's outcome and aim, each priority's table, sentences and charts.

    Each operational priority (and its sub-groups, e.g. "Burglary dwelling" under
    "Combating acquisitive crime") gets the performance pack's table: the month, the same
    month 1, 2 and 3 years before, the 1- and 3-year averages, the rolling 12 months and the
    baseline, each labelled by its test; then its sentences, survey splits by crime type and
    charts, and the theme's generic measures with their comparators and targets.

    Example: `thrv report --plan examples/plan/police-and-crime-plan.toml --theme Victims --db force.duckdb --month 2025-12 --out plan/ --format html,pdf,xlsx`
    """
    from thrv.plan.model import theme_model
    from thrv.plan.render import render_theme_html, write_outputs
    from thrv.plan.spec import PlanError

    chosen = load_or_exit(plan_file)
    formats = format_list(fmt)
    try:
        themes = list(chosen.themes) if theme.strip().lower() == "all" else [chosen.theme(theme)]
    except PlanError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    with open_store(db, read_only=True) as store:
        figures = figures_or_exit(store, chosen, month, confidence)
    for t in themes:
        model = theme_model(figures, t)
        written = write_outputs(model, out, f"theme-{t.slug}", formats, render_theme_html)
        counts = model["theme"]["counts"]
        console.print(f"{t.name} theme report for {month}, {figures.area}: {counts['resolved']} of {counts['indicators']} indicators with figures")
        report_written(written)
    if figures.generated_sources:
        console.print(f"  GENERATED data behind {figures.generated_indicators} indicator(s) ({', '.join(figures.generated_sources)}), marked in every report")
    report_unresolved(figures, themes)
