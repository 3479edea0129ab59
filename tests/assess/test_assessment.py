"""End to end: build the assessment from the sample store and write every output."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from thrv.assess import AreaError, AssessConfig, build_assessment, parse_formats, write_assessment

SECTIONS = ("summary", "harm", "trends", "hotspots", "vulnerability", "gaps")


def test_model_is_strict_json_with_the_contract_keys(model: dict[str, Any]) -> None:
    text = json.dumps(model, allow_nan=False)
    assert json.loads(text) == model
    prios = model["priorities"]
    assert [p["rank"] for p in prios] == list(range(1, len(prios) + 1))
    assert len(prios) == 14  # the police.uk types; flag themes need a force extract
    scores = [p["score"] for p in prios]
    assert scores == sorted(scores, reverse=True)
    for p in prios:
        assert set(p["inputs"]["impact"]) == {"physical", "psychological", "financial", "community", "societal"}
        assert {"volume", "trend", "harm", "concentration", "vulnerability"} == set(p["inputs"]["likelihood"])
        assert p["why"].startswith("Impact")
    assert model["harm"]["totals"]["harm_cchi"] > 0
    assert len(model["harm"]["schemes"]) == 2
    assert model["meta"]["period"] == {
        "from": "2024-01", "to": "2025-12", "label": "Jan 2024 to Dec 2025", "months_requested": 24,
        "months_held": 24, "months_missing": [], "years": 2.0,
    }
    assert model["summary"]["top_priorities"][0]["theme"] == prios[0]["theme"]


def test_writes_json_csv_html_and_xlsx(model: dict[str, Any], tmp_path: Path) -> None:
    written = write_assessment(model, tmp_path, ("html", "xlsx"))
    names = {p.name for p in written}
    assert {"assessment.json", "assessment.html", "assessment.xlsx", "priorities.csv", "harm_by_type.csv",
            "harm_by_area_month.csv", "trends.csv", "emerging_issues.csv", "hotspot_hexagons.csv",
            "lsoa_rates.csv", "persistent_lsoas.csv", "repeat_locations.csv", "data_gaps.csv"} <= names
    assert json.loads((tmp_path / "assessment.json").read_text(encoding="utf-8"))["priorities"]
    html = (tmp_path / "assessment.html").read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'id="{section}"' in html
    assert html.count("<svg") >= 6
    assert "http://" not in html.replace("http://www.w3.org", "")
    assert "Top priorities and why" in html
    assert model["priorities"][0]["theme"] in html
    prio = pd.read_csv(tmp_path / "priorities.csv")
    assert prio["rank"].tolist() == list(range(1, len(prio) + 1))
    assert {"impact_physical", "trend_score", "harm_value", "rank_cchi_only", "why"} <= set(prio.columns)
    book = openpyxl.load_workbook(tmp_path / "assessment.xlsx", read_only=True)
    assert {"About", "priorities", "harm_by_type"} <= set(book.sheetnames)


def test_single_month_runs_and_says_what_it_cannot_compute(sample_ro: Any) -> None:
    month = dt.date(2025, 6, 1)
    single = build_assessment(sample_ro, month, month, area="Cambridgeshire Constabulary")
    items = {c["item"] for c in single["cannot_compute"]}
    assert {"Long-term trends", "SPC signals", "Persistent hot LSOAs"} <= items
    assert all(not p["inputs"]["likelihood"]["trend"]["available"] for p in single["priorities"])
    assert single["priorities"][0]["score"] is not None
    # the same month a year earlier is in the store, so the recent comparison still runs
    row = next(r for r in single["trends"]["series"] if r["level"] == "scope" and r["theme"] == "Robbery")
    assert row["recent_from"] == row["recent_to"] == "2025-06"
    assert row["recent_p"] is not None
    assert "1 month)" in single["summary"]["headline"][0]


def test_pdf_from_the_same_model(sample_ro: Any, tmp_path: Path) -> None:
    """A single month of one district: the HTML behind the PDF also renders a one-point period."""
    month = dt.date(2025, 6, 1)
    small = build_assessment(sample_ro, month, month, area="Fenland", config=AssessConfig(map_layers=0, table_rows=5))
    written = write_assessment(small, tmp_path, parse_formats("pdf"))
    assert (tmp_path / "assessment.pdf").read_bytes()[:4] == b"%PDF"
    assert not (tmp_path / "assessment.html").exists()
    assert any(p.name == "assessment.pdf" for p in written)


def test_district_and_area_scopes(sample_ro: Any) -> None:
    fenland = build_assessment(sample_ro, dt.date(2025, 1, 1), dt.date(2025, 12, 1), area="fenland")
    scope = fenland["meta"]["scope"]
    assert (scope["level"], scope["name"], scope["districts"], scope["lsoas"]) == ("district", "Fenland", ["Fenland"], 56)
    assert {r["level"] for r in fenland["trends"]["series"]} == {"scope"}
    north = build_assessment(sample_ro, dt.date(2025, 1, 1), dt.date(2025, 12, 1), area="North",
                             config=AssessConfig(h3_resolution=7))
    assert north["meta"]["scope"]["districts"] == ["Fenland", "Huntingdonshire", "Peterborough"]
    assert north["places"]["hotspots"]["resolution"] == 7


def test_errors_name_the_choices(sample_ro: Any) -> None:
    with pytest.raises(AreaError, match=r"choose from: .*Fenland"):
        build_assessment(sample_ro, dt.date(2025, 1, 1), dt.date(2025, 2, 1), area="Atlantis")
    with pytest.raises(ValueError, match="holds 2024-01 to 2025-12"):
        build_assessment(sample_ro, dt.date(2019, 1, 1), dt.date(2019, 12, 1))
    with pytest.raises(ValueError, match="before"):
        build_assessment(sample_ro, dt.date(2025, 2, 1), dt.date(2025, 1, 1))
    with pytest.raises(ValueError, match="--format"):
        parse_formats("html,docx")


def test_hot_spots_for_one_crime_type(sample_ro: Any, sample_store: Path) -> None:
    """`--hotspots-for Burglary` maps burglary alone; its total is the month's mapped burglaries
    in Fenland counted straight from the store; a misspelt type is refused with the right name."""
    import duckdb

    from thrv.reference import REFERENCE

    month = dt.date(2025, 6, 1)
    config = AssessConfig(map_layers=0, table_rows=5, hotspot_crime_types=("burglary",))
    fenland = build_assessment(sample_ro, month, month, area="Fenland", config=config)
    layers = {layer["title"]: layer for layer in fenland["places"]["hotspots"]["layers"]}
    assert "Burglary" in layers
    lsoa = pd.read_csv(REFERENCE / "lsoa.csv.gz", dtype=str)
    codes = lsoa.loc[lsoa["lad_name"] == "Fenland", "lsoa_code"].tolist()
    con = duckdb.connect(str(sample_store), read_only=True)
    expected = con.execute(
        "SELECT count(*) FROM crimes WHERE month = DATE '2025-06-01' AND crime_type = 'Burglary' "
        "AND latitude IS NOT NULL AND list_contains(?, lsoa_code)", [codes]
    ).fetchone()[0]  # type: ignore[index]
    con.close()
    assert expected > 0 and layers["Burglary"]["total"] == expected
    with pytest.raises(ValueError, match="did you mean 'Burglary'"):
        build_assessment(sample_ro, month, month, area="Fenland",
                         config=AssessConfig(map_layers=0, hotspot_crime_types=("Burglery",)))
