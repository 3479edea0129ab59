"""`thrv status` and `thrv quarantine`: what the store holds and what it refused."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from thrv.cli._app import (
    StoreOption,
    app,
    console,
    fmt_count,
    fmt_month,
    fmt_value,
    open_store,
)
from thrv.store.database import DEFAULT_DB


@app.command()
def status(db: StoreOption = DEFAULT_DB) -> None:
    """Show what the store holds: rows by table, force and month, gaps, quarantine.

    A gap is a month missing between a force's first and last month in a table, e.g.
    Northumbria's 2022-01 in the bundled real data.

    Example: `thrv status --db force.duckdb`
    """
    import datetime as dt

    import pandas as pd

    from thrv.store.status import store_status

    with open_store(db, read_only=True) as store:
        st = store_status(store)
    table = Table(title=f"thrv store {db}")
    for col in ("table", "rows", "forces", "first month", "last month"):
        table.add_column(col, justify="right" if col in {"rows", "forces"} else "left")
    for row in st.tables.itertuples(index=False):
        generated = int(getattr(row, "generated_rows", 0) or 0)
        table.add_row(
            str(row.table) + (" (GENERATED)" if generated and generated == row.rows else " (some generated)" if generated else ""),
            fmt_count(row.rows),
            fmt_value(getattr(row, "forces", "")),
            fmt_month(getattr(row, "first_month", None)),
            fmt_month(getattr(row, "last_month", None)),
        )
    console.print(table)
    if not st.coverage.empty:
        console.print("[bold]coverage by force[/bold] (a gap is a month missing between the first and the last)")
        for r in st.coverage.itertuples(index=False):
            console.print(
                f"  {r.table}: {r.force}: {r.months} months, {fmt_month(r.first_month)} to "
                f"{fmt_month(r.last_month)}, {fmt_count(r.rows)} rows; gaps: {str(r.missing_months) or 'none'}",
                highlight=False,
            )
    if not st.partners.empty:
        console.print("[bold]partner data[/bold] (area measures, incidents and person records, by partner)")
        for p in st.partners.to_dict("records"):
            n = p["datasets"]
            datasets = "" if pd.isna(n) else f" in {int(n)} dataset{'s' if int(n) != 1 else ''}"
            span = f", {fmt_month(p['first'])} to {fmt_month(p['last'])}" if isinstance(p["first"], dt.date) else ""
            console.print(f"  {p['table']}: {p['partner']}: {fmt_count(p['rows'])} rows{datasets}{span}", highlight=False)
    if not st.quarantine.empty:
        q = Table(title="quarantined rows by reason")
        for col in ("kind", "reason", "rows"):
            q.add_column(col)
        for r in st.quarantine.head(15).itertuples(index=False):
            q.add_row(str(r.kind), str(r.reason), fmt_count(r.rows))
        console.print(q)
    files = st.files
    if not files.empty:
        parts = [f"{fmt_count(r.files)} {r.status}" for r in files.itertuples(index=False)]
        console.print("files: " + ", ".join(parts) + ("; rows reconcile" if st.reconciled else "; [red]rows do not reconcile[/red]"))


@app.command()
def quarantine(
    db: StoreOption = DEFAULT_DB,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 20,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Write every quarantined row to this CSV.")] = None,
) -> None:
    """List quarantined rows with file, line, reason and the raw text, to fix at source.

    Example: `thrv quarantine --db force.duckdb --csv quarantined.csv`
    """
    from thrv.store.status import quarantined_rows

    with open_store(db, read_only=True) as store:
        df, total = quarantined_rows(store, None if csv_out else limit)
    if csv_out:
        df.to_csv(csv_out, index=False)
        console.print(f"wrote {len(df):,} rows to {csv_out}")
        return
    for r in df.itertuples(index=False):
        console.print(f"{r.file}:{r.line}: {r.reason}\n    {r.raw}", highlight=False, markup=False)
    if total > limit:
        console.print(f"... {total - limit:,} more (use --limit or --csv)")
