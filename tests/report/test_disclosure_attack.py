"""An intruder with every public output of the real sample, under both rules, recovers nothing.

The sample (Cambridgeshire, 2024-01 to 2025-12) is published as a public user gets it:
the pack of every month, and every view of it by area, level and indicator. The intruder
(tests/report/intruder.py, written apart from the suppression code) checks that each
derived figure follows from published counts, then bounds every withheld cell and every
rounded count by integer programming over all the sums it knows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.report import intruder
from tests.report.sample_release import RULES, true_matrix
from thrv.report.disclosure import Release, public_view


def _views(release: Release, month: str) -> list[dict[str, Any]]:
    model = release.model(month)
    names = sorted({r["area"] for r in model["rows"]})
    out = [public_view(release, month, area=a) for a in names]
    out += [public_view(release, month, level=lv) for lv in ("force", "area", "district")]
    out += [public_view(release, month, indicator=i) for i in sorted({r["indicator"] for r in model["rows"]})]
    return out


@pytest.mark.parametrize("rule", RULES)
def test_every_view_is_cut_from_the_one_decision(published: dict[str, Any], rule: str) -> None:
    entry = published[rule]
    for month, model in entry["models"].items():
        full = {(r["indicator"], r["area_level"], r["force"], r["area"]): r for r in model["rows"]}
        for view in _views(entry["release"], month):
            for r in view["rows"]:
                assert r == full[(r["indicator"], r["area_level"], r["force"], r["area"])]
            for key, points in view["series"].items():
                assert points == model["series"][key]


@pytest.mark.parametrize("rule", RULES)
def test_every_derived_figure_follows_from_published_counts(published: dict[str, Any], rule: str) -> None:
    entry = published[rule]
    know = intruder.collect(entry["models"].values())  # views are the same rows (test above)
    assert know.conflicts == []
    problems = [p for model in entry["models"].values() for p in intruder.derived_problems(model, know, entry["populations"])]
    assert problems == []


@pytest.mark.parametrize("rule", RULES)
def test_no_withheld_cell_is_recovered_or_narrowed(published: dict[str, Any], rule: str) -> None:
    entry = published[rule]
    know = intruder.collect(entry["models"].values())
    layout = intruder.layout_of(entry["models"][max(entry["models"])])
    hidden = [k for k, s in know.cells.items() if s.kind]
    assert len(hidden) > 100  # the sample has many small cells: the test has something to attack
    findings = intruder.attack(know, layout, entry["side"])
    assert findings == []


def _truth_of(published: dict[str, Any]) -> dict[tuple[str, str, str, str, str], float]:
    m = true_matrix(published["threshold"]["release"])
    out = {}
    for i, r in enumerate(m.keys.itertuples(index=False)):
        for j, month in enumerate(m.months):
            if np.isfinite(m.num[i, j]):
                out[(f"{month:%Y-%m}", r.indicator, r.level, r.force, r.area)] = float(m.num[i, j])
    return out


def test_the_intruder_finds_planted_leaks(published: dict[str, Any]) -> None:
    """The attack is not vacuous: each of the issue's leaks, planted, is found."""
    import copy

    entry = published["threshold"]
    month = max(entry["models"])
    truth = _truth_of(published)
    layout = intruder.layout_of(entry["models"][month])
    base = [m for k, m in entry["models"].items() if k != month]
    # 1. publish every cell withheld only to protect others: the small cells come back
    leaky = copy.deepcopy(entry["models"][month])
    planted = 0
    for r in leaky["rows"]:
        if r["measure"] == "count" and r["suppressed_columns"].startswith("current:secondary"):
            r["current"] = truth[(month, r["indicator"], r["area_level"], r["force"], r["area"])]
            r["suppressed_columns"] = r["suppressed_columns"].replace("current:secondary", "")
            planted += 1
    for points in leaky["series"].values():
        for p in points:
            if p.get("suppressed") == "secondary" and p["month"] == month:
                p.pop("suppressed")
                p["value"] = 0.0  # replaced below from the rows
    for key, points in leaky["series"].items():
        ind, level, force, area = key.split("|", 3)
        for p in points:
            if p["month"] == month and p["value"] == 0.0 and (month, ind, level, force, area) in truth:
                p["value"] = truth[(month, ind, level, force, area)]
    assert planted > 0
    know = intruder.collect([*base, leaky])
    assert any("bounded to" in f or "pinned" in f for f in intruder.attack(know, layout, entry["side"]))
    # 2. a change, a p-value and a sentence beside a withheld count (the East Cambridgeshire drugs)
    leaky = copy.deepcopy(entry["models"][month])
    row = next(r for r in leaky["rows"] if r["suppressed"] == "primary" and r["current"] == "<5")
    true = truth[(month, row["indicator"], row["area_level"], row["force"], row["area"])]
    row["change_prev_1y"] = -33.3
    row["p_value_prev_1y"] = 0.5
    row["sentence"] = f"{row['title']}: {true:g} crimes in the month, 33.3% fewer (p = 0.500)."
    know = intruder.collect([*base, leaky])
    problems = intruder.derived_problems(leaky, know, entry["populations"])
    assert any("p_value_prev_1y" in p for p in problems)
    assert any("sentence states" in p for p in problems)
    # 3. a rolling 12 months shown over a withheld month: rolling(M) - rolling(M-1) + prev_1y(M) = current(M)
    leaky = copy.deepcopy(entry["models"][month])
    row = next(r for r in leaky["rows"] if "rolling_12m:" in r["suppressed_columns"] and r["measure"] == "count")
    key = (row["indicator"], row["area_level"], row["force"], row["area"])
    row["rolling_12m"] = sum(truth.get((intruder.shift(month, -k), *key), 0.0) for k in range(12))
    know = intruder.collect([*base, leaky])
    assert any("rolling_12m" in p and "withheld" in p for p in intruder.derived_problems(leaky, know, entry["populations"]))
