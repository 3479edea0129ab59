"""The priority ranking against the worked example in docs/assessment.md, and the matrix rules."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from thrv.assess.config import DEFAULT_PRIORITIES
from thrv.assess.priorities import (
    PriorityError,
    Rule,
    load_matrix,
    parse_matrix,
    rescore,
    score_themes,
    sensitivity,
)
from thrv.reference import crime_type_slugs

DOC = Path(__file__).resolve().parents[2] / "docs" / "assessment.md"


def _worked_example() -> tuple[dict, list[dict[str, str]]]:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- worked-example:matrix -->\s*```toml\n(.*?)```", text, re.S)
    table = re.search(r"<!-- worked-example:expected -->\s*\n(\|.*?)\n\n", text, re.S)
    assert block, "docs/assessment.md lost its worked example matrix"
    assert table, "docs/assessment.md lost its worked example results"
    lines = [ln for ln in table.group(1).splitlines() if ln.startswith("|")]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [dict(zip(head, (c.strip() for c in ln.strip("|").split("|")), strict=True)) for ln in lines[2:]]
    return tomllib.loads(block.group(1)), rows


def test_ranking_matches_the_worked_example_in_the_docs() -> None:
    doc, expected = _worked_example()
    matrix = parse_matrix(doc, DOC)
    measures = rescore(matrix, doc["measures"], alpha=0.05)
    ranked = score_themes(matrix, measures)
    assert [r["theme"] for r in ranked] == [e["theme"] for e in expected]
    for r, e in zip(ranked, expected, strict=True):
        assert r["rank"] == int(e["rank"])
        assert r["impact_score"] == pytest.approx(float(e["impact"]), abs=5e-5)
        assert r["likelihood_score"] == pytest.approx(float(e["likelihood"]), abs=5e-5)
        assert r["score"] == pytest.approx(float(e["score"]), abs=5e-5)


def test_worked_example_sensitivity_sentence() -> None:
    doc, _ = _worked_example()
    matrix = parse_matrix(doc, DOC)
    measures = rescore(matrix, doc["measures"], alpha=0.05)
    weights = dict(matrix.impact_weights, physical=1.2)
    ranked = {r["theme"]: r for r in score_themes(matrix, measures, impact_weights=weights)}
    assert ranked["Possession of weapons"]["score"] == pytest.approx(4.4615, abs=5e-5)
    assert ranked["Robbery"]["score"] == pytest.approx(4.4121, abs=5e-5)
    assert ranked["Possession of weapons"]["rank"] == 3
    sens = sensitivity(matrix, measures, 0.2, top=2)
    assert sens["top_stable"]
    assert len(sens["runs"]) == 20
    moved = next(r for r in sens["runs"] if r["weight"] == "physical" and r["factor"] == 1.2)["moves"]
    assert {"theme": "Possession of weapons", "from": 4, "to": 3} in moved


def test_rules_score_as_documented() -> None:
    volume = Rule("volume", "share", "%", (1, 3, 10, 20))
    assert [volume.score(v) for v in (0.5, 1, 2.9, 3, 19.99, 20, 80)] == [0, 1, 1, 2, 3, 4, 4]
    assert volume.score(None) is None
    trend = Rule("trend", "trend", fast=10)
    assert trend.score(25.0, q=0.2) == 2  # not significant: no change in score
    assert [trend.score(v, q=0.01) for v in (12, 5, -5, -12)] == [4, 3, 1, 0]
    assert trend.score(5.0, q=None) is None


def test_missing_measure_drops_out_of_likelihood() -> None:
    doc, _ = _worked_example()
    matrix = parse_matrix(doc, DOC)
    measures = rescore(matrix, {"Burglary": {"volume": 3.8, "harm": 10.7}}, alpha=0.05)
    ranked = score_themes(matrix, measures)
    assert ranked[0]["likelihood_score"] == pytest.approx((2 + 3) / 2)


def test_shipped_matrix_covers_every_police_uk_type() -> None:
    matrix = load_matrix(DEFAULT_PRIORITIES)
    covered = {t for theme in matrix.themes for t in theme.crime_types}
    assert covered == set(crime_type_slugs())
    assert all(theme.rationale for theme in matrix.themes)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"theme": [{"name": "X", "crime_types": ["Robbery"], "physical": 5, "psychological": 1,
                     "financial": 1, "community": 1, "societal": 1}]}, "scores run 0 to 4"),
        ({"theme": [{"name": "X", "physical": 1, "psychological": 1, "financial": 1, "community": 1,
                     "societal": 1}]}, "crime_types or flag"),
        ({"weights": {"impact": {"bravery": 1}}}, "unknown impact weight"),
        ({"likelihood": {"volume": {"thresholds": [1, 2]}}}, "four thresholds"),
    ],
)
def test_bad_matrix_files_are_refused(change: dict, message: str) -> None:
    doc = tomllib.loads(DEFAULT_PRIORITIES.read_text(encoding="utf-8"))
    doc.update(change)
    with pytest.raises(PriorityError, match=message):
        parse_matrix(doc, Path("bad.toml"))
