"""Every pack figure for the real sample against an independent pandas/scipy computation.

The reference here is written separately from the engine: plain pandas group-bys on the
raw rows (read straight from DuckDB, not through Ibis), scipy's binomtest for the exact
Poisson test and statsmodels for the two-proportion test.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest
from statsmodels.stats.proportion import proportions_ztest

from thrv.indicators.pack import build_pack
from thrv.reference import REFERENCE
from thrv.store.database import Store

ASB = "Anti-social behaviour"
FORCE = "Cambridgeshire Constabulary"
ALPHA = 0.05


def _month(text: str) -> dt.date:
    return dt.date(int(text[:4]), int(text[5:7]), 1)


def _shift(m: dt.date, n: int) -> dt.date:
    i = m.year * 12 + m.month - 1 + n
    return dt.date(i // 12, i % 12 + 1, 1)


def _last_march_before(m: dt.date) -> dt.date:
    return dt.date(m.year if m.month > 3 else m.year - 1, 3, 1)


@pytest.fixture(scope="module")
def raw(sample_store: Path) -> pd.DataFrame:
    con = duckdb.connect(str(sample_store), read_only=True)
    df = con.sql("SELECT force, month, lsoa_code, crime_type, last_outcome_category FROM crimes").df()
    con.close()
    df["month"] = pd.to_datetime(df["month"]).dt.date
    lsoa = pd.read_csv(REFERENCE / "lsoa.csv.gz", dtype=str)
    cambs = lsoa[lsoa["pfa_code"] == "E23000023"][["lsoa_code", "lad_name"]]
    df = df.merge(cambs, on="lsoa_code", how="left")
    outcomes = pd.read_csv(REFERENCE / "outcome_categories.csv", dtype=str)
    possible = set(outcomes[outcomes["prosecution_possible"] == "true"]["outcome"])
    df["prosecution_possible"] = df["last_outcome_category"].isin(possible)
    return df


def _expected_counts(monthly: pd.Series, held: set[dt.date], m: dt.date) -> dict[str, float]:
    """The pack's count columns and p-values, computed plainly."""

    def val(month: dt.date) -> float:
        return float(monthly.get(month, 0)) if month in held else math.nan

    def window(end: dt.date, n: int) -> list[dt.date]:
        return [_shift(end, -k) for k in range(n)]

    out = {"current": val(m)}
    for k in (1, 2, 3):
        out[f"prev_{k}y"] = val(_shift(m, -12 * k))
    for label, n, need in (("avg_1y", 12, 9), ("avg_3y", 36, 27)):
        months = [x for x in window(_shift(m, -1), n) if x in held]
        total = sum(float(monthly.get(x, 0)) for x in months)
        out[label] = total / len(months) if len(months) >= need else math.nan
        out[f"_{label}_sum"], out[f"_{label}_n"] = total, len(months)
    roll = window(m, 12)
    out["rolling_12m"] = sum(float(monthly.get(x, 0)) for x in roll) if all(x in held for x in roll) else math.nan
    base = window(_last_march_before(m), 12)
    out["baseline"] = sum(float(monthly.get(x, 0)) for x in base) if all(x in held for x in base) else math.nan

    def exact(a: float, ea: float, b: float, eb: float) -> float:
        if math.isnan(a) or math.isnan(b):
            return math.nan
        if a + b == 0:
            return 1.0
        return binomtest(int(a), int(a + b), ea / (ea + eb)).pvalue

    out["p_value"] = exact(out["rolling_12m"], 12, out["baseline"], 12)
    out["p_value_1y"] = exact(out["current"], 1, out["_avg_1y_sum"], out["_avg_1y_n"]) if not math.isnan(out["avg_1y"]) else math.nan
    out["p_value_3y"] = exact(out["current"], 1, out["_avg_3y_sum"], out["_avg_3y_n"]) if not math.isnan(out["avg_3y"]) else math.nan
    return out


def _label(p: float, higher: bool, direction: str) -> str:
    if math.isnan(p):
        return "Insufficient data"
    if p >= ALPHA:
        return "Comparable"
    if direction == "none":
        return "Higher" if higher else "Lower"
    good = higher == (direction == "higher_is_better")
    return "Improved" if good else "Deteriorated"


def _check(row: pd.Series, expected: dict[str, float], direction: str) -> None:
    for col in ("current", "prev_1y", "prev_2y", "prev_3y", "avg_1y", "avg_3y", "rolling_12m", "baseline", "p_value", "p_value_1y", "p_value_3y"):
        got, want = row[col], expected[col]
        if math.isnan(want):
            assert pd.isna(got), f"{row['indicator']} {row['area']} {col}: expected empty, got {got}"
        else:
            assert got == pytest.approx(want, rel=1e-9, abs=1e-12), f"{row['indicator']} {row['area']} {col}"
    assert row["label"] == _label(expected["p_value"], expected["rolling_12m"] > expected["baseline"], direction)
    assert row["label_1y"] == _label(expected["p_value_1y"], expected["current"] > expected["avg_1y"], direction)
    assert row["label_3y"] == _label(expected["p_value_3y"], expected["current"] > expected["avg_3y"], direction)


