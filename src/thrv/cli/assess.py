"""`thrv assess`: the strategic needs assessment."""

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
def assess(
    from_month: Annotated[str, typer.Option("--from", help="First month, YYYY-MM.", show_default=False)],
    to_month: Annotated[str, typer.Option("--to", help="Last month, YYYY-MM.", show_default=False)],
    out: Annotated[Path, typer.Option(help="Folder for assessment.json, the CSVs and the report.")] = Path("assessment"),
    db: ReadDbOption = Path(DEFAULT_DB),
    area: Annotated[
        str | None, typer.Option(help="A force ('Cambridgeshire Constabulary' or 'Cambridgeshire'), area or district.")
    ] = None,
    fmt: FormatOption = "html",
    priorities: Annotated[Path | None, typer.Option(help="MoRiLE-style scoring matrix (TOML) instead of the default.")] = None,
    h3_resolution: Annotated[int, typer.Option(help="Hexagon size for hot spots (H3 resolution; 8 ≈ 0.7 km²).")] = 8,
    hotspots_for: Annotated[
        list[str] | None,
        typer.Option("--hotspots-for", help="A crime type to map as its own hot-spot layer (repeatable), e.g. 'Burglary'."),
    ] = None,
) -> None:
    """Strategic needs assessment: harm, trends and emerging issues, hot spots, vulnerability, priorities.

    Harm is weighted two ways (Cambridge Crime Harm Index and ONS Crime Severity Score);
    trends use seasonally adjusted tests; hot spots are Getis-Ord Gi* on an H3 hexagon grid
    with a Benjamini-Hochberg false-discovery correction; priorities are ranked by a
    MoRiLE-style matrix with every input shown and a ±20% sensitivity check. It runs on any
    period held, a single month included, and says what one month cannot show.

    Example: `thrv assess --from 2024-01 --to 2025-12 --area "Cambridgeshire Constabulary" --out assessment/`

    Hot spots of one crime type: `thrv assess --from 2025-01 --to 2025-12 --hotspots-for Burglary --out assessment/`
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

    first = optional_month(from_month, "--from")
    last = optional_month(to_month, "--to")
    formats = format_list(fmt)
    config = AssessConfig(h3_resolution=h3_resolution, hotspot_crime_types=tuple(hotspots_for or ()))
    if priorities:
        config = replace(config, priorities_file=priorities)
    progress, task = progress_steps("assess", 2)
    with open_store(db, read_only=True) as store, progress:
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
    report_written(written)
