"""`thrv status` lists the partner data a store holds, counted straight from the store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from thrv.cli import app
from thrv.store.database import Store
from thrv.store.status import store_status

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "partner-sample"


def test_status_lists_partner_area_measures_by_partner(tmp_path: Path) -> None:
    db = tmp_path / "p.duckdb"
    runner = CliRunner()
    for partner, name in (("fire", "dwelling_fires_msoa_cambridgeshire.csv"),
                          ("council", "defra_flytipping_incidents_cambridgeshire.csv")):
        result = runner.invoke(app, ["ingest", str(SAMPLE / name), "--db", str(db), "--partner", partner,
                                     "--mapping", str(SAMPLE / "mapping.toml")])
        assert result.exit_code == 0, result.output
    con = duckdb.connect(str(db), read_only=True)
    expected = con.sql(
        "SELECT 'partner_measures' AS t, partner, count(*), count(DISTINCT dataset), min(period_start), max(period_end) "
        "FROM partner_measures GROUP BY partner ORDER BY partner"
    ).fetchall()
    con.close()
    assert len(expected) == 2  # both partners' tables are area measures
    with Store(db, read_only=True) as store:
        st = store_status(store)
    got = [(r.table, r.partner, r.rows, r.datasets, r.first, r.last) for r in st.partners.itertuples(index=False)]
    assert got == [(t, p, n, d, a, b) for t, p, n, d, a, b in expected]
    assert all(isinstance(r[4], dt.date) for r in got)
    out = runner.invoke(app, ["status", "--db", str(db)]).output
    for table, partner, rows, datasets, first, _ in expected:
        assert f"{table}: {partner}: {rows:,} rows in {datasets} dataset" in out
        assert f"{first:%Y-%m} to" in out
