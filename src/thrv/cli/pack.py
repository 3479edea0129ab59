"""`thrv pack`: the monthly performance pack."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from thrv.cli._app import (
    FormatOption,
    StoreOption,
    app,
    console,
    err,
    open_store,
    progress_steps,
)
from thrv.store.database import DEFAULT_DB


@app.command()
def pack(
    month: Annotated[str, typer.Option(help="The pack month, YYYY-MM.", show_default=False)],
    out: Annotated[Path, typer.Option(help="Folder to write pack.json, pack.csv and the formats into.")] = Path("pack"),
    db: StoreOption = DEFAULT_DB,
    area: Annotated[
        str | None,
        typer.Option(help="A force ('Cambridgeshire Constabulary' or 'Cambridgeshire'), area or district. "
                     "Needed when the store holds several forces (or pass --all-forces)."),
    ] = None,
    all_forces: Annotated[
        bool, typer.Option("--all-forces", help="On a store of several forces, a pack of every force (large).")
    ] = False,
    fmt: FormatOption = "html",
    levels: Annotated[
        str, typer.Option(help="Levels to include: any of force,area,district,lsoa (LSOA rows only when asked for).")
    ] = "force,area,district",
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
    intervals: Annotated[
        bool, typer.Option(help="Show the Wilson interval beside each proportion (HTML and PDF) as well as n.")
    ] = False,
    spc_run: Annotated[int, typer.Option(help="SPC: points in a run or trend that signal special cause (6, 7 or 8).")] = 7,
    spc_rebase: Annotated[str | None, typer.Option(help="SPC: recompute limits from this month, YYYY-MM.")] = None,
    spc_screen_outliers: Annotated[
        bool,
        typer.Option(
            "--spc-screen-outliers/--spc-no-screen-outliers",
            help="SPC: leave moving ranges of 3.267 x their mean or more out of the limits (as NHSRplotthedots).",
        ),
    ] = True,
    plain_poisson: Annotated[
        bool, typer.Option(help="Count tests without the over-dispersion adjustment (plain exact Poisson).")
    ] = False,
    fdr: Annotated[bool, typer.Option(help="Labels by Benjamini-Hochberg q-value across the pack, not by p-value.")] = False,
) -> None:
    """Build the monthly performance pack: every indicator for the force, areas and districts.

    For the month: the same month 1, 2 and 3 years earlier, the 1- and 3-year monthly averages,
    the rolling 12 months and the baseline (by default the 12 months to the last March),
    each compared by a stated test (exact Poisson allowing for over-dispersion for counts,
    two-proportion for rates) and labelled Higher / Comparable / Lower (volumes) or
    Improved / Comparable / Deteriorated (rates), with a sentence saying what changed.

    The first page is "at a glance": what changed significantly, the best and worst, and
    special causes, one line each; then the board table grouped by theme; the area and
    district detail is an appendix (and its own file, pack-areas.html).

    Example: `thrv pack --month 2025-12 --area Cambridgeshire --out pack/ --format html,pdf,xlsx`
    """
    from thrv.indicators.compare import CompareOptions
    from thrv.indicators.definitions import IndicatorError
    from thrv.indicators.hierarchy import AreaError
    from thrv.indicators.pack import build_pack, parse_month, preflight
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
            spc_screen_outliers=spc_screen_outliers,
            dispersion=not plain_poisson,
            fdr=fdr,
        )
        level_list = [x.strip() for x in levels.split(",") if x.strip()]
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    with open_store(db, read_only=True) as store:
        try:  # every check before any work, so a refused request writes nothing
            preflight(store, when, area, all_forces, level_list, indicators, areas)
        except (IndicatorError, AreaError, ValueError) as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
    progress, task = progress_steps("pack", 3 + len(formats))
    with open_store(db, read_only=True) as store, progress:
        progress.update(task, description="computing indicators")
        try:
            if public:  # one disclosure decision for every month and level, this pack cut from it
                from thrv.report.disclosure import DisclosureRule, public_pack

                model = public_pack(store, month, DisclosureRule(suppression, threshold), area, level_list,
                                    indicators, areas, options)
            else:
                model = pack_model(build_pack(store, when, area, level_list, indicators, areas, options))
        except (IndicatorError, AreaError, ValueError) as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        progress.advance(task)
        progress.advance(task)

        def step(name: str) -> None:
            progress.update(task, description=f"writing {name}")
            progress.advance(task)

        written = write_pack(model, out, formats, public=public, progress=step, intervals=intervals)
    rows = model["rows"]
    counts = {lv: sum(1 for r in rows if r["area_level"] == lv) for lv in ("force", "area", "district", "lsoa")}
    console.print(
        f"pack for {month}: {len({r['indicator'] for r in rows})} indicators, "
        + ", ".join(f"{n:,} {lv} rows" for lv, n in counts.items() if n)
    )
    for path in written:
        console.print(f"  wrote {path}")
