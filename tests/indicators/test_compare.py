"""The comparison engine on small series: edge cases and properties."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thrv.indicators.compare import (
    CompareOptions,
    add_months,
    add_q_values,
    baseline_end_for,
    baseline_months,
    build_matrix,
    compare,
    immature_mask,
)
from thrv.indicators.definitions import Condition, Indicator

COUNT = Indicator("burglary", "Burglary", "count", "crimes", where=(Condition("crime_type", ("Burglary",)),))
RATE = Indicator("charged", "Charged", "proportion", "crimes", numerator=(Condition("x", (True,)),), direction="higher_is_better", test="two_proportion")
INDICATORS = {"burglary": COUNT, "charged": RATE}

months_st = st.dates(min_value=dt.date(2001, 1, 1), max_value=dt.date(2099, 12, 1)).map(lambda d: d.replace(day=1))


@given(m=months_st, n=st.integers(-600, 600))
def test_add_months_round_trips(m: dt.date, n: int) -> None:
    assert add_months(add_months(m, n), -n) == m
    assert add_months(m, 12 * (n // 12)).month == m.month


@given(m=months_st, fy=st.integers(1, 12))
def test_baseline_is_the_last_financial_year_end_strictly_before_the_month(m: dt.date, fy: int) -> None:
    end = baseline_end_for(m, CompareOptions(financial_year_end_month=fy))
    assert end.month == fy
    assert end < m
    assert add_months(end, 12) >= m  # the most recent such month


def test_financial_year_boundaries() -> None:
    o = CompareOptions()
    assert baseline_end_for(dt.date(2025, 3, 1), o) == dt.date(2024, 3, 1)  # March itself: the year before
    assert baseline_end_for(dt.date(2025, 4, 1), o) == dt.date(2025, 3, 1)
    assert baseline_end_for(dt.date(2024, 2, 1), o) == dt.date(2023, 3, 1)  # leap-year February
    fixed = CompareOptions(baseline_end=dt.date(2019, 3, 1))
    assert baseline_end_for(dt.date(2025, 12, 1), fixed) == dt.date(2019, 3, 1)


def _series(values: dict[str, float], indicator: str = "burglary", area: str = "F", den: dict[str, float] | None = None) -> pd.DataFrame:
    rows = [
        {"indicator": indicator, "level": "force", "force": "F", "area": area, "area_code": "",
         "month": dt.date(int(k[:4]), int(k[5:]), 1), "num": v, "den": (den or {}).get(k, np.nan)}
        for k, v in values.items()
    ]
    return pd.DataFrame(rows, columns=["indicator", "level", "force", "area", "area_code", "month", "num", "den"])


def _coverage(months: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"table": "crimes", "force": "F", "month": [dt.date(int(m[:4]), int(m[5:]), 1) for m in months], "rows": 1})


def _all_months(first: str, last: str) -> list[str]:
    out, m = [], dt.date(int(first[:4]), int(first[5:]), 1)
    end = dt.date(int(last[:4]), int(last[5:]), 1)
    while m <= end:
        out.append(m.strftime("%Y-%m"))
        m = add_months(m, 1)
    return out


def _run(
    series: pd.DataFrame,
    covered: list[str],
    month: str,
    extra: pd.DataFrame | None = None,
    options: CompareOptions | None = None,
    indicators: dict[str, Indicator] | None = None,
    latest: str | None = None,
) -> pd.DataFrame:
    m = dt.date(int(month[:4]), int(month[5:]), 1)
    first = add_months(m, -47)
    inds = indicators or INDICATORS
    matrix = build_matrix(series, _coverage(covered), inds, first, m, extra)
    if latest:
        matrix.immature = immature_mask(matrix, inds, {("crimes", "F"): dt.date(int(latest[:4]), int(latest[5:]), 1)})
    return compare(matrix, inds, m, options or CompareOptions())


def test_zero_counts_are_zeros_and_labels_say_comparable() -> None:
    months = _all_months("2022-01", "2025-12")
    out = _run(_series({}), months, "2025-12", extra=_series({"2025-12": 0}).drop(columns=["month", "num", "den"]))
    row = out.iloc[0]
    assert row["current"] == 0 and row["avg_1y"] == 0 and row["rolling_12m"] == 0
    assert row["label"] == "Comparable" and row["p_value"] == 1.0


def test_a_month_with_no_data_is_empty_not_zero() -> None:
    months = [m for m in _all_months("2022-01", "2025-12") if m != "2024-12"]
    out = _run(_series(dict.fromkeys(months, 10)), months, "2025-12").iloc[0]
    assert pd.isna(out["prev_1y"])  # 2024-12 missing
    assert out["avg_1y"] == 10 and out["avg_1y_months"] == 11
    assert out["rolling_12m"] == 120
    assert pd.isna(out["baseline"])  # Apr 2024 - Mar 2025 includes the missing December
    assert out["label"] == "Insufficient data"
    gap = _run(_series(dict.fromkeys(months, 10)), months, "2024-12").iloc[0]
    assert pd.isna(gap["current"]) and gap["label_1y"] == "Insufficient data"
    assert pd.isna(gap["rolling_12m"])  # a 12-month total with a missing month is not a total


def test_averages_need_three_quarters_of_their_months() -> None:
    months = _all_months("2025-05", "2025-12")  # 7 months before December
    out = _run(_series(dict.fromkeys(months, 5)), months, "2025-12").iloc[0]
    assert pd.isna(out["avg_1y"]) and out["label_1y"] == "Insufficient data"


def test_a_district_with_one_crime() -> None:
    months = _all_months("2022-01", "2025-12")
    out = _run(_series({"2025-12": 1}, area="Tiny"), months, "2025-12").iloc[0]
    assert out["current"] == 1 and out["avg_1y"] == 0 and out["prev_1y"] == 0
    # 48 months of history, one event: φ = 1 (floored) and too few events for seasonal
    # factors, so the test is the exact conditional test against the plain average. Its
    # two-sided p is twice the tail P(X >= 1 | n = 1, π0 = 1/13) = 2/13 (the rule that
    # matches the Clopper-Pearson interval); the plain test's minimum-likelihood p is 1/13.
    assert out["dispersion"] == 1.0 and out["expectation"] == "average"
    assert out["p_value_1y"] == pytest.approx(2 / 13)
    assert out["label_1y"] == "Comparable"
    plain = _run(_series({"2025-12": 1}, area="Tiny"), months, "2025-12", options=CompareOptions(dispersion=False)).iloc[0]
    assert plain["p_value_1y"] == pytest.approx(1 / 13)
    assert "not adjusted for over-dispersion" in plain["test_1y"]
    # the plain test chosen for one indicator in the indicator file
    one = {"burglary": replace(COUNT, test="poisson_exact")}
    chosen = _run(_series({"2025-12": 1}, area="Tiny"), months, "2025-12", indicators=one).iloc[0]
    assert chosen["p_value_1y"] == pytest.approx(1 / 13) and chosen["test_1y"].startswith("Exact Poisson test")


def test_proportions_pool_numerators_and_denominators() -> None:
    months = _all_months("2024-01", "2025-12")
    num = dict.fromkeys(months, 10.0)
    den = dict.fromkeys(months, 100.0)
    num["2025-12"], den["2025-12"] = 30.0, 100.0
    out = _run(_series(num, indicator="charged", den=den), months, "2025-12").iloc[0]
    assert out["current"] == pytest.approx(30.0)
    assert out["avg_1y"] == pytest.approx(10.0)
    assert out["change_avg_1y"] == pytest.approx(20.0) and out["change_unit"] == "pp"
    assert out["label_1y"] == "Improved" and out["p_value_1y"] < 1e-6


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(0, 500), min_size=48, max_size=48),
    month=st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 1)).map(lambda d: d.replace(day=1)),
)
def test_property_figures_are_sums_and_means_of_the_months(counts: list[int], month: dt.date) -> None:
    months = [add_months(month, k - 47).strftime("%Y-%m") for k in range(48)]
    out = _run(_series(dict(zip(months, map(float, counts), strict=True))), months, month.strftime("%Y-%m")).iloc[0]
    assert out["current"] == counts[-1]
    assert out["prev_1y"] == counts[-13] and out["prev_3y"] == counts[-37]
    assert out["avg_1y"] == pytest.approx(np.mean(counts[-13:-1]))
    assert out["avg_3y"] == pytest.approx(np.mean(counts[-37:-1]))
    assert out["rolling_12m"] == sum(counts[-12:])
    assert 0.0 <= out["p_value"] <= 1.0 and 0.0 <= out["p_value_1y"] <= 1.0
    # 36 months of history ending at M: a dispersion, at least 1
    assert out["dispersion"] >= 1.0
    # a crime volume is labelled Higher/Lower, on the side of the value it was tested against
    assert out["label_1y"] in {"Higher", "Lower", "Comparable"}
    if out["label_1y"] == "Lower":
        assert counts[-1] < out["expected_1y"]
    if out["label_1y"] == "Higher":
        assert counts[-1] > out["expected_1y"]
    if out["expectation"] == "average":
        assert out["expected_1y"] == pytest.approx(out["avg_1y"])


@given(m=months_st)
def test_baseline_test_months_are_the_months_not_shared(m: dt.date) -> None:
    r_only, b_only = baseline_months(m, CompareOptions())
    rolling = {add_months(m, -k) for k in range(12)}
    b_end = baseline_end_for(m, CompareOptions())
    baseline = {add_months(b_end, -k) for k in range(12)}
    assert set(r_only) == rolling - baseline and set(b_only) == baseline - rolling
    # the default (financial-year) baseline: as many months, the same calendar months
    assert [x.month for x in r_only] == [x.month for x in b_only]
    assert len(r_only) == (m.month - 3) % 12 or (len(r_only) == 12 and m.month == 3)


def test_rolling_vs_baseline_is_judged_on_the_months_not_shared() -> None:
    """June 2025: the rolling 12 months (Jul 2024-Jun 2025) and the baseline (Apr 2024-Mar
    2025) share nine months; the test compares Apr-Jun 2025 with Apr-Jun 2024 only."""
    from scipy.stats import binomtest

    months = _all_months("2022-01", "2025-06")
    counts = dict.fromkeys(months, 100.0)
    for k in ("2025-04", "2025-05", "2025-06"):
        counts[k] = 130.0
    plain = CompareOptions(dispersion=False)
    out = _run(_series(counts), months, "2025-06", options=plain).iloc[0]
    assert out["rolling_12m"] == 9 * 100 + 3 * 130 and out["baseline"] == 1200
    assert out["p_value"] == pytest.approx(binomtest(390, 690, 0.5).pvalue)
    assert "2025-04 to 2025-06 vs 2024-04 to 2024-06" in out["test"]
    assert out["estimate"] == pytest.approx(1.3)  # 390 / 300, the months tested
    # what the shared months hold changes nothing
    for k in ("2024-07", "2024-08", "2025-01", "2025-03"):
        counts[k] = 900.0
    again = _run(_series(counts), months, "2025-06", options=plain).iloc[0]
    assert again["p_value"] == out["p_value"] and again["rolling_12m"] != out["rolling_12m"]


def test_labels_follow_board_practice_and_the_indicator_file() -> None:
    """Generated series. A crime volume rising is "Higher" (more recording can be good); the
    same indicator configured improved_deteriorated says "Deteriorated"."""
    months = _all_months("2022-01", "2025-12")
    counts = dict.fromkeys(months, 100.0)
    counts["2025-12"] = 200.0
    out = _run(_series(counts), months, "2025-12").iloc[0]
    assert out["label_1y"] == "Higher" and out["label_3y"] == "Higher"
    worded = {"burglary": replace(COUNT, labels="improved_deteriorated")}
    out2 = _run(_series(counts), months, "2025-12", indicators=worded).iloc[0]
    assert out2["label_1y"] == "Deteriorated"


def test_an_immature_outcome_month_is_marked_and_left_out() -> None:
    """Generated rates: the store's latest three months are immature for an indicator with
    immature_months = 3; the month-vs-average labels say "Immature", and the baseline test
    leaves those months (and the same calendar months of the baseline) out."""
    from statsmodels.stats.proportion import proportions_ztest

    months = _all_months("2022-01", "2025-12")
    num = dict.fromkeys(months, 40.0)
    den = dict.fromkeys(months, 100.0)
    for k in ("2025-10", "2025-11", "2025-12"):
        num[k] = 20.0  # open cases: the rate has not caught up yet
    rate = {"charged": replace(RATE, immature_months=3)}
    out = _run(_series(num, indicator="charged", den=den), months, "2025-12", indicators=rate, latest="2025-12").iloc[0]
    assert out["maturity"] == "immature"
    assert out["label_1y"] == "Immature" and out["label_3y"] == "Immature" and np.isnan(out["p_value_1y"])
    # Apr-Sep 2025 against Apr-Sep 2024: equal rates, nothing to report
    _, p = proportions_ztest([240, 240], [600, 600])
    assert out["p_value"] == pytest.approx(p) and out["label"] == "Comparable"
    mature = _run(_series(num, indicator="charged", den=den), months, "2025-09", indicators=rate, latest="2025-12").iloc[0]
    assert mature["maturity"] == "mature" and mature["label_1y"] == "Comparable"
    no_rule = _run(_series(num, indicator="charged", den=den), months, "2025-12", latest="2025-12").iloc[0]
    assert no_rule["maturity"] == "" and no_rule["label_1y"] == "Deteriorated"  # the artefact


def test_q_values_over_the_pack_and_labels_by_false_discovery_rate() -> None:
    from statsmodels.stats.multitest import multipletests

    table = pd.DataFrame({
        "label": ["Higher", "Lower", "Comparable", "Insufficient data"],
        "p_value": [0.001, 0.04, 0.5, np.nan],
        "label_1y": ["Higher", "Comparable", "Comparable", "Insufficient data"],
        "p_value_1y": [0.03, 0.2, 0.9, np.nan],
        "label_3y": ["Improved", "Comparable", "Comparable", "Insufficient data"],
        "p_value_3y": [0.0001, 0.3, 0.6, np.nan],
    })
    out = add_q_values(table, CompareOptions())
    p = np.array([0.001, 0.04, 0.5, 0.03, 0.2, 0.9, 0.0001, 0.3, 0.6])
    q = multipletests(p, method="fdr_bh")[1]
    np.testing.assert_allclose(out[["q_value", "q_value_1y", "q_value_3y"]].to_numpy()[:3].T.ravel(), q)
    assert list(out["label"]) == list(table["label"])  # by default the labels are by p
    fdr = add_q_values(table, CompareOptions(fdr=True))
    assert list(fdr["label"]) == ["Higher", "Comparable", "Comparable", "Insufficient data"]
    assert list(fdr["label_1y"]) == ["Comparable"] * 3 + ["Insufficient data"]
    assert fdr["label_3y"].iloc[0] == "Improved"


def test_fewer_than_24_months_use_the_plain_test_and_say_so() -> None:
    months = _all_months("2024-06", "2025-12")  # 19 months
    out = _run(_series(dict.fromkeys(months, 50.0)), months, "2025-12").iloc[0]
    assert np.isnan(out["dispersion"]) and out["expectation"] == "average"
    assert "not adjusted for over-dispersion (fewer than 24 months of history)" in out["test_1y"]
