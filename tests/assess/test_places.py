"""The same places on the real sample: police demand beside real partner measures, checked independently."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from thrv.assess import concentration as conc
from thrv.assess import query
from thrv.assess.config import AssessConfig
from thrv.assess.harm import add_harm, load_schemes
from thrv.assess.places import load_config, need_index, same_places, standardise
from thrv.assess.scope import resolve_scope
from thrv.partner_ingest import ingest_partner
from thrv.sources.partner_mapping import load_partner_mapping
from thrv.store.database import Store

ROOT = Path(__file__).resolve().parents[2]
PARTNER = ROOT / "data" / "partner-sample"
FIRST, LAST = dt.date(2024, 1, 1), dt.date(2025, 12, 1)


@pytest.fixture(scope="module")
def profiled(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    path = tmp_path_factory.mktemp("places") / "s.duckdb"
    shutil.copy(sample_store, path)
    mapping = load_partner_mapping(PARTNER / "mapping.toml")
    with Store(path) as store:
        for pattern, partner in (("fms_lsoa*", "fixmystreet"), ("defra*", "council"), ("fingertips_a*", "health"),
                                 ("dwelling*", "fire")):
            report = ingest_partner(store, sorted(PARTNER.glob(pattern)), partner, mapping=mapping)
            assert report.ok
        con = store.ibis()
        config = AssessConfig()
        scope = resolve_scope(con, None, config.areas_file)
        schemes = load_schemes(config.harm_schemes)
        period = query.month_range(FIRST, LAST)
        cube = add_harm(query.crime_cube(con, scope, FIRST, LAST), schemes)
        lsoas = conc.lsoa_counts(cube[cube["month"].isin(period)], scope, schemes)
        section = same_places(con, scope, lsoas, period, schemes[0].key)
    return section, path


def _measure(section: dict[str, Any], grain: str, key: str) -> dict[str, float]:
    return {r["code"]: r["measures"][key]["value"] for r in section["grains"][grain]["table"]}


def test_police_district_rate_matches_a_direct_count(profiled: tuple[dict[str, Any], Path]) -> None:
    section, path = profiled
    values = _measure(section, "district", "police:crime_rate")
    with Store(path, read_only=True) as store:
        direct = store.df(
            "SELECT l.lad_code, count(*) n FROM crimes c JOIN ref_lsoa l ON l.lsoa_code = c.lsoa_code "
            "WHERE c.month BETWEEN ? AND ? AND c.crime_type <> 'Anti-social behaviour' AND "
            "c.force = 'Cambridgeshire Constabulary' GROUP BY 1", [FIRST, LAST])
        pop = store.df("SELECT code, population FROM ref_population WHERE level = 'district'")
    d = direct.merge(pop, left_on="lad_code", right_on="code")
    for code, n, population in zip(d["lad_code"], d["n"], d["population"], strict=True):
        if code in values:
            assert values[code] == pytest.approx(n / population * 1000 / 2, rel=1e-9)


def test_lsoa_counts_added_up_to_districts_never_split(profiled: tuple[dict[str, Any], Path]) -> None:
    section, _ = profiled
    raw = pd.read_csv(io.BytesIO(gzip.decompress((PARTNER / "fms_lsoa_month_asb_categories_cambridgeshire.csv.gz")
                                                 .read_bytes())), dtype={"reports": float})
    lsoa = pd.read_csv(ROOT / "src/thrv/data/reference/lsoa.csv.gz", usecols=["lsoa_code", "lad_code"])
    pop = pd.read_csv(ROOT / "src/thrv/data/reference/population.csv.gz")
    pop = pop[pop["level"] == "district"].set_index("code")["population"]
    tipping = raw[(raw["category"] == "Fly-tipping") & raw["month"].str.startswith("2020")].merge(lsoa, on="lsoa_code")
    expected = tipping.groupby("lad_code")["reports"].sum()
    key = "fixmystreet_lsoa:FixMyStreet reports: Fly-tipping"
    got = _measure(section, "district", key)
    for code, total in expected.items():
        assert got[code] == pytest.approx(total / pop[code] * 1000 * 365.25 / 366, rel=1e-9)  # 2020: 366 days
    grains = {m["grain"] for m in section["measures"] if m["key"] == "defra_flytipping:Fly-tipping incidents per 1,000 people"}
    assert grains == {"district"}  # a published district rate is not split to LSOAs nor added up
    assert not any(m["grain"] == "lsoa" and m["key"].startswith(("defra", "fingertips", "dwelling")) for m in section["measures"])


def test_periods_reported_when_they_differ(profiled: tuple[dict[str, Any], Path]) -> None:
    section, _ = profiled
    defra = next(m for m in section["measures"] if m["key"] == "defra_flytipping:Fly-tipping incidents")
    assert defra["window"] == "2022/23" and defra["same_period"] is False  # latest year, not the police period
    assert any("2022/23" in d for d in section["different_periods"])


def test_scores_and_ranks(profiled: tuple[dict[str, Any], Path]) -> None:
    section, _ = profiled
    rows = section["grains"]["district"]["table"]
    key = "defra_flytipping:Fly-tipping incidents per 1,000 people"
    values = np.array([r["measures"][key]["value"] for r in rows])
    z = np.array([r["measures"][key]["z"] for r in rows])
    np.testing.assert_allclose(z, stats.zscore(values, ddof=1))
    ranks = [r["measures"][key]["rank"] for r in rows]
    assert ranks == list(stats.rankdata(-values, method="min"))
    peterborough = next(r for r in rows if r["code"] == "E06000031")
    assert peterborough["measures"][key]["value"] == pytest.approx(45.67189545485864)  # as Defra publishes


def test_need_index_is_the_weighted_mean_of_z(profiled: tuple[dict[str, Any], Path]) -> None:
    section, _ = profiled
    index = section["grains"]["district"]["need_index"]
    assert index["available"]
    weights = {c["measure"]: c["weight"] for c in index["components"]}
    rows = section["grains"]["district"]["table"]
    for place in index["places"]:
        row = next(r for r in rows if r["code"] == place["code"])
        manual = sum(w * row["measures"][k]["z"] for k, w in weights.items()) / sum(weights.values())
        assert place["index"] == pytest.approx(manual)
        assert place["rank_5pct"] <= place["rank"] <= place["rank_95pct"] or place["rank_5pct"] <= place["rank_95pct"]
    assert 0 <= index["sensitivity"]["top_place_share_of_draws"] <= 1
    assert len(index["sensitivity"]["leave_one_out"]) == len(index["components"])


def test_need_index_sensitivity_is_seeded_and_weights_matter() -> None:
    from thrv.assess.places import IndexComponent, Measure, PlacesConfig

    places = pd.DataFrame({"code": list("abcde"), "name": list("ABCDE"), "population": [1.0] * 5})
    m1 = Measure("x:a", "a", "p", "district", pd.Series([5, 4, 3, 2, 1.0], index=list("abcde")), "rate", "", True)
    m2 = Measure("x:b", "b", "p", "district", pd.Series([1, 2, 3, 4, 5.0], index=list("abcde")), "rate", "", True)
    equal = PlacesConfig(index=(IndexComponent("a", "x:a", 1.0), IndexComponent("b", "x:b", 1.0)))
    tilted = PlacesConfig(index=(IndexComponent("a", "x:a", 3.0), IndexComponent("b", "x:b", 1.0)))
    assert need_index([m1, m2], places, tilted)["places"][0]["code"] == "a"
    assert need_index([m1, m2], places, tilted) == need_index([m1, m2], places, tilted)
    assert all(p["index"] == pytest.approx(0) for p in need_index([m1, m2], places, equal)["places"])
    assert standardise(pd.Series([1.0, 1.0])).isna().all()


def test_colocation_by_lsoa(profiled: tuple[dict[str, Any], Path]) -> None:
    section, _ = profiled
    colo = section["colocation"]
    assert colo, "FixMyStreet LSOA measures are tested against police crime and ASB"
    for c in colo:
        assert c["places"] >= load_config().min_places
        assert -1 <= c["lees_l"] <= 1 and 0 < c["lees_p"] <= 1 and 0 < c["lees_q"] <= 1
        assert c["high_high"] == len(c["places_high_high"]) or len(c["places_high_high"]) == load_config().top


def test_section_renders_in_the_assessment(profiled: tuple[dict[str, Any], Path]) -> None:
    from thrv.report.html import environment

    section, _ = profiled
    env = environment()
    env.filters.update({"num": lambda v, *a: "" if v is None else f"{v:,.1f}", "p": lambda v: f"{v:.3f}",
                        "pct": lambda v, *a: str(v)})
    html = env.get_template("assessment_places.html.j2").render(m={"same_places": section})
    assert "Places where agencies' demand coincides" in html and "Lee's L" in html and "need index" in html