@pytest.mark.parametrize("month", ["2025-12", "2025-03", "2025-04", "2024-12"])
def test_every_count_figure_matches_an_independent_computation(sample_store: Path, raw: pd.DataFrame, month: str) -> None:
    m = _month(month)
    with Store(sample_store, read_only=True) as store:
        pack = build_pack(store, m, levels=["force", "area", "district"])
    table = pack.table
    held = set(raw["month"])
    areas = {"North": ["Peterborough", "Fenland", "Huntingdonshire"], "South": ["Cambridge", "South Cambridgeshire", "East Cambridgeshire"]}
    checked = 0
    for ind in pack.indicators.values():
        if ind.table != "crimes" or ind.measure != "count":
            continue
        [cond] = list(ind.where)
        hit = raw["crime_type"].isin(cond.values)
        rows = raw[~hit] if cond.negate else raw[hit]
        scopes = {("force", FORCE): rows}
        for district, g in rows.groupby("lad_name"):
            scopes[("district", district)] = g
        for area, ds in areas.items():
            scopes[("area", area)] = rows[rows["lad_name"].isin(ds)]
        for (level, name), g in scopes.items():
            monthly = g.groupby("month").size()
            got = table[(table["indicator"] == ind.id) & (table["level"] == level) & (table["area"] == name)]
            assert len(got) == 1, (ind.id, level, name)
            _check(got.iloc[0], _expected_counts(monthly, held, m), ind.direction)
            checked += 1
    assert checked == 15 * (1 + 6 + 2)  # all crime, 13 crime types and ASB; 9 areas


def test_prosecution_possible_rate_matches_statsmodels(sample_store: Path, raw: pd.DataFrame) -> None:
    m = dt.date(2025, 12, 1)
    with Store(sample_store, read_only=True) as store:
        pack = build_pack(store, m, levels=["force", "district"])
    crimes = raw[raw["crime_type"] != ASB]
    for level, name, rows in [("force", FORCE, crimes), ("district", "Fenland", crimes[crimes["lad_name"] == "Fenland"])]:
        got = pack.table[(pack.table["indicator"] == "prosecution_possible_rate") & (pack.table["area"] == name)].iloc[0]
        monthly = rows.groupby("month")["prosecution_possible"].agg(["sum", "size"])
        cur = monthly.loc[m]
        assert got["current"] == pytest.approx(100 * cur["sum"] / cur["size"])
        prior = monthly.loc[[_shift(m, -k) for k in range(1, 13)]].sum()
        assert got["avg_1y"] == pytest.approx(100 * prior["sum"] / prior["size"])
        roll = monthly.loc[[_shift(m, -k) for k in range(12)]].sum()
        base = monthly.loc[[_shift(dt.date(2025, 3, 1), -k) for k in range(12)]].sum()
        assert got["rolling_12m"] == pytest.approx(100 * roll["sum"] / roll["size"])
        assert got["baseline"] == pytest.approx(100 * base["sum"] / base["size"])
        _, p = proportions_ztest([cur["sum"], prior["sum"]], [cur["size"], prior["size"]])
        assert got["p_value_1y"] == pytest.approx(p, rel=1e-9)
        _, p = proportions_ztest([roll["sum"], base["sum"]], [roll["size"], base["size"]])
        assert got["p_value"] == pytest.approx(p, rel=1e-9)
        assert got["test_1y"].startswith("Two-proportion")
        assert level in {"force", "district"}


def test_stop_search_has_no_data_after_2024_and_is_never_a_made_up_zero(sample_store: Path) -> None:
    with Store(sample_store, read_only=True) as store:
        pack = build_pack(store, dt.date(2025, 6, 1), levels=["force"])
    row = pack.table[pack.table["indicator"] == "stop_search"].iloc[0]
    assert pd.isna(row["current"]) and row["prev_1y"] == 236  # June 2024 file: 236 searches
    assert row["label"] == "Insufficient data" and row["label_1y"] == "Insufficient data"


def test_rates_per_1000_use_the_census_population(sample_store: Path, raw: pd.DataFrame) -> None:
    pop = pd.read_csv(REFERENCE / "population.csv.gz", dtype={"code": str})
    force_pop = pop[(pop["level"] == "force") & (pop["code"] == "E23000023")]["population"].iloc[0]
    with Store(sample_store, read_only=True) as store:
        pack = build_pack(store, dt.date(2025, 12, 1), levels=["force"])
    row = pack.table[pack.table["indicator"] == "burglary"].iloc[0]
    rolling = ((raw["crime_type"] == "Burglary") & (raw["month"] >= dt.date(2025, 1, 1))).sum()
    assert row["rolling_12m"] == rolling
    assert row["rate_per_1000"] == pytest.approx(rolling / force_pop * 1000)
    assert row["rate_ci_low"] < row["rate_per_1000"] < row["rate_ci_high"]
    assert pd.isna(row["national_rate_per_1000"])  # one force only: no national average


def test_gap_month_and_three_year_average_on_real_northumbria(tmp_path: Path, shared_data: Path) -> None:
    """Northumbria 2020-05..2023-02 with 2022-01 missing: gaps stay empty, 3-year average works."""
    from thrv.ingest import ingest

    with Store(tmp_path / "n.duckdb") as store:
        ingest(store, [shared_data / "police_uk/northumbria/street"])
        raw = store.df("SELECT month, crime_type FROM crimes")
        pack = build_pack(store, dt.date(2023, 1, 1), levels=["force"])
        gap = build_pack(store, dt.date(2022, 1, 1), levels=["force"])
    raw["month"] = pd.to_datetime(raw["month"]).dt.date
    held = set(raw["month"])
    assert dt.date(2022, 1, 1) not in held
    row = pack.table[pack.table["indicator"] == "all_crime"].iloc[0]
    monthly = raw[raw["crime_type"] != ASB].groupby("month").size()
    expected = _expected_counts(monthly, held, dt.date(2023, 1, 1))
    _check(row, expected, "lower_is_better")
    assert pd.isna(row["prev_1y"])  # January 2022 is the missing month
    assert not pd.isna(row["avg_3y"]) and row["avg_3y_months"] == 31
    gap_row = gap.table[gap.table["indicator"] == "all_crime"].iloc[0]
    assert pd.isna(gap_row["current"]) and gap_row["label_1y"] == "Insufficient data"
    assert np.isnan(gap_row["rolling_12m"])
