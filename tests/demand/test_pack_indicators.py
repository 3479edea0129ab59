"""The demand indicators in the performance pack, against figures worked out by hand.

A small invented extract (no force publishes these records) is ingested and the pack built;
each force-level figure for July 2024 is compared with the value computed by hand below.
"""

from __future__ import annotations

import datetime as dt
import textwrap

import numpy as np
import pytest

from thrv.indicators.definitions import DEMAND_INDICATORS, load_indicators
from thrv.indicators.pack import build_pack
from thrv.ingest import ingest
from thrv.store.database import Store

FORCE = "Cambridgeshire Constabulary"

CALLS = """
    call_id,line,offered_at,answered_at,force
    C1,999,2024-07-01 10:00:00,2024-07-01 10:00:05,{f}
    C2,999,2024-07-02 10:00:00,2024-07-02 10:00:10,{f}
    C3,999,2024-07-03 10:00:00,2024-07-03 10:00:11,{f}
    C4,999,2024-07-04 10:00:00,,{f}
    C5,101,2024-07-05 10:00:00,2024-07-05 10:00:29,{f}
    C6,101,2024-07-06 10:00:00,2024-07-06 10:02:00,{f}
    C7,999,2024-06-01 10:00:00,2024-06-01 10:00:02,{f}
"""
INCIDENTS = """
    incident_id,created_at,grade,opening_category,lsoa_code,first_arrival_at,force
    I1,2024-07-01 10:00:00,immediate,crime,E01017966,2024-07-01 10:08:00,{f}
    I2,2024-07-02 10:00:00,immediate,mental health,E01017966,2024-07-02 10:15:00,{f}
    I3,2024-07-03 10:00:00,immediate,concern for welfare,E01018085,2024-07-03 10:21:00,{f}
    I4,2024-07-04 10:00:00,immediate,road traffic,E01018085,2024-07-04 10:40:00,{f}
    I5,2024-07-05 10:00:00,prompt,asb,E01018085,2024-07-05 11:30:00,{f}
    I6,2024-07-06 10:00:00,resolved without deployment,admin,,,{f}
    I7,2024-06-06 10:00:00,immediate,crime,,2024-06-06 10:50:00,{f}
"""
SURVEYS = """
    response_id,survey,responded_at,area,question,answer,force
    R1,victim_satisfaction,2024-07-03,Fenland,whole_experience,Completely satisfied,{f}
    R2,victim_satisfaction,2024-07-04,Fenland,whole_experience,Fairly satisfied,{f}
    R3,victim_satisfaction,2024-07-05,Fenland,whole_experience,Fairly dissatisfied,{f}
    R4,victim_satisfaction,2024-07-06,Fenland,whole_experience,Don't know,{f}
    R5,public_confidence,2024-07-06,Fenland,confidence,Tend to agree,{f}
"""


@pytest.fixture(scope="module")
def pack_rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    folder = tmp_path_factory.mktemp("extracts")
    for name, text in (("calls", CALLS), ("incidents", INCIDENTS), ("survey_responses", SURVEYS)):
        (folder / f"{name}.csv").write_text(textwrap.dedent(text).lstrip().format(f=FORCE))
    with Store(folder / "store.duckdb") as store:
        assert ingest(store, [folder]).ok
        pack = build_pack(store, dt.date(2024, 7, 1), levels=("force",))
    rows = pack.table[pack.table["level"] == "force"]
    return {r["indicator"]: r for r in rows.to_dict("records")}


def test_required_demand_indicator_ids_are_defined() -> None:
    ids = {i.id for i in load_indicators([DEMAND_INDICATORS])}
    required = {
        "calls_999_answered_10s", "calls_101_answered_30s", "calls_999_abandoned_rate", "response_immediate_median",
        "response_immediate_p90", "response_prompt_median", "response_prompt_p90", "incidents_non_crime_share",
        "victim_satisfaction_whole_experience", "public_confidence",
    }
    assert required <= ids
    assert {i for i in ids if i.startswith("incidents_share_")} >= {"incidents_share_mental_health", "incidents_share_road_traffic"}
    assert all(not i.generated for i in load_indicators([DEMAND_INDICATORS]))


def test_grade_of_service_by_hand(pack_rows: dict[str, dict[str, object]]) -> None:
    # July 999: C1 5 s, C2 10 s (within), C3 11 s, C4 abandoned -> 2 of 4 within 10 s
    assert pack_rows["calls_999_answered_10s"]["current"] == pytest.approx(50.0)
    assert pack_rows["calls_999_abandoned_rate"]["current"] == pytest.approx(25.0)
    # July 101: 29 s within 30 s, 120 s not -> 1 of 2
    assert pack_rows["calls_101_answered_30s"]["current"] == pytest.approx(50.0)
    assert pack_rows["calls_999"]["current"] == 4
    assert pack_rows["calls_999"]["prev_1y"] is None or np.isnan(float(pack_rows["calls_999"]["prev_1y"]))  # type: ignore[arg-type]


def test_response_times_and_non_crime_share_by_hand(pack_rows: dict[str, dict[str, object]]) -> None:
    immediate = np.array([8.0, 15.0, 21.0, 40.0])  # July immediate incidents attended
    assert pack_rows["response_immediate_median"]["current"] == pytest.approx(np.median(immediate))  # 18.0
    assert pack_rows["response_immediate_p90"]["current"] == pytest.approx(np.quantile(immediate, 0.9))
    assert pack_rows["response_prompt_median"]["current"] == pytest.approx(90.0)
    # July: 6 incidents, one crime -> 5 non-crime
    assert pack_rows["incidents_non_crime_share"]["current"] == pytest.approx(100 * 5 / 6)
    assert pack_rows["incidents_share_mental_health"]["current"] == pytest.approx(100 / 6)


def test_satisfaction_excludes_dont_know_from_the_base(pack_rows: dict[str, dict[str, object]]) -> None:
    # completely and fairly satisfied of three who answered (don't know left out)
    assert pack_rows["victim_satisfaction_whole_experience"]["current"] == pytest.approx(200 / 3)
    assert pack_rows["victim_satisfaction_whole_experience"]["current_den"] == 3
    assert pack_rows["public_confidence"]["current"] == pytest.approx(100.0)


def test_ids_contain_999_and_immediate(pack_rows: dict[str, dict[str, object]]) -> None:
    assert any("999" in i for i in pack_rows)
    assert any("immediate" in i for i in pack_rows)

