"""Concentration, rates and persistence over the sample's LSOAs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

from thrv.assess.concentration import persistent_hot
from thrv.assess.config import AssessConfig
from thrv.assess.scope import Scope
from thrv.stats import gini, rate_per_1000_many, top_share


def test_lsoa_universe_includes_places_without_crime(model: dict[str, Any]) -> None:
    lsoa = pd.DataFrame(model["places"]["rates"]["lsoa"])
    assert len(lsoa) == model["meta"]["scope"]["lsoas"] == 516
    assert lsoa["population"].sum() == pytest.approx(model["meta"]["scope"]["population"])
    summary = model["places"]["concentration"]["lsoa"]["crimes"]
    x = lsoa["crimes"].to_numpy(float)
    assert summary["gini"] == pytest.approx(gini(x))
    assert summary["top_shares"]["5%"] == pytest.approx(top_share(x, (0.05,))[0.05] * 100)
    assert summary["lorenz"][0] == {"places_pct": 0.0, "share_pct": 0.0}
    assert summary["lorenz"][-1]["share_pct"] == pytest.approx(100)


def test_rates_are_exact_poisson_per_year(model: dict[str, Any]) -> None:
    lsoa = pd.DataFrame(model["places"]["rates"]["lsoa"])
    years = model["meta"]["period"]["years"]
    ref = rate_per_1000_many(lsoa["crimes"], lsoa["population"])
    np.testing.assert_allclose(lsoa["crime_rate_per_1000_per_year"], ref.rate / years)
    np.testing.assert_allclose(lsoa["rate_ci_low"], ref.ci_low / years)
    district = pd.DataFrame(model["places"]["rates"]["district"])
    assert district["crimes"].sum() == lsoa["crimes"].sum()
    assert set(district["compared_with_rest"]) <= {"higher", "lower", "similar"}


def test_persistent_hot_on_a_small_example() -> None:
    months = [dt.date(2025, m, 1) for m in range(1, 7)]
    lsoas = pd.DataFrame({"lsoa21_code": list("ABCDEFGHIJKLMNOPQRST"), "lsoa_name": list("ABCDEFGHIJKLMNOPQRST"),
                          "district_code": "X", "district": "X", "population": 1000.0})
    scope = Scope("district", "X", ("F",), pd.DataFrame({"district_code": ["X"], "district": ["X"], "force": ["F"],
                                                        "population": [2e4]}), lsoas, 2e4)
    rows = []
    for i, m in enumerate(months):
        rows.append(("A", m, 20))  # always the busiest
        rows.append(("B", m, 15 if i < 3 else 0))  # busy for half the months
        rows.append(("C", m, 1))
    records = pd.DataFrame(rows, columns=["lsoa21_code", "month", "n"]).assign(crime_type="Burglary")
    config = AssessConfig(hot_share=0.05)  # 5% of 20 LSOAs: the busiest one each month
    table, note = persistent_hot(records, scope, months, config)
    a = table.set_index("lsoa21_code").loc["A"]
    assert (a["months_hot"], a["longest_run"], bool(a["persistent"])) == (6, 6, True)
    b = table.set_index("lsoa21_code")
    assert "B" not in b.index or not b.loc["B", "persistent"]
    assert "20 LSOAs" in note
    short, why = persistent_hot(records, scope, months[:2], config)
    assert short.empty
    assert "at least 6 months" in why


def test_repeat_locations_add_up(model: dict[str, Any]) -> None:
    rep = model["places"]["repeat_locations"]
    dist = rep["distribution"]
    assert sum(d["points"] for d in dist) == rep["points"]
    located = sum(d["crimes"] for d in dist)
    lsoa_crimes = sum(r["crimes"] for r in model["places"]["rates"]["lsoa"])
    assert located == lsoa_crimes  # every located crime in the area sits at one map point
    top = rep["top_by_crimes"]
    assert top == sorted(top, key=lambda r: -r["crimes"])
    assert rep["recurring_descriptions"][0]["points"] > 1  # e.g. "On or near Supermarket"
