"""`thrv near-repeat`: Knox near-repeat analysis of one crime type, knox.csv and knox.json out."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from thrv.cli._app import DbOption, app, console, err, open_store, optional_month, report_written
from thrv.store.database import DEFAULT_DB


@app.command("near-repeat")
def near_repeat(
    crime_type: Annotated[str, typer.Option("--crime-type", help="A police.uk crime type, e.g. 'Burglary'.", show_default=False)],
    from_month: Annotated[str, typer.Option("--from", help="First month, YYYY-MM.", show_default=False)],
    to_month: Annotated[str, typer.Option("--to", help="Last month, YYYY-MM.", show_default=False)],
    out: Annotated[Path, typer.Option(help="Folder for knox.csv and knox.json.")] = Path("near-repeat"),
    db: DbOption = Path(DEFAULT_DB),
    area: Annotated[str | None, typer.Option(help="A force as published, a configured area or a district.")] = None,
    source: Annotated[str, typer.Option(help="police-uk (months, snapped points) or force-extract (days, the force's locations).")] = "police-uk",
    config: Annotated[Path | None, typer.Option(help="Bands and settings (TOML) instead of the shipped near_repeat.toml.")] = None,
    permutations: Annotated[int | None, typer.Option(help="Monte Carlo permutations (default: the configuration's, 999).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default: the configuration's, 0).")] = None,
) -> None:
    """Near repeats (Knox test): are there more pairs of crimes close in space *and* time than chance allows?

    Every pair of crimes of the type is placed in a distance band and a time band; each
    cell's count is compared with its exact expectation when times are shuffled among the
    crimes, and a one-sided Monte Carlo p-value comes from permuting the times (seeded).
    data.police.uk gives only the month and snaps each crime to an anonymous map point, so
    its bands are whole months and short distances cannot be resolved (knox.json says so);
    `--source force-extract` uses the days and locations of a force's recorded-crime extract.

    Example: `thrv near-repeat --db thrv.duckdb --crime-type Burglary --from 2024-01 --to 2025-12 --out nr/`
    """
    from thrv.assess import AreaError
    from thrv.assess.nearrepeat import NearRepeatError, analyse, load_config
    from thrv.assess.scope import resolve_scope
    from thrv.reference import crime_type_slugs

    first = optional_month(from_month, "--from")
    last = optional_month(to_month, "--to")
    if last < first:
        err.print(f"[red]error:[/red] --to ({last:%Y-%m}) is before --from ({first:%Y-%m})")
        raise typer.Exit(2)
    types = {t.lower(): t for t in crime_type_slugs()}
    wanted = types.get(crime_type.strip().lower())
    if wanted is None:
        err.print(f"[red]error:[/red] --crime-type {crime_type!r} is not a police.uk crime type; choose from: {', '.join(sorted(types.values()))}")
        raise typer.Exit(2)
    try:
        cfg = load_config(config)
        if permutations is not None:
            if permutations < 1:
                raise NearRepeatError(f"--permutations must be at least 1, got {permutations}")
            cfg = replace(cfg, permutations=permutations)
        if seed is not None:
            cfg = replace(cfg, seed=seed)
    except NearRepeatError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    with open_store(db, read_only=True) as store:
        con = store.ibis()
        try:
            scope = resolve_scope(con, area)
            result = analyse(con, scope, [wanted], first, last, cfg, source)
        except (AreaError, NearRepeatError, ValueError) as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
    if not result["types"]:
        reason = result["skipped"][0]["reason"] if result["skipped"] else "no records"
        err.print(f"[red]error:[/red] {wanted} in {scope.name}, {first:%Y-%m} to {last:%Y-%m}: {reason}")
        raise typer.Exit(2)
    import pandas as pd

    from thrv.stats.knox import COLUMNS

    row = result["types"][0]
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "knox.csv"
    pd.DataFrame(row["table"])[COLUMNS].to_csv(csv_path, index=False, float_format="%.10g")
    meta = {k: v for k, v in result.items() if k != "types"}
    meta.update({"area": scope.name, "from": f"{first:%Y-%m}", "to": f"{last:%Y-%m}",
                 **{k: v for k, v in row.items() if k != "table"}})
    json_path = out / "knox.json"
    json_path.write_text(json.dumps(meta, indent=1, ensure_ascii=False, default=float), encoding="utf-8")
    console.print(row["summary"])
    for c in result["caveats"]:
        console.print(f"[dim]note: {c}[/dim]")
    report_written([csv_path, json_path])
