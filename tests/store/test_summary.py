"""The monthly crime summary: the same counts as the rows, used only while current.

Checked on the real bundled sample (Cambridgeshire, data.police.uk): the summary's counts
against pandas' own group-by of the rows; the monthly figures and the whole pack.csv and
pack.json from the summary against those counted from the rows, on DuckDB and on the
Parquet export; and every way the summary can fall behind its rows (rows added, deleted,
a new lookup) makes the pack count the rows again.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from thrv.cli import app
from thrv.indicators import aggregate
from thrv.indicators import pack as pack_module
from thrv.indicators.aggregate import monthly_figures, summaries_of
from thrv.indicators.definitions import expand, load_indicators
from thrv.store import summary
from thrv.store.database import Store
from thrv.store.engines import connect
from thrv.store.export import export_parquet

MONTH = "2025-12"
KEYS = list(summary.SUMMARIES["crimes"][1])


@pytest.fixture
def summarised(sample_store: Path, tmp_path: Path) -> Path:
    """A copy of the sample store with its crime summary built."""
    db = tmp_path / "summarised.duckdb"
    shutil.copyfile(sample_store, db)
    with Store(db) as store, store.transaction() as con:
        assert summary.build(con) > 0
    return db


@pytest.fixture
def unsummarised(sample_store: Path, tmp_path: Path) -> Path:
    """A copy of the sample store without its crime summary: the pack counts the rows."""
    db = tmp_path / "unsummarised.duckdb"
    shutil.copyfile(sample_store, db)
    with Store(db) as store, store.transaction() as con:
        con.execute(f"DROP TABLE IF EXISTS {summary.SUMMARIES['crimes'][0]}")
    return db


def test_ingest_keeps_the_summary_current_file_by_file(sample_store: Path, summarised: Path) -> None:
    """Each file's transaction refreshes its units: the ingested store's summary equals a whole rebuild."""
    assert _summary_frame(sample_store).equals(_summary_frame(summarised))


def _summary_frame(db: Path) -> pd.DataFrame:
    with Store(db, read_only=True) as store:
        s = store.con.execute(f"SELECT * FROM {summary.SUMMARIES['crimes'][0]}").df()
    return s.sort_values(KEYS, na_position="last").reset_index(drop=True)


def test_summary_counts_are_pandas_counts_of_the_rows(summarised: Path) -> None:
    with Store(summarised, read_only=True) as store:
        rows = store.con.execute("SELECT * FROM crimes").df()
    expected = (rows.groupby(KEYS, dropna=False).agg(rows=("crime_id", "size"), newest_ingest_id=("ingest_id", "max"))
                .reset_index().sort_values(KEYS, na_position="last").reset_index(drop=True))
    got = _summary_frame(summarised)
    assert len(got) == len(expected) and int(got["rows"].sum()) == len(rows) > 100_000
    assert got["district_code"].isna().any()  # rows with no district are counted too
    for column in KEYS:
        assert got[column].astype(object).where(got[column].notna(), None).tolist() == \
            expected[column].astype(object).where(expected[column].notna(), None).tolist()
    assert got["rows"].tolist() == expected["rows"].tolist()
    assert got["newest_ingest_id"].tolist() == expected["newest_ingest_id"].tolist()


def test_refreshing_units_gives_the_summary_built_whole(summarised: Path) -> None:
    before = _summary_frame(summarised)
    with Store(summarised) as store, store.transaction() as con:
        con.execute("DELETE FROM crimes WHERE month = DATE '2025-11-01' AND crime_type = 'Drugs'")
        units = [("Cambridgeshire Constabulary", "2025-11"), ("Cambridgeshire Constabulary", "2025-10")]
        assert summary.refresh(con, "crimes", units) > 0
        assert summary.refresh(con, "stop_search", units) == 0  # no summary defined: left alone
    after = _summary_frame(summarised)
    with Store(summarised) as store, store.transaction() as con:
        summary.build(con)
    pd.testing.assert_frame_equal(after, _summary_frame(summarised), check_exact=True)
    assert len(after) < len(before)


def _figures(db: Path, use_summary: bool) -> dict[str, pd.DataFrame]:
    with connect(db) as store:
        con = store.ibis()
        templates = load_indicators()
        found = summaries_of(con, ["crimes"]) if use_summary else {}
        assert ("crimes" in found) == use_summary
        values_of = {(t.table, t.for_each): aggregate.distinct_values(con, t.table, t.for_each, found)
                     for t in templates if t.for_each}
        indicators = list(expand(templates, values_of))
        figures = monthly_figures(con, indicators, dt.date(2022, 1, 1), dt.date(2025, 12, 1),
                                  by_district_grain=True, summaries=found)
        facts = aggregate.table_facts(con, ["crimes"], found)
    crimes = figures.wide["crimes"]
    keys = ["force", "district_code", "month"]
    return {"wide": crimes.sort_values(keys, na_position="last").reset_index(drop=True),
            "coverage": figures.coverage.sort_values(["table", "force", "month"]).reset_index(drop=True),
            "facts": facts, "types": pd.DataFrame({"t": sorted(values_of.values())})}


def test_monthly_figures_from_the_summary_are_those_from_the_rows(summarised: Path) -> None:
    rows, summed = _figures(summarised, False), _figures(summarised, True)
    for part in rows:
        pd.testing.assert_frame_equal(summed[part], rows[part], check_exact=True)
    assert rows["wide"]["n|prosecution_possible_rate"].sum() > 0 and rows["wide"]["n|asb"].sum() > 0


def _pack(target: str, out: Path) -> tuple[bytes, dict[str, Any]]:
    result = CliRunner().invoke(app, ["pack", "--db", target, "--month", MONTH, "--out", str(out), "--format", "xlsx"])
    assert result.exit_code == 0, result.output
    model = json.loads((out / "pack.json").read_text())
    model["meta"].pop("generated_at")
    return (out / "pack.csv").read_bytes(), model


def test_pack_from_the_summary_is_byte_identical_on_duckdb_and_parquet(
    unsummarised: Path, summarised: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    used: list[str] = []
    real = pack_module.summaries_of

    def spy(con: Any, tables: Any) -> dict[str, Any]:
        found = real(con, tables)
        used.extend(found)
        return found

    monkeypatch.setattr(pack_module, "summaries_of", spy)
    rows = _pack(str(unsummarised), tmp_path / "rows")
    assert used == []
    summed = _pack(str(summarised), tmp_path / "summed")
    assert used == ["crimes"]
    with Store(summarised, read_only=True) as store:
        export_parquet(store, tmp_path / "parquet")
    assert (tmp_path / "parquet" / summary.SUMMARIES["crimes"][0]).is_dir()  # the export carries it
    exported = _pack(f"parquet://{tmp_path / 'parquet'}", tmp_path / "exported")
    assert used == ["crimes", "crimes"]
    assert summed[0] == rows[0] and exported[0] == rows[0]
    assert summed[1] == rows[1] and exported[1] == rows[1]


@pytest.mark.parametrize("change", ["insert", "delete", "lookup"])
def test_a_summary_behind_its_rows_is_not_used(summarised: Path, change: str) -> None:
    with connect(summarised) as store:
        assert summary.fresh_summary(store.ibis(), "crimes") is not None
    with Store(summarised) as store, store.transaction() as con:
        if change == "insert":  # a write that did not refresh the summary (rows stored under a new id)
            con.execute("INSERT INTO crimes SELECT * REPLACE (ingest_id + 1000 AS ingest_id) FROM crimes LIMIT 1")
        elif change == "delete":
            con.execute("DELETE FROM crimes WHERE rowid IN (SELECT min(rowid) FROM crimes)")
        else:  # built with another lookup (loading a new one re-derives district_code in place)
            con.execute("UPDATE meta SET value = 'an older lookup' WHERE key = ?", [summary.STAMP + "crimes_monthly"])
    with connect(summarised) as store:
        assert summary.fresh_summary(store.ibis(), "crimes") is None
        assert summaries_of(store.ibis(), ["crimes", "calls"]) == {}


@pytest.mark.parametrize("change", ["rows", "newer", "lookup"])
def test_refreshing_after_an_unrefreshed_change_summarises_it_all_again(summarised: Path, change: str) -> None:
    with Store(summarised) as store, store.transaction() as con:
        if change == "rows":  # rows of another month deleted by a writer that did not refresh the summary
            con.execute("DELETE FROM crimes WHERE month = DATE '2024-03-01' AND crime_type = 'Robbery'")
        elif change == "newer":  # as many rows, but another month's now carry a newer ingest id
            con.execute("UPDATE crimes SET ingest_id = (SELECT max(ingest_id) + 1 FROM crimes) "
                        "WHERE month = DATE '2024-03-01' AND crime_type = 'Robbery'")
        else:  # built with another lookup
            con.execute("UPDATE meta SET value = 'an older lookup' WHERE key = ?", [summary.STAMP + "crimes_monthly"])
            con.execute("UPDATE crimes SET district_code = NULL WHERE month = DATE '2024-03-01'")
        summary.refresh(con, "crimes", [("Cambridgeshire Constabulary", "2025-11")])
    refreshed = _summary_frame(summarised)
    with connect(summarised) as store:
        assert summary.fresh_summary(store.ibis(), "crimes") is not None
    with Store(summarised) as store, store.transaction() as con:
        summary.build(con)
    pd.testing.assert_frame_equal(refreshed, _summary_frame(summarised), check_exact=True)
