"""Published packs: small numbers hidden, and no hidden number recoverable from the rest."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from scipy.linalg import null_space

from thrv.indicators.pack import build_pack
from thrv.report.disclosure import (
    COUNT_COLUMNS,
    DisclosureRule,
    collect_cells_published,
    public_model,
)
from thrv.report.model import pack_model
from thrv.store.database import Store


@pytest.fixture(scope="module")
def model(sample_store: Path) -> dict:
    with Store(sample_store, read_only=True) as store:
        return pack_model(build_pack(store, dt.date(2025, 12, 1), levels=["force", "area", "district", "lsoa"]))


def _attack(published: dict) -> list[tuple]:
    """An independent solver: every hidden cell that the published relations pin down."""
    cells, relations = collect_cells_published(published)
    hidden = sorted(c for c, v in cells.items() if v is None)
    index = {c: i for i, c in enumerate(hidden)}
    rows = []
    for total, parts in relations:
        if any(c in index for c in (total, *parts)):
            row = np.zeros(len(hidden))
            if total in index:
                row[index[total]] = 1
            for p in parts:
                if p in index:
                    row[index[p]] -= 1
            rows.append(row)
    if not rows:
        return []
    basis = null_space(np.array(rows))
    if basis.size == 0:
        return hidden
    return [c for c, i in index.items() if np.allclose(basis[i], 0, atol=1e-9)]


@pytest.mark.parametrize("rule", [DisclosureRule(), DisclosureRule("threshold", 10), DisclosureRule("ons_10_5")])
def test_no_suppressed_value_can_be_recovered(model: dict, rule: DisclosureRule) -> None:
    published = public_model(model, rule)
    assert published["meta"]["disclosure"]["suppressed_primary"] > 0
    assert _attack(published) == []


def test_published_counts_are_zero_or_at_least_the_threshold(model: dict) -> None:
    published = public_model(model)
    measures = {i["id"]: i["measure"] for i in published["indicators"]}
    originals = {(r["indicator"], r["area_level"], r["area"]): r for r in model["rows"]}
    hidden = 0
    for r in published["rows"]:
        assert r["area_level"] != "lsoa"
        if measures[r["indicator"]] != "count":
            continue
        for col in COUNT_COLUMNS:
            v = r.get(col)
            if isinstance(v, str):
                assert v == "<5"
                hidden += 1
                continue
            if v is not None:
                assert v == 0 or v >= 5
                assert v == originals[(r["indicator"], r["area_level"], r["area"])][col]
        assert "avg_1y" not in r and "population" not in r
    assert hidden > 0
    for points in published["series"].values():
        assert all(p["value"] is None or p["value"] == 0 or p["value"] >= 5 for p in points)


def test_ons_10_5_rounds_to_fives(model: dict) -> None:
    published = public_model(model, DisclosureRule("ons_10_5"))
    counts = {i["id"] for i in published["indicators"] if i["measure"] == "count"}
    values = [r["rolling_12m"] for r in published["rows"] if r["indicator"] in counts and isinstance(r.get("rolling_12m"), float)]
    assert values and all(v % 5 == 0 for v in values)


def test_a_single_hidden_district_takes_a_partner_with_it() -> None:
    """Hand-made: one small district in a two-district area forces a second suppression."""
    from thrv.report.disclosure import secondary_suppression

    a = ("i", "area", "F", "A", "current")
    d1, d2 = ("i", "district", "F", "D1", "current"), ("i", "district", "F", "D2", "current")
    cells = {a: 40.0, d1: 3.0, d2: 37.0}
    hidden = secondary_suppression(cells, [(a, [d1, d2])], {d1})
    assert d1 in hidden and len(hidden) == 2
