"""The scenario generator: documented layouts, labelled as generated, calibrated, reproducible."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.demand.conftest import GENERATED_MONTHS, GENERATED_SCALE
from thrv.demand.simulate import calibrate_waits, iso_local, load_calibration, simulate
from thrv.ingest import ingest
from thrv.store.database import Store

TABLES = ("calls", "incidents", "force_crimes", "survey_responses")


def test_files_are_the_documented_extracts_and_say_they_are_generated(generated_dir: Path) -> None:
    names = sorted(p.name for p in generated_dir.iterdir())
    assert names == ["README.md", "calibration.toml", "calls.csv", "force_crimes.csv", "incidents.csv", "manifest.json", "survey_responses.csv"]
    readme = (generated_dir / "README.md").read_text()
    assert readme.startswith("# GENERATED DATA — NOT REAL POLICE RECORDS")
    assert "seed: 11" in readme
    assert "2023-07 to 2025-12" in readme
    for table in TABLES:
        df = pd.read_csv(generated_dir / f"{table}.csv", dtype=str, keep_default_na=False)
        assert (df["generated"] == "true").all(), table
        assert (df["force"] == "Cambridgeshire Constabulary").all(), table


def test_generated_files_ingest_with_nothing_quarantined(generated_store: Path, generated_dir: Path) -> None:
    with Store(generated_store, read_only=True) as store:
        log = store.df("SELECT table_name, rows_read, rows_stored, rows_quarantined FROM ingest_log")
        assert (log["rows_quarantined"] == 0).all()
        assert (log["rows_read"] == log["rows_stored"]).all()
        for table in TABLES:
            rows = len(pd.read_csv(generated_dir / f"{table}.csv", dtype=str))
            assert store.count(table) == rows
            assert store.df(f"SELECT bool_and(generated) AS g FROM {table}")["g"].iloc[0]
            months = store.df(f"SELECT count(DISTINCT month) AS n FROM {table}")["n"].iloc[0]
            assert months == GENERATED_MONTHS


def test_the_same_seed_writes_the_same_files_and_another_seed_does_not(tmp_path: Path) -> None:
    def digest(folder: Path) -> dict[str, str]:
        return {t: hashlib.sha256((folder / f"{t}.csv").read_bytes()).hexdigest() for t in TABLES}

    end = dt.date(2024, 2, 1)
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        simulate(tmp_path / name, seed=seed, months=2, end=end, scale=0.02)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert all(x != y for x, y in zip(digest(tmp_path / "a").values(), digest(tmp_path / "c").values(), strict=True))


def test_generated_figures_match_the_calibration(generated_store: Path) -> None:
    """The published figures the generator is calibrated to come back out of the store."""
    cfg = load_calibration()
    with Store(generated_store, read_only=True) as store:
        calls = store.df(
            "SELECT line, count(*) AS n, avg(answered_within_10s::int) AS w10, avg(answered_within_30s::int) AS w30, "
            "avg(abandoned::int) AS ab FROM calls GROUP BY line"
        ).set_index("line")
        per_month = calls["n"] / GENERATED_MONTHS / GENERATED_SCALE
        assert per_month["999"] == pytest.approx(cfg["calls"]["monthly"]["999"], rel=0.05)
        assert per_month["101"] == pytest.approx(cfg["calls"]["monthly"]["101"], rel=0.05)
        assert calls.loc["999", "w10"] == pytest.approx(0.92, abs=0.015)
        assert calls.loc["999", "ab"] == pytest.approx(0.02, abs=0.01)
        assert calls.loc["101", "w30"] == pytest.approx(0.40, abs=0.02)
        assert calls.loc["101", "ab"] == pytest.approx(0.12, abs=0.015)
        inc = store.df(
            "SELECT grade, median(response_minutes) AS med FROM incidents WHERE attended GROUP BY grade"
        ).set_index("grade")["med"]
        assert inc["immediate"] == pytest.approx(17, abs=1.0)
        assert 70 <= inc["prompt"] <= 120
        per_day = store.count("incidents") / (GENERATED_MONTHS * 365.25 / 12) / GENERATED_SCALE
        assert per_day == pytest.approx(390, rel=0.05)
        sat = store.df(
            "SELECT avg(positive::int) AS p, count(*) / 30.0 AS n FROM survey_responses "
            "WHERE survey = 'victim_satisfaction' AND question = 'whole_experience' AND scored"
        ).iloc[0]
        assert 0.78 <= sat["p"] <= 0.86
        assert 85 <= sat["n"] <= 105  # about 100 interviews a month (less the few "don't know")
        # cycles: the weekend evening is busier than the early hours; summer busier than winter
        by_hour = store.df("SELECT hour, count(*) AS n FROM incidents GROUP BY hour").set_index("hour")["n"]
        assert by_hour[18] > 2 * by_hour[5]
        by_month = store.df("SELECT month(month) AS m, count(*) AS n FROM incidents GROUP BY 1").set_index("m")["n"]
        assert by_month[7] > by_month[2]


def test_volumes_scale_by_population_for_another_force(tmp_path: Path) -> None:
    simulate(tmp_path, seed=1, months=1, end=dt.date(2024, 3, 1), force="Northumbria", scale=0.05)
    incidents = pd.read_csv(tmp_path / "incidents.csv", dtype=str)
    assert set(incidents["force"]) == {"Northumbria Police"}
    assert set(incidents["district"]) <= {
        "Newcastle upon Tyne", "Gateshead", "Sunderland", "South Tyneside", "North Tyneside", "Northumberland",
    }
    # Northumbria has about 1.6 times Cambridgeshire's residents
    expected = 390 * 31 * 0.05 * 1_468_000 / 894_479
    assert len(incidents) == pytest.approx(expected, rel=0.12)


def test_unknown_force_and_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a force"):
        simulate(tmp_path, force="Gotham City Police", months=1)
    with pytest.raises(ValueError, match="months"):
        simulate(tmp_path, months=0)
    with pytest.raises(ValueError, match="scale"):
        simulate(tmp_path, scale=0)


def test_wait_calibration_meets_both_targets() -> None:
    rng = np.random.default_rng(0)
    base = np.exp(rng.normal(0, 1.1, 50_000))
    c, tau = calibrate_waits(base, seconds=30, within=0.4, abandoned=0.12)
    wait = c * base
    keep = np.exp(-wait / tau)
    assert np.mean(keep * (wait <= 30)) == pytest.approx(0.4, abs=1e-3)
    assert np.mean(1 - keep) == pytest.approx(0.12, abs=1e-3)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(946_684_800, 2_114_380_800), min_size=1, max_size=50))
def test_local_times_with_offsets_match_the_time_zone_database(epochs: list[int]) -> None:
    """2000-2036: the generator's fast UK-time formatting agrees with the tz database."""
    ours = iso_local(np.array(epochs))
    ts = pa.array(epochs, pa.int64()).cast(pa.timestamp("s", tz="UTC")).cast(pa.timestamp("s", tz="Europe/London"))
    assert ours.to_pylist() == pc.strftime(ts, format="%Y-%m-%dT%H:%M:%S%z").to_pylist()


def test_a_generated_folder_ingests_like_a_real_one_twice_without_change(generated_dir: Path, tmp_path: Path) -> None:
    with Store(tmp_path / "again.duckdb") as store:
        ingest(store, [generated_dir / "survey_responses.csv"])
        again = ingest(store, [generated_dir / "survey_responses.csv"])
        assert [f.status for f in again.files] == ["skipped"]
