"""Hidden-harm indicators on the real sample, recomputed from the store with DuckDB, pandas and statsmodels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
from statsmodels.stats.proportion import proportion_confint

# a force's assessment counts all its records, those placed outside its area too (the sample holds one force)
SCOPE = "from crimes c where c.month between date '2024-01-01' and date '2025-12-01'"


def _by(model: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [i for i in model["hidden_harm"]["indicators"] if i["kind"] == kind]


def test_every_indicator_says_why(model: dict[str, Any]) -> None:
    rows = model["hidden_harm"]["indicators"]
    assert {i["kind"] for i in rows} == {"proactive", "outcome"}  # no force extract in the sample
    assert all(len(i["reason"]) > 60 for i in rows)
    assert "Domestic abuse" in model["hidden_harm"]["not_supported"]


def test_proactive_offences_and_searches(model: dict[str, Any], sample_store: Path) -> None:
    with duckdb.connect(str(sample_store), read_only=True) as con:
        totals = dict(con.execute("select c.crime_type, count(*) from crimes c where c.month between date '2024-01-01' "
                                  "and date '2025-12-01' group by 1").fetchall())
        monthly = con.execute("select month, count(*) n from crimes where crime_type = 'Drugs' group by 1").df()
        searches = con.execute("select month, count(*) n, count(*) filter (where outcome_linked_to_object) linked "
                               "from stop_search where object_of_search in ('Controlled drugs', 'Psychoactive substances') "
                               "group by 1").df()
    drugs = next(i for i in _by(model, "proactive") if i["theme"] == "Drugs")
    assert drugs["value"] == totals["Drugs"]
    assert drugs["share_pct"] == pytest.approx(totals["Drugs"] / model["harm"]["totals"]["crimes_excluding_asb"] * 100)
    both = monthly.merge(searches, on="month", suffixes=("_crimes", "_searches"))
    assert drugs["searches"]["months"] == len(both) == 12
    assert drugs["searches"]["searches"] == searches["n"].sum()
    assert drugs["searches"]["spearman_rho_with_offences"] == pytest.approx(
        both["n_crimes"].corr(both["n_searches"], method="spearman"))
    assert drugs["searches"]["linked_to_object_pct"] == pytest.approx(searches["linked"].sum() / searches["n"].sum() * 100)


def test_could_not_prosecute_share(model: dict[str, Any], sample_store: Path) -> None:
    with duckdb.connect(str(sample_store), read_only=True) as con:
        frame = con.execute(f"select c.crime_type, c.last_outcome_category, count(*) n {SCOPE} group by all").df()
    final = frame[~frame["last_outcome_category"].isin(
        ["Under investigation", "Awaiting court outcome", "Defendant sent to Crown Court", "Court result unavailable",
         "Status update unavailable"]) & frame["last_outcome_category"].notna()]
    v = final[final["crime_type"] == "Violence and sexual offences"]
    k = v.loc[v["last_outcome_category"] == "Unable to prosecute suspect", "n"].sum()
    n = v["n"].sum()
    row = _by(model, "outcome")[0]
    assert row["value"] == pytest.approx(k / n * 100)
    low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert row["ci_low"] == pytest.approx(low * 100) and row["ci_high"] == pytest.approx(high * 100)
    assert row["crimes_with_outcome"] == n
    others = final[(final["crime_type"] != "Violence and sexual offences")]
    assert row["other_value"] == pytest.approx(
        others.loc[others["last_outcome_category"] == "Unable to prosecute suspect", "n"].sum() / others["n"].sum() * 100)


def test_sections_are_rendered(model: dict[str, Any]) -> None:
    """The four sections' templates (included by assessment.html.j2) and their CSV tables."""
    from thrv.assess import extras
    from thrv.assess.report import tables
    from thrv.assess.text import num, p_text, pct
    from thrv.report.html import environment

    frames = tables(model)
    assert {"near_repeat", "similar_groups", "similar_rates", "hidden_harm", "scorecard"} <= set(frames)
    env = environment()
    env.filters.update({"num": num, "pct": pct, "p": p_text})
    context = {"m": model, **extras.context(model)}
    html = "".join(env.get_template(f"assessment_{name}.html.j2").render(**context)
                   for name in ("scorecard", "similar", "near_repeat", "hidden"))
    for anchor in ('id="scorecard"', 'id="similar"', 'id="near-repeat"', 'id="hidden-harm"'):
        assert anchor in html
    for t in model["near_repeat"]["types"]:  # a heat map for each type tested
        assert f"{t['crime_type']}: Knox ratio" in html
    card = frames["scorecard"]
    assert card["measure"].iloc[0] == "Hot spots called" and "Jun 2025" in card.columns
    assert len(frames["near_repeat"]) == 42 * len(model["near_repeat"]["types"])
    include = (Path(__file__).resolve().parents[2] / "src/thrv/report/templates/assessment.html.j2").read_text(encoding="utf-8")
    assert all(f'{{% include "assessment_{n}.html.j2" %}}' in include for n in ("scorecard", "similar", "near_repeat", "hidden"))
