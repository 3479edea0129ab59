"""The demand profile against counts made independently (hand-written fixtures and SQL)."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from thrv.demand import build_demand, write_demand
from thrv.demand.profile import mix_change
from thrv.ingest import ingest
from thrv.store.database import Store

# Monday 1 July 2024 onwards; times are UK local (BST)
INCIDENTS = """
    incident_id,created_at,grade,opening_category,closing_category,lsoa_code,first_arrival_at,force
    I1,2024-07-01 18:10:00,immediate,crime,,E01017966,2024-07-01 18:20:00,Cambridgeshire Constabulary
    I2,2024-07-01 18:50:00,prompt,mental health,,E01017966,2024-07-01 19:50:00,Cambridgeshire Constabulary
    I3,2024-07-08 18:05:00,prompt,mental health,,E01018085,2024-07-08 19:00:00,Cambridgeshire Constabulary
    I4,2024-07-06 02:30:00,immediate,asb,,E01018085,2024-07-06 02:40:00,Cambridgeshire Constabulary
    I5,2024-07-31 23:30:00,scheduled,concern for welfare,,,,Cambridgeshire Constabulary
"""


@pytest.fixture
def small_store(tmp_path: Path) -> Store:
    path = tmp_path / "incidents.csv"
    path.write_text(textwrap.dedent(INCIDENTS).lstrip())
    store = Store(tmp_path / "small.duckdb")
    assert ingest(store, [path]).ok
    return store


def test_hour_by_weekday_and_busiest_hours_by_hand(small_store: Store) -> None:
    with small_store:
        model = build_demand(small_store)
    assert [s["stream"] for s in model["streams"]] == ["incidents"]
    grid = pd.DataFrame(model["hour_weekday"]).set_index(["weekday", "hour"])["count"]
    assert len(grid) == 7 * 24
    assert grid.sum() == 5
    assert grid[(0, 18)] == 3  # Mondays 18:00-19:00: I1, I2 and I3
    assert grid[(5, 2)] == 1  # Saturday 02:00
    assert grid[(2, 23)] == 1  # Wednesday 31 July 23:30
    busiest = model["busiest"][0]
    assert busiest["label"] == "Monday 18:00-19:00"
    weeks = 31 / 7  # the window is July 2024 only
    assert busiest["per_week"] == pytest.approx(3 / weeks)
    by_cat = {r["category"]: r["count"] for r in model["by_category"]}
    assert by_cat == {"crime": 1, "mental_health": 2, "asb": 1, "concern_for_welfare": 1}
    districts = {r["district"]: r["count"] for r in model["by_district"]}
    assert districts["Cambridge"] == 2
    assert districts["Fenland"] == 2
    assert model["mix_change"] == []  # one month held: no year on year
    assert any("fewer than 24 months" in n for n in model["meta"]["notes"])


def test_mix_change_counts_shares_and_tests_by_hand() -> None:
    now = pd.DataFrame({"category": ["a", "b"], "count": [300, 100]})
    before = pd.DataFrame({"category": ["a", "b", "c"], "count": [200, 100, 100]})
    df = mix_change(now, before, "x").set_index("category")
    assert df.loc["a", "share_now"] == pytest.approx(0.75)
    assert df.loc["a", "share_before"] == pytest.approx(0.5)
    assert df.loc["a", "change_share_pp"] == pytest.approx(25.0)
    assert df.loc["a", "change_count_pct"] == pytest.approx(50.0)
    assert df.loc["c", "count_now"] == 0
    assert df.loc["a", "label_count"] == "Higher"  # 300 vs 200: exact binomial p < 0.001
    assert df.loc["b", "label_count"] == "Comparable"
    assert df.loc["a", "p_value_count"] == pytest.approx(2 * __import__("scipy").stats.binom.sf(299, 500, 0.5), rel=1e-6)


def test_real_crime_profile_matches_sql(sample_store: Path) -> None:
    with Store(sample_store, read_only=True) as store:
        model = build_demand(store)
        by_type = store.df(
            "SELECT crime_type, count(*) AS n FROM crimes WHERE month >= DATE '2025-01-01' GROUP BY 1"
        ).set_index("crime_type")["n"]
        before = store.df(
            "SELECT crime_type, count(*) AS n FROM crimes WHERE month < DATE '2025-01-01' GROUP BY 1"
        ).set_index("crime_type")["n"]
    crimes = next(s for s in model["streams"] if s["stream"] == "crimes")
    assert (crimes["first"], crimes["last"], crimes["generated"]) == ("2025-01", "2025-12", False)
    got = {r["category"]: r["count"] for r in model["by_category"] if r["stream"] == "crimes"}
    assert got == by_type.to_dict()
    mix = {r["category"]: r for r in model["mix_change"] if r["stream"] == "crimes"}
    assert mix["Drugs"]["count_now"] == by_type["Drugs"]
    assert mix["Drugs"]["count_before"] == before["Drugs"]
    assert mix["Drugs"]["label_count"] == "Higher"  # 2,824 against 1,828
    assert mix["Drugs"]["period_before"] == "2024-01 to 2024-12"
    assert model["meta"]["generated_data"] == []
    notes = " ".join(model["meta"]["notes"])
    assert "Calls (999, 101, online): not in the store" in notes


def test_a_district_profile_and_streams_without_location(generated_store: Path, tmp_path: Path) -> None:
    with Store(generated_store, read_only=True) as store:
        model = build_demand(store, area="Fenland", last=dt.date(2025, 12, 1))
        total = store.df(
            "SELECT count(*) AS n FROM incidents WHERE district_name = 'Fenland' AND month >= DATE '2025-01-01'"
        )["n"].iloc[0]
    streams = {s["stream"]: s for s in model["streams"]}
    assert "calls" not in streams
    assert any("no location" in n for n in model["meta"]["notes"])
    assert streams["incidents"]["records"] == total
    assert streams["incidents"]["generated"] is True
    assert "Incidents (command and control)" in model["meta"]["generated_data"]
    written = write_demand(model, tmp_path, ["html"])
    html = (tmp_path / "demand.html").read_text()
    assert "Generated data:" in html
    assert "(generated data)" in html
    assert "<svg" in html
    assert "https://" not in html.split("<body>")[1].split("Open Government")[0]
    json.loads((tmp_path / "demand.json").read_text())
    assert {p.name for p in written} >= {"demand.json", "demand_hour_weekday.csv", "demand_mix_change.csv", "demand.html"}


def test_an_unknown_area_is_an_error(sample_store: Path) -> None:
    with Store(sample_store, read_only=True) as store, pytest.raises(ValueError, match="not a force, area or district in the store"):
        build_demand(store, area="Atlantis")
