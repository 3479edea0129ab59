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
from statsmodels.stats.proportion import proportions_ztest

from thrv.indicators.pack import build_pack
from thrv.reference import REFERENCE
from thrv.store.database import Store

from ..reference_stats import count_p, dispersion, month_vs_average, window

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
    # charged or summonsed: Home Office outcome type 1 (or 1A), read from the reference's
    # own outcome-type column rather than its `charged` flag
    charged = outcomes[outcomes["home_office_outcome_types"].fillna("").str.split(";").map(lambda t: bool({"1", "1A"} & set(t)))]
    df["charged"] = df["last_outcome_category"].isin(set(charged["outcome"]))
    return df


def _window(end: dt.date, n: int) -> list[dt.date]:
    return window(end, n)


def _expected_counts(monthly: pd.Series, held: set[dt.date], m: dt.date) -> dict[str, float]:
    """The pack's count columns and p-values, computed plainly (statsmodels for the model)."""

    def val(month: dt.date) -> float:
        return float(monthly.get(month, 0)) if month in held else math.nan

    out = {"current": val(m)}
    for k in (1, 2, 3):
        out[f"prev_{k}y"] = val(_shift(m, -12 * k))
    phi = dispersion(monthly, held, m)
    out["dispersion"] = phi
    for label, n, need in (("avg_1y", 12, 9), ("avg_3y", 36, 27)):
        months = [x for x in _window(_shift(m, -1), n) if x in held]
        total = sum(float(monthly.get(x, 0)) for x in months)
        out[label] = total / len(months) if len(months) >= need else math.nan
        key = label[4:]
        if math.isnan(out[label]) or math.isnan(out["current"]):
            out[f"p_value_{key}"] = math.nan
            continue
        out[f"p_value_{key}"], out[f"expected_{key}"] = month_vs_average(monthly, held, m, months)
    roll = _window(m, 12)
    out["rolling_12m"] = sum(float(monthly.get(x, 0)) for x in roll) if all(x in held for x in roll) else math.nan
    base = _window(_last_march_before(m), 12)
    out["baseline"] = sum(float(monthly.get(x, 0)) for x in base) if all(x in held for x in base) else math.nan
    # the rolling 12 months against the baseline on the months they do not share
    r_only = [x for x in roll if x not in base]
    b_only = [x for x in base if x not in roll]
    if math.isnan(out["rolling_12m"]) or math.isnan(out["baseline"]):
        out["p_value"] = math.nan
    else:
        a = sum(float(monthly.get(x, 0)) for x in r_only)
        b = sum(float(monthly.get(x, 0)) for x in b_only)
        out["p_value"] = count_p(a, len(r_only), b, len(b_only), phi)
        out["_rb"] = (a, b)
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
    cols = ("current", "prev_1y", "prev_2y", "prev_3y", "avg_1y", "avg_3y", "rolling_12m", "baseline", "dispersion",
            "p_value", "p_value_1y", "p_value_3y")
    for col in cols:
        got, want = row[col], expected[col]
        if math.isnan(want):
            assert pd.isna(got), f"{row['indicator']} {row['area']} {col}: expected empty, got {got}"
        else:
            # statsmodels stops its fit at a deviance tolerance of 1e-8: φ and the model-based
            # p-values agree to about 1e-7; counts and plain tests exactly
            assert got == pytest.approx(want, rel=1e-6, abs=1e-12), f"{row['indicator']} {row['area']} {col}"
    for key in ("1y", "3y"):
        if f"expected_{key}" in expected and not math.isnan(expected[f"p_value_{key}"]):
            assert row[f"expected_{key}"] == pytest.approx(expected[f"expected_{key}"], rel=1e-6)
    a, b = expected.get("_rb", (math.nan, math.nan))
    assert row["label"] == _label(expected["p_value"], a > b, direction)
    assert row["label_1y"] == _label(expected["p_value_1y"], expected["current"] > expected.get("expected_1y", math.nan), direction)
    assert row["label_3y"] == _label(expected["p_value_3y"], expected["current"] > expected.get("expected_3y", math.nan), direction)


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
            _check(got.iloc[0], _expected_counts(monthly, held, m), ind.label_direction)
            checked += 1
    assert checked == 15 * (1 + 6 + 2)  # all crime, 13 crime types and ASB; 9 areas


@pytest.mark.parametrize("month", ["2025-12", "2025-06"])
def test_charge_rate_matches_statsmodels_and_leaves_immature_months_out(sample_store: Path, raw: pd.DataFrame, month: str) -> None:
    """The charge rate (Home Office outcome 1) on real crimes; the store's latest three months
    (2025-10 to 2025-12) are immature: marked, and left out of the tests with the same
    calendar months of the baseline."""
    m = _month(month)
    with Store(sample_store, read_only=True) as store:
        pack = build_pack(store, m, levels=["force", "district"])
    crimes = raw[raw["crime_type"] != ASB]
    immature = {dt.date(2025, 10, 1), dt.date(2025, 11, 1), dt.date(2025, 12, 1)}
    roll = _window(m, 12)
    base = _window(_last_march_before(m), 12)
    r_only = [x for x in roll if x not in base]
    b_only = [x for x in base if x not in roll]
    dropped = {x.month for x in r_only + b_only if x in immature}
    r_test = [x for x in r_only if x.month not in dropped]
    b_test = [x for x in b_only if x.month not in dropped]
    for name, rows in [(FORCE, crimes), ("Fenland", crimes[crimes["lad_name"] == "Fenland"])]:
        got = pack.table[(pack.table["indicator"] == "prosecution_possible_rate") & (pack.table["area"] == name)].iloc[0]
        monthly = rows.groupby("month")["charged"].agg(["sum", "size"])
        cur = monthly.loc[m]
        assert got["current"] == pytest.approx(100 * cur["sum"] / cur["size"])
        prior = monthly.loc[_window(_shift(m, -1), 12)].sum()
        assert got["avg_1y"] == pytest.approx(100 * prior["sum"] / prior["size"])
        assert got["rolling_12m"] == pytest.approx(100 * monthly.loc[roll]["sum"].sum() / monthly.loc[roll]["size"].sum())
        assert got["baseline"] == pytest.approx(100 * monthly.loc[base]["sum"].sum() / monthly.loc[base]["size"].sum())
        if m in immature:
            assert got["maturity"] == "immature"
            assert got["label_1y"] == "Immature" and pd.isna(got["p_value_1y"]) and got["test_1y"] == ""
        else:
            assert got["maturity"] == "mature"
            _, p = proportions_ztest([cur["sum"], prior["sum"]], [cur["size"], prior["size"]])
            assert got["p_value_1y"] == pytest.approx(p, rel=1e-9)
            assert got["test_1y"].startswith("Two-proportion")
        a, b = monthly.loc[r_test].sum(), monthly.loc[b_test].sum()
        _, p = proportions_ztest([a["sum"], b["sum"]], [a["size"], b["size"]])
        assert got["p_value"] == pytest.approx(p, rel=1e-9)
    assert r_test and (len(r_test) < len(r_only)) == (m in immature)


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
    assert expected["dispersion"] > 1  # 32 months of history: the test allows for over-dispersion
    _check(row, expected, "none")  # a crime volume: Higher / Lower
    assert pd.isna(row["prev_1y"])  # January 2022 is the missing month
    assert not pd.isna(row["avg_3y"]) and row["avg_3y_months"] == 31
    gap_row = gap.table[gap.table["indicator"] == "all_crime"].iloc[0]
    assert pd.isna(gap_row["current"]) and gap_row["label_1y"] == "Insufficient data"
    assert np.isnan(gap_row["rolling_12m"])
