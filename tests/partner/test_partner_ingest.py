"""Partner area measures and incidents: every row stored or quarantined, on real partner files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import given

from thrv.partner_ingest import ingest_partner
from thrv.sources.mapping import MappingError
from thrv.sources.partner_areas import resolve
from thrv.sources.partner_mapping import load_partner_mapping, parse_partner_mapping
from thrv.sources.partner_periods import parse_period
from thrv.store.database import Store
from thrv.store.partner import ensure_tables

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "partner-sample"
MAPPING = load_partner_mapping(SAMPLE / "mapping.toml")


def test_sample_files_reconcile_and_reingest_is_a_no_op(store: Store) -> None:
    report = ingest_partner(store, [SAMPLE], "partners", mapping=MAPPING)
    assert report.ok, [f.message for f in report.refused]
    for outcome in report.files:
        assert outcome.reconciles, outcome
    again = ingest_partner(store, [SAMPLE], "partners", mapping=MAPPING)
    assert {f.status for f in again.files} == {"skipped"}
    log = store.df("SELECT sum(rows_read) r, sum(rows_stored) s, sum(rows_quarantined) q FROM ingest_log")
    assert int(log.r[0]) == int(log.s[0]) + int(log.q[0])
    # Defra's regional and England total rows are quarantined as totals, the six districts stored
    defra = store.df("SELECT count(DISTINCT area_code) n, count(*) n_rows FROM partner_measures "
                     "WHERE dataset = 'defra_flytipping' AND measure = 'Fly-tipping incidents'")
    assert int(defra.n[0]) == 6 and int(defra.n_rows[0]) == 66
    totals = store.df("SELECT count(*) n FROM quarantine WHERE reason LIKE 'a total row%'")
    assert int(totals.n[0]) == 21
    # a published figure: Cambridge 2,188 fly-tipping incidents in 2022-23
    cambridge = store.df("SELECT value FROM partner_measures WHERE area_code = 'E07000008' AND "
                         "measure = 'Fly-tipping incidents' AND period_label = '2022/23'")
    assert cambridge.value.tolist() == [2188.0]


def test_2011_lsoas_translated_without_down_scaling(store: Store) -> None:
    ingest_partner(store, [SAMPLE / "fms_lsoa_month_asb_categories_cambridgeshire.csv.gz"], "fixmystreet",
                   mapping=MAPPING)
    rows = store.df("SELECT area_code, area_vintage, lsoa21_code, district_code FROM partner_measures")
    ref = store.df("SELECT lsoa_code, vintage, lsoa21_code, lad_code, change_code FROM ref_lsoa")
    joined = rows.merge(ref, left_on="area_code", right_on="lsoa_code", suffixes=("", "_ref"))
    assert len(joined) == len(rows) == 4665
    split = joined[(joined["vintage"] == 2011) & joined["change_code"].isin(["S", "X"])]
    assert len(split) and split["lsoa21_code"].isna().all()  # a split LSOA is not given to one successor
    kept = joined[joined["lsoa21_code"].notna()]
    assert (kept["lsoa21_code"] == kept["lsoa21_code_ref"]).all()
    assert (joined["district_code"] == joined["lad_code"]).all()


def test_lfb_incidents_on_2022_wards(store: Store, shared_data: Path) -> None:
    path = shared_data / "partner/lfb_incidents_hounslow_2019_2022/lfb_incidents_hounslow_2019-01_to_2022-11.csv.gz"
    report = ingest_partner(store, [path], "lfb", mapping=MAPPING)
    outcome = report.files[0]
    assert outcome.rows_read == 11529 and outcome.reconciles
    by_district = store.df("SELECT district_code, count(*) n FROM partner_incidents GROUP BY 1 ORDER BY n DESC")
    assert by_district.district_code[0] == "E09000018"  # Hounslow
    assert int(by_district.n.sum()) == outcome.rows_stored
    years = store.df("SELECT year(occurred_on) y, count(*) n FROM partner_incidents GROUP BY 1 ORDER BY 1")
    assert years.n.tolist()[:3] == [2826, 2740, 2826]  # as published (PROVENANCE: per-year counts)


def test_gla_wards_of_an_older_set_are_quarantined_not_guessed(store: Store, shared_data: Path) -> None:
    report = ingest_partner(store, [shared_data / "partner/gla_ward_profiles_2015"], "gla", mapping=MAPPING)
    outcome = report.files[0]
    assert outcome.rows_read == 660 and outcome.reconciles and outcome.rows_quarantined > 0
    reasons = store.df("SELECT reason FROM quarantine")["reason"]
    assert reasons.str.contains("not a ward code in the shipped lookups").all()


def test_area_codes_placed_or_refused() -> None:
    former = resolve("E07000004")  # Aylesbury Vale, merged into Buckinghamshire in 2020
    assert not isinstance(former, str) and former.district_code == "E06000060"
    county = resolve("E10000003")
    assert not isinstance(county, str) and county.level == "county" and county.county_code == "E10000003"
    assert isinstance(resolve("S12000033"), str) and "outside England and Wales" in str(resolve("S12000033"))
    assert "not an ONS area code" in str(resolve("*Total"))
    assert "is a lsoa code" in str(resolve("E01000001", "district"))


def test_periods() -> None:
    assert parse_period("2018/19")[1:3] == (dt.date(2018, 4, 1), dt.date(2019, 3, 31))  # type: ignore[index]
    assert parse_period("2022-23")[0] == "financial_year"  # type: ignore[index]
    assert parse_period("2019-02")[1:3] == (dt.date(2019, 2, 1), dt.date(2019, 2, 28))  # type: ignore[index]
    assert parse_period("2019 Q3")[1:3] == (dt.date(2019, 7, 1), dt.date(2019, 9, 30))  # type: ignore[index]
    assert parse_period("2016/17 - 18/19")[1:3] == (dt.date(2016, 4, 1), dt.date(2019, 3, 31))  # type: ignore[index]
    assert isinstance(parse_period("2018/20"), str)
    assert isinstance(parse_period("2019-13"), str)


@given(st.integers(1950, 2090), st.integers(1, 12))
def test_period_labels_parse_back(year: int, month: int) -> None:
    for text in (f"{year}-{month:02d}", f"{year}/{(year + 1) % 100:02d}", f"{year} Q{(month - 1) // 3 + 1}", str(year)):
        found = parse_period(text)
        assert not isinstance(found, str)
        assert parse_period(found[3], found[0]) == found
        assert found[1] <= found[2]


def test_mapping_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="unknown key"):
        parse_partner_mapping({"measures": [{"dataset": "d", "area": "a", "period": "p", "values": {"v": "m"},
                                              "colour": "red"}]}, "m.toml")
    with pytest.raises(MappingError, match="exactly one of period"):
        parse_partner_mapping({"measures": [{"dataset": "d", "area": "a", "values": {"v": "m"}}]}, "m.toml")


def test_unparseable_values_quarantined(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("code,year,n\nE07000008,2019,5\nE07000008,2020,lots\nE07000008,2021,:\nXX,2019,1\n", encoding="utf-8")
    mapping = parse_partner_mapping({"measures": [{"dataset": "d", "area": "code", "period": "year",
                                                   "values": {"n": "count of things"}}]}, "m.toml")
    outcome = ingest_partner(store, [path], "p", mapping=mapping).files[0]
    assert (outcome.rows_read, outcome.rows_stored, outcome.rows_quarantined) == (4, 2, 2)
    ensure_tables(store)
    values = store.df("SELECT period_label, value FROM partner_measures ORDER BY 1")
    assert values.value.isna().tolist() == [False, True]  # ':' is "not available": stored as missing
