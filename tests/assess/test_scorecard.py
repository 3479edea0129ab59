"""Scorecard of earlier calls: the measures by hand, and the sample's scores recomputed from the store."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import duckdb
import h3
import numpy as np
import pytest

from thrv.assess import scorecard as sc
from thrv.assess.config import AssessConfig
from thrv.assess.query import add_months
from thrv.store.database import Store


def test_hotspot_scores_by_hand() -> None:
    hot = np.array([True, True, False, False, False])
    y = np.array([5, 3, 2, 0, 10])
    s = sc.hotspot_scores(hot, y)
    assert s["hit_rate_pct"] == pytest.approx(8 / 20 * 100)
    assert s["area_share_pct"] == pytest.approx(40.0)
    assert s["pai"] == pytest.approx((8 / 20) / (2 / 5))
    assert s["pei"] == pytest.approx(8 / (10 + 5))  # the best two hexagons hold 15
    # unequal areas: the two hot hexagons are a tenth of the area
    s = sc.hotspot_scores(hot, y, areas=np.array([0.5, 0.5, 3.0, 3.0, 3.0]))
    assert s["pai"] == pytest.approx((8 / 20) / (1 / 10))
    empty = sc.hotspot_scores(np.zeros(5, bool), y)
    assert empty["pai"] is None and empty["hit_rate_pct"] is None


def test_busiest_breaks_ties_to_the_earlier_hexagon() -> None:
    assert sc.busiest(np.array([3, 7, 7, 1]), 2).tolist() == [False, True, True, False]
    assert sc.busiest(np.array([3, 7, 7, 1]), 1).tolist() == [False, True, False, False]
    assert not sc.busiest(np.array([3, 7]), 0).any()


def _kendall_by_pairs(a: list[int], b: list[int]) -> float:
    c = d = 0
    for i, j in itertools.combinations(range(len(a)), 2):
        s = (a[i] - a[j]) * (b[i] - b[j])
        c += s > 0
        d += s < 0
    return (c - d) / (len(a) * (len(a) - 1) / 2)


def test_rank_stability_by_hand() -> None:
    before = {"A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6}
    after = {"A": 2, "B": 1, "C": 3, "D": 4, "E": 6, "F": 5, "G": 7}
    r = sc.rank_stability(before, after, top=2)
    d2 = sum((before[t] - after[t]) ** 2 for t in before)
    assert r["spearman_rho"] == pytest.approx(1 - 6 * d2 / (6 * (36 - 1)))
    assert r["kendall_tau"] == pytest.approx(_kendall_by_pairs(list(before.values()), [after[t] for t in before]))
    assert r["themes"] == 6 and r["top_kept"] == 2
    assert sc.rank_stability({"A": 1}, {"A": 1})["spearman_rho"] is None


def test_call_origins() -> None:
    months = [add_months(dt.date(2024, 1, 1), i) for i in range(24)]
    assert sc.call_origins(months, dt.date(2025, 12, 1), 6, 6) == [dt.date(2024, 6, 1), dt.date(2024, 12, 1), dt.date(2025, 6, 1)]
    assert sc.call_origins(months, dt.date(2025, 12, 1), 12, 6) == [dt.date(2024, 12, 1)]
    assert sc.call_origins(months[:10], dt.date(2024, 10, 1), 6, 6) == []
    gap = [m for m in months if m != dt.date(2025, 3, 1)]  # a month missing after the 2024-12 call
    assert dt.date(2024, 12, 1) not in sc.call_origins(gap, dt.date(2025, 12, 1), 6, 6)


def test_the_sample_has_a_scorecard(model: dict[str, Any]) -> None:
    card = model["scorecard"]
    assert [c["origin"] for c in card["calls"]] == ["2024-06", "2024-12", "2025-06"]
    assert len(card["table"]) >= 10 and all(len(r["values"]) == 3 for r in card["table"] if "all" not in r)
    assert card["headline"] and card["notes"]
    f = card["forecast"]
    assert f["available"] and 0 < f["coverage"]["coverage80"] <= 1 and f["points"] > 0
    # the last call is scored against this assessment's own calls
    assert card["calls"][-1]["next_call"] == "this assessment"


def test_hit_rate_pai_and_pei_recomputed_from_the_store(model: dict[str, Any], sample_store: Any) -> None:
    """The hexagons each call flagged, scored again from raw rows with DuckDB and h3 directly."""
    cells = [c["cell"] for c in model["places"]["hex_cells"]]
    region = set(cells)
    res = AssessConfig().h3_resolution
    with duckdb.connect(str(sample_store), read_only=True) as con:
        rows = con.execute(
            "select c.latitude, c.longitude, c.month, count(*) n from crimes c join ref_lsoa r on c.lsoa_code = r.lsoa_code "
            "where c.crime_type <> 'Anti-social behaviour' and c.latitude is not null and r.pfa_name = 'Cambridgeshire' "
            "group by all").fetchall()
    for call in model["scorecard"]["calls"]:
        origin = dt.date.fromisoformat(call["origin"] + "-01")
        after = {add_months(origin, i) for i in range(1, 7)}
        per_cell: dict[str, float] = {}
        for lat, lon, month, n in rows:
            if month in after:
                cell = h3.latlng_to_cell(lat, lon, res)
                if cell in region:
                    per_cell[cell] = per_cell.get(cell, 0) + n
        hot = call["hotspots"]["hot_cells"]
        total = sum(per_cell.values())
        caught = sum(per_cell.get(c, 0) for c in hot)
        area = sum(h3.cell_area(c, "km^2") for c in cells)
        hot_area = sum(h3.cell_area(c, "km^2") for c in hot)
        best = sum(sorted(per_cell.values(), reverse=True)[:len(hot)])
        assert call["hotspots"]["hit_rate_pct"] == pytest.approx(caught / total * 100)
        assert call["hotspots"]["pai"] == pytest.approx((caught / total) / (hot_area / area))
        assert call["hotspots"]["pei"] == pytest.approx(caught / best)


def test_rank_stability_matches_the_rankings(model: dict[str, Any]) -> None:
    calls = model["scorecard"]["calls"]
    for a, b in zip(calls, [*calls[1:], None], strict=True):
        after = b["ranking"] if b else {p["theme"]: p["rank"] for p in model["priorities"] if p["score"] is not None}
        common = sorted(set(a["ranking"]) & set(after))
        tau = _kendall_by_pairs([a["ranking"][t] for t in common], [after[t] for t in common])
        assert a["rank_stability"]["kendall_tau"] == pytest.approx(tau)  # no ties within a ranking


def test_persistence_of_emerging_issues_recomputed(model: dict[str, Any], sample_store: Any) -> None:
    """Still flagged = the themes also flagged at the next call; 'rise held' = the six months after
    the call had more crimes than the same six months a year before, counted again with DuckDB."""
    calls = model["scorecard"]["calls"]
    current = [e["theme"] for e in model["trends"]["emerging"] if e["level"] == "scope"]
    tested = 0
    with duckdb.connect(str(sample_store), read_only=True) as con:
        for a, b in zip(calls, [*calls[1:], None], strict=True):
            flagged, later = set(a["emerging"]), set(b["emerging"] if b else current)
            assert a["persistence"]["flagged"] == len(flagged)
            assert a["persistence"]["still_flagged"] == len(flagged & later)
            origin = dt.date.fromisoformat(a["origin"] + "-01")
            for row in a["rise_held"]["themes"]:
                def count(start: dt.date, theme: str = row["theme"]) -> int:
                    where = "crime_type <> 'Anti-social behaviour'" if theme.startswith("All crime") else "crime_type = ?"
                    args = [] if theme.startswith("All crime") else [theme]
                    return con.execute(f"select count(*) from crimes where {where} and month between ? and ?",
                                       [*args, start, add_months(start, 5)]).fetchone()[0]  # type: ignore[index]

                assert row["next"] == count(add_months(origin, 1))
                assert row["year_before"] == count(add_months(origin, -11))
                assert row["held"] == (row["next"] > row["year_before"])
                tested += 1
            if a["rise_held"]["tested"]:
                assert a["rise_held"]["share_pct"] == pytest.approx(
                    100 * sum(r["held"] for r in a["rise_held"]["themes"]) / len(a["rise_held"]["themes"]))
    assert tested > 0  # the sample's June 2025 call flagged issues that were then scored


def test_short_history_says_so(sample_ro: Store, model: dict[str, Any]) -> None:
    from thrv.assess import priorities
    from thrv.assess.harm import load_schemes
    from thrv.assess.scope import resolve_scope

    config = AssessConfig()
    con = sample_ro.ibis()
    scope = resolve_scope(con, None)
    out = sc.build(con, scope, dt.date(2024, 1, 1), dt.date(2024, 9, 1), load_schemes(config.harm_schemes),
                   priorities.load_matrix(config.priorities_file), config, model)
    assert out["calls"] == []
    assert "no earlier call can be scored yet" in out["notes"][0]
    assert out["table"][-1]["measure"] == "Forecast interval coverage"
