"""The example plan's theme reports, figure by figure, against an independent computation.

The reference is written apart from the engine: plain pandas on the measures file as
generated and on the stored rows read straight from DuckDB (not through Ibis), scipy's
binomtest for the exact tests and statsmodels for the two-proportion z-test and the
Wilson interval.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from thrv.plan import PlanFigures, load_plan, plan_model, theme_model

from ..reference_stats import count_p, dispersion, month_vs_average, not_shared
from .conftest import EXAMPLE_PLAN, MONTH

ALPHA = 0.05
FORCE = "Cambridgeshire Constabulary"


def _m(text: str) -> dt.date:
    return dt.date(int(text[:4]), int(text[5:7]), 1)


def _shift(m: dt.date, n: int) -> dt.date:
    i = m.year * 12 + m.month - 1 + n
    return dt.date(i // 12, i % 12 + 1, 1)


def _window(m: dt.date, length: int) -> list[dt.date]:
    return [_shift(m, -k) for k in range(length)]


BASELINE = _window(dt.date(2025, 3, 1), 12)  # the 12 months to the last March
# the rolling 12 months are tested against the baseline on the months they do not share:
# April-December 2025 against April-December 2024
R_ONLY, B_ONLY = not_shared(MONTH, dt.date(2025, 3, 1))


def _label(p: float, up: bool, direction: str) -> str:
    if p >= ALPHA:
        return "Comparable"
    if direction == "none":
        return "Higher" if up else "Lower"
    good = up if direction == "higher_is_better" else not up
    return "Improved" if good else "Deteriorated"


def _row(figures: PlanFigures, theme: str, ref: str, crime_type: str | None = None) -> dict[str, Any]:
    hits = [r for r in figures.rows.values() if r["theme"] == theme and r["ref"] == ref
            and (crime_type is None or r.get("crime_type") == crime_type)]
    assert len(hits) == 1, (theme, ref, len(hits))
    return hits[0]


@pytest.fixture(scope="module")
def feed(measures_dir: Path) -> pd.DataFrame:
    df = pd.read_csv(measures_dir / "measures.csv", dtype={"period": str})
    return df


def _monthly(feed: pd.DataFrame, measure: str) -> pd.DataFrame:
    rows = feed[feed["measure"] == measure].copy()
    rows["month"] = rows["period"].map(_m)
    return rows.set_index("month")


def _prop_test(x1: float, n1: float, x2: float, n2: float) -> float:
    return float(proportions_ztest(np.array([x1, x2]), np.array([n1, n2]))[1])


# -- a monthly proportion fed as numerator and denominator ----------------------------------

def test_999_calls_answered_in_10_seconds(example_figures: PlanFigures, feed: pd.DataFrame) -> None:
    row = _row(example_figures, "Communities", "calls_999_answered_10s")
    s = _monthly(feed, "calls_999_answered_10s")
    num, den = s["numerator"], s["denominator"]

    def pct(months: list[dt.date]) -> float:
        held = [m for m in months if m in s.index]
        return 100 * num[held].sum() / den[held].sum()

    assert row["current"] == pytest.approx(pct([MONTH]))
    assert (row["current_num"], row["current_den"]) == (num[MONTH], den[MONTH])
    assert row["prev_1y"] == pytest.approx(pct([_shift(MONTH, -12)]))
    assert row["prev_2y"] == pytest.approx(pct([_shift(MONTH, -24)]))
    assert row["prev_3y"] is None  # 2022-12 is before the feed starts: empty, never zero
    before12, before36 = _window(_shift(MONTH, -1), 12), _window(_shift(MONTH, -1), 36)
    assert row["avg_1y"] == pytest.approx(pct(before12))
    assert row["avg_3y"] == pytest.approx(pct(before36))  # 35 of 36 months held: enough (75%)
    rolling = _window(MONTH, 12)
    r_n, r_d = num[rolling].sum(), den[rolling].sum()
    assert (row["rolling_12m_num"], row["rolling_12m_den"]) == (r_n, r_d) == (113_742, 123_498)
    assert row["rolling_12m"] == pytest.approx(92.1, abs=0.005)
    b_n, b_d = num[BASELINE].sum(), den[BASELINE].sum()
    assert row["baseline"] == pytest.approx(100 * b_n / b_d)
    t_n, t_d, u_n, u_d = num[R_ONLY].sum(), den[R_ONLY].sum(), num[B_ONLY].sum(), den[B_ONLY].sum()
    p = _prop_test(t_n, t_d, u_n, u_d)
    assert row["p_value"] == pytest.approx(p, rel=1e-9, abs=0)
    assert row["label"] == _label(p, t_n / t_d > u_n / u_d, "higher_is_better")
    p1 = _prop_test(num[MONTH], den[MONTH], num[before12].sum(), den[before12].sum())
    assert row["p_value_1y"] == pytest.approx(p1, rel=1e-9)
    assert row["label_1y"] == _label(p1, row["current"] > row["avg_1y"], "higher_is_better")
    low, high = proportion_confint(r_n, r_d, alpha=ALPHA, method="wilson")
    assert (row["rolling_12m_ci_low"], row["rolling_12m_ci_high"]) == (pytest.approx(100 * low), pytest.approx(100 * high))
    # the plan's benchmark (the 90% national standard), tested as a fixed share
    (comp,) = row["comparators"]
    assert comp["source"] == "plan" and comp["value"] == 90
    assert comp["p_value"] == pytest.approx(binomtest(int(r_n), int(r_d), 0.90).pvalue, rel=1e-9)
    assert comp["label"] == "Better"
    assert row["headline"]["figure"] == "rolling_12m" and row["headline"]["value"] == row["rolling_12m"]
    assert row["target"] == {"value": 90.0, "rule": "at_least", "figure": "rolling_12m", "met": True,
                             "gap": pytest.approx(row["rolling_12m"] - 90), "note": ""}
    assert row["generated_data"] and row["sentence"].startswith("(Generated data)")
    assert "12-month n = 123,498" in row["sentence"]


def test_a_percentage_with_n(example_figures: PlanFigures, feed: pd.DataFrame) -> None:
    row = _row(example_figures, "Communities", "police_deal_with_concerns")
    s = _monthly(feed, "police_deal_with_concerns")
    positive = (s["value"] * s["n"] / 100).round()
    rolling = _window(MONTH, 12)
    assert row["rolling_12m_den"] == s["n"][rolling].sum() == 3000
    assert row["rolling_12m_num"] == positive[rolling].sum()
    assert row["rolling_12m"] == pytest.approx(71.2, abs=0.005)
    p = _prop_test(positive[R_ONLY].sum(), s["n"][R_ONLY].sum(), positive[B_ONLY].sum(), s["n"][B_ONLY].sum())
    assert row["p_value"] == pytest.approx(p, rel=1e-9, abs=0)


# -- a monthly count with a long history ---------------------------------------------------

def test_hate_crime_by_month(example_figures: PlanFigures, feed: pd.DataFrame) -> None:
    row = _row(example_figures, "Communities", "hate_crimes")
    s = _monthly(feed, "hate_crimes")["value"]
    cur = s[MONTH]
    assert row["current"] == cur
    assert [row["prev_1y"], row["prev_2y"], row["prev_3y"]] == [s[_shift(MONTH, -12 * k)] for k in (1, 2, 3)]
    before12, before36 = _window(_shift(MONTH, -1), 12), _window(_shift(MONTH, -1), 36)
    assert row["avg_1y"] == pytest.approx(s[before12].mean())
    assert row["avg_3y"] == pytest.approx(s[before36].mean())
    # the month against the 12 months before, as the pack tests it: the exact test allowing
    # for the series' over-dispersion, against the seasonal expectation for December
    held = set(s.index)
    assert dispersion(s, held, MONTH) == 1.0  # generated Poisson counts: φ floored at 1
    p1, expected = month_vs_average(s, held, MONTH, before12)
    assert row["p_value_1y"] == pytest.approx(p1, rel=1e-6, abs=0)
    assert row["label_1y"] == _label(p1, cur > expected, "none")
    r, b = s[_window(MONTH, 12)].sum(), s[BASELINE].sum()
    assert (row["rolling_12m"], row["baseline"]) == (r, b)
    p = count_p(s[R_ONLY].sum(), len(R_ONLY), s[B_ONLY].sum(), len(B_ONLY), dispersion(s, held, MONTH))
    assert row["p_value"] == pytest.approx(p, rel=1e-6, abs=0)
    assert row["label"] == _label(p, s[R_ONLY].sum() > s[B_ONLY].sum(), "none")
    # the plan asks for the month: the headline is the month against the 1-year average
    assert row["headline"] == {**row["headline"], "figure": "month", "value": cur, "label": row["label_1y"]}
    assert (row["series_max"], row["series_max_month"], row["history_months"], row["history_from"]) == (131, "2017-06", len(s), "2015-04")
    assert "is June 2017 (131)" in row["sentence"] and "hate crimes in December 2025" in row["sentence"]


# -- values: shown and averaged, never tested ---------------------------------------------------

def test_special_constables_hours_and_headcount(example_figures: PlanFigures, feed: pd.DataFrame) -> None:
    hours = _row(example_figures, "Transformation", "special_constables_hours")
    s = _monthly(feed, "special_constables_hours")["value"]
    assert hours["rolling_12m"] == s[_window(MONTH, 12)].sum() == 52_000
    assert hours["baseline"] == s[BASELINE].sum()
    assert hours["avg_1y"] == pytest.approx(s[_window(_shift(MONTH, -1), 12)].mean())
    assert hours["label"] == hours["label_1y"] == "" and hours["p_value"] is None
    head = _row(example_figures, "Transformation", "special_constables")
    assert head["headline"]["value"] == head["current"] == 242 and head["headline"]["label"] == ""
    assert head["unit"] == "officers"


# -- measures by financial year, snapshot and quarter -----------------------------------------

def test_turnover_by_financial_year(example_figures: PlanFigures, feed: pd.DataFrame) -> None:
    row = _row(example_figures, "Transformation", "special_constables_turnover")
    rows = feed[feed["measure"] == "special_constables_turnover"].set_index("period")
    now, before = rows.loc["2024/25"], rows.loc["2023/24"]
    assert (row["period_type"], row["period_label"]) == ("financial_year", "2024/25")
    assert row["current"] == pytest.approx(100 * now["numerator"] / now["denominator"])
    assert row["prev_1y"] == pytest.approx(100 * before["numerator"] / before["denominator"])
    assert row["prev_2y"] == pytest.approx(100 * rows.loc["2022/23", "numerator"] / rows.loc["2022/23", "denominator"])
    p = _prop_test(now["numerator"], now["denominator"], before["numerator"], before["denominator"])
    assert row["p_value_prev_1y"] == pytest.approx(p, rel=1e-9) and row["p_value"] == row["p_value_prev_1y"]
    (comp,) = row["comparators"]
    assert (comp["name"], comp["value"], comp["source"]) == ("England and Wales", 25.9, "data")
    p0 = binomtest(int(now["numerator"]), int(now["denominator"]), 0.259).pvalue
    assert comp["p_value"] == pytest.approx(p0, rel=1e-9)
    assert comp["label"] == ("Similar" if p0 >= ALPHA else "Better")
    assert comp["difference"] == pytest.approx(row["current"] - 25.9)


def test_bme_officers_against_the_population(example_figures: PlanFigures) -> None:
    row = _row(example_figures, "Transformation", "bme_officers")
    assert (row["period_type"], row["period_label"], row["current_num"], row["current_den"]) == ("date", "2025-03-31", 43, 1654)
    assert row["prev_1y_label"] == "2024-03-31" and row["prev_1y"] == pytest.approx(100 * 39 / 1630)
    (comp,) = row["comparators"]
    assert comp["p_value"] == pytest.approx(binomtest(43, 1654, 0.097).pvalue, rel=1e-9)
    assert comp["label"] == "Worse"  # higher is better, and 2.6% is far below 9.7%
    low, high = proportion_confint(43, 1654, method="wilson")
    assert (comp["ci_low"], comp["ci_high"]) == (pytest.approx(100 * low), pytest.approx(100 * high))
    assert "on 31 March 2025" in row["sentence"] and "worse (p < 0.001" in row["sentence"]


def test_victim_care_contracts_by_quarter(example_figures: PlanFigures, feed: pd.DataFrame) -> None:
    row = _row(example_figures, "Victims", "victim_care_contracts_overdue")
    rows = feed[feed["measure"] == "victim_care_contracts_overdue"].set_index("period")
    assert (row["period_label"], row["current_num"], row["current_den"]) == ("2025-Q4", 56, 403)
    assert row["previous_label"] == "2025-Q3" and row["previous"] == pytest.approx(16.5)
    assert row["p_value_previous"] == pytest.approx(_prop_test(56, 403, 66, 400), rel=1e-9)
    q = rows.loc["2024-Q4"]
    assert row["prev_1y"] == pytest.approx(100 * q["numerator"] / q["denominator"])
    assert row["p_value"] == pytest.approx(_prop_test(56, 403, q["numerator"], q["denominator"]), rel=1e-9)
    assert row["target"]["rule"] == "at_most" and row["target"]["met"] is False  # 13.9% is above 10%
    assert "down 2.6 percentage points on July to September 2025 (2025-Q3) (16.5%)" in row["sentence"]


# -- thrv's own indicators: the pack's figures, and those checked on the raw rows ------------------

@pytest.fixture(scope="module")
def crimes(plan_store: Path) -> pd.DataFrame:
    con = duckdb.connect(str(plan_store), read_only=True)
    df = con.sql("SELECT month, crime_type FROM crimes WHERE force = 'Cambridgeshire Constabulary'").df()
    con.close()
    df["month"] = pd.to_datetime(df["month"]).dt.date
    return df


@pytest.mark.parametrize(("theme", "ref", "types"), [("Offenders", "burglary", ["Burglary"]), ("Offenders", "vehicle_crime", ["Vehicle crime"]), ("Offenders", "shoplifting", ["Shoplifting"])])
def test_crime_counts_on_the_raw_rows(example_figures: PlanFigures, crimes: pd.DataFrame, theme: str, ref: str, types: list[str]) -> None:
    row = _row(example_figures, theme, ref)
    monthly = crimes[crimes["crime_type"].isin(types)].groupby("month").size()
    held = set(crimes["month"])
    assert row["current"] == monthly[MONTH]
    assert row["prev_1y"] == monthly[_shift(MONTH, -12)] and row["prev_2y"] is None
    before12 = _window(_shift(MONTH, -1), 12)
    assert row["avg_1y"] == pytest.approx(monthly[before12].mean())
    assert row["avg_3y"] is None  # 23 of 36 months held: under 75%
    r, b = monthly[_window(MONTH, 12)].sum(), monthly[BASELINE].sum()
    assert all(m in held for m in _window(MONTH, 12))
    assert (row["rolling_12m"], row["baseline"]) == (r, b)
    # the months not shared, allowing for the series' dispersion (24 months of real history)
    a, c = monthly[R_ONLY].sum(), monthly[B_ONLY].sum()
    p = count_p(a, len(R_ONLY), c, len(B_ONLY), dispersion(monthly, held, MONTH))
    assert row["p_value"] == pytest.approx(p, rel=1e-6, abs=0)
    assert row["label"] == _label(p, a > c, "none")  # a crime volume: Higher / Lower


def test_every_thrv_indicator_row_is_the_packs(example_figures: PlanFigures) -> None:
    from thrv.report.model import pack_rows

    table = pack_rows(example_figures.pack)
    force = table[table["area_level"] == "force"].set_index("indicator")
    checked = 0
    for row in example_figures.rows.values():
        if row["source"] != "pack" or row.get("survey_split"):
            continue
        pack = force.loc[row["ref"]]
        for col in ("current", "prev_1y", "prev_2y", "avg_1y", "avg_3y", "rolling_12m", "baseline", "label", "p_value", "label_1y", "label_3y"):
            a, b = row[col], pack[col]
            if isinstance(b, float) and np.isnan(b):
                assert a is None, (row["ref"], col)
            else:
                assert a == pytest.approx(b) if isinstance(b, float) else a == b, (row["ref"], col)
        assert row["sentence"].endswith(pack["sentence"])
        checked += 1
    assert checked >= 15


# -- survey split by crime type -------------------------------------------------------------------

@pytest.fixture(scope="module")
def victims(plan_store: Path) -> pd.DataFrame:
    con = duckdb.connect(str(plan_store), read_only=True)
    df = con.sql(
        """SELECT s.month, s.positive, c.crime_type
           FROM survey_responses s LEFT JOIN force_crimes c ON c.crime_id = s.crime_id AND c.force = s.force
           WHERE s.force = 'Cambridgeshire Constabulary' AND s.survey = 'victim_satisfaction'
             AND s.question = 'whole_experience' AND s.scored"""
    ).df()
    con.close()
    df["month"] = pd.to_datetime(df["month"]).dt.date
    df["crime_type"] = df["crime_type"].fillna("Crime not linked")
    return df


def test_burglary_victims_satisfaction_with_12_month_n(example_figures: PlanFigures, victims: pd.DataFrame) -> None:
    row = _row(example_figures, "Offenders", "victim_satisfaction_whole_experience", "Burglary")
    mine = victims[victims["crime_type"] == "Burglary"]
    rolling = mine[mine["month"].isin(_window(MONTH, 12))]
    x, n = int(rolling["positive"].sum()), len(rolling)
    assert n > 200  # a third of about 1,200 interviews a year
    assert (row["rolling_12m_num"], row["rolling_12m_den"]) == (x, n)
    assert row["rolling_12m"] == pytest.approx(100 * x / n)
    low, high = proportion_confint(x, n, method="wilson")
    assert (row["rolling_12m_ci_low"], row["rolling_12m_ci_high"]) == (pytest.approx(100 * low), pytest.approx(100 * high))
    base = mine[mine["month"].isin(BASELINE)]
    assert row["baseline"] == pytest.approx(100 * base["positive"].mean())
    t, u = mine[mine["month"].isin(R_ONLY)], mine[mine["month"].isin(B_ONLY)]
    p = _prop_test(t["positive"].sum(), len(t), u["positive"].sum(), len(u))
    assert row["p_value"] == pytest.approx(p, rel=1e-9, abs=0)
    assert row["label"] == _label(p, t["positive"].mean() > u["positive"].mean(), "higher_is_better")
    month = mine[mine["month"] == MONTH]
    assert (row["current_num"], row["current_den"]) == (month["positive"].sum(), len(month))
    others = victims[(victims["crime_type"] != "Burglary") & victims["month"].isin(_window(MONTH, 12))]
    p_others = _prop_test(x, n, others["positive"].sum(), len(others))
    assert row["p_value_vs_others"] == pytest.approx(p_others, rel=1e-9)
    better = x / n > others["positive"].mean()
    assert row["label_vs_others"] == ("Similar" if p_others >= ALPHA else "Better" if better else "Worse")
    assert row["target"]["met"] is (row["rolling_12m"] >= 85)


def test_the_split_adds_up_to_the_packs_figure(example_figures: PlanFigures, victims: pd.DataFrame) -> None:
    key = next(k for k, r in example_figures.rows.items() if r["ref"] == "victim_satisfaction_whole_experience" and r["theme"] == "Victims")
    split = example_figures.splits[key]
    everyone = split[0]
    assert everyone["crime_type"] == "All respondents"
    assert everyone["rolling_12m"] == pytest.approx(example_figures.rows[key]["rolling_12m"])  # the pack's own figure
    assert sum(r["rolling_12m_den"] for r in split[1:]) == everyone["rolling_12m_den"]
    assert {r["crime_type"] for r in split[1:]} == {"Burglary", "Vehicle crime", "Violence and sexual offences"}
    counts = victims[victims["month"].isin(_window(MONTH, 12))].groupby("crime_type").size()
    assert {r["crime_type"]: r["rolling_12m_den"] for r in split[1:]} == counts.to_dict()


# -- the plan on a page and the theme models ---------------------------------------------------------

def test_plan_json_has_every_theme_indicator_value_and_label(example_figures: PlanFigures) -> None:
    model = plan_model(example_figures)
    plan = load_plan(EXAMPLE_PLAN)
    assert [t["name"] for t in model["themes"]] == [t.name for t in plan.themes]
    seen = 0
    for t, theme in zip(model["themes"], plan.themes, strict=True):
        assert (t["outcome"], t["aim"]) == (theme.outcome, theme.aim)
        rows = t["indicators"] + [r for p in t["priorities"] for r in p["indicators"] + [x for g in p["groups"] for x in g["indicators"]]]
        assert len(rows) == sum(1 for _ in theme.all_indicators())
        for r in rows:
            assert r["resolved"] and r["headline"]["value"] is not None and "label" in r["headline"]
            seen += 1
    assert seen == len(example_figures.rows) and not model["meta"]["unresolved"]
    assert model["meta"]["example"] is True and model["meta"]["generated_data"]


def test_theme_model_holds_its_priorities_groups_and_measures(example_figures: PlanFigures) -> None:
    plan = load_plan(EXAMPLE_PLAN)
    model = theme_model(example_figures, plan.theme("Offenders"))
    (_, acquisitive) = model["theme"]["priorities"]
    assert [g["name"] for g in acquisitive["groups"]] == ["Burglary dwelling", "Vehicle crime"]
    burglary = acquisitive["groups"][0]["indicators"]
    assert [r["group_name"] for r in burglary] == ["Burglary dwelling"] * 4
    assert model["findings"] and all(isinstance(s, str) for s in model["findings"])
    transformation = theme_model(example_figures, plan.theme("Transformation"))
    assert {r["ref"] for r in transformation["measures"]} >= {"bme_officers", "special_constables_turnover"}
    assert transformation["meta"]["generated_data"] == ["measures feed"]
