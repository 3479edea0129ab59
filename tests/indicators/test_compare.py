"""The comparison engine on small series: edge cases and properties."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thrv.indicators.compare import (
    CompareOptions,
    add_months,
    baseline_end_for,
    build_matrix,
    compare,
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


def _run(series: pd.DataFrame, covered: list[str], month: str, extra: pd.DataFrame | None = None) -> pd.DataFrame:
    m = dt.date(int(month[:4]), int(month[5:]), 1)
    first = add_months(m, -47)
    matrix = build_matrix(series, _coverage(covered), INDICATORS, first, m, extra)
    return compare(matrix, INDICATORS, m, CompareOptions())


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
    # 1 against 0 in 12 months: exact conditional test p = (1/13) doubled, capped by binomtest
    assert out["p_value_1y"] == pytest.approx(1 / 13)
    assert out["label_1y"] == "Comparable"


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
    if out["label_1y"] == "Improved":
        assert counts[-1] < np.mean(counts[-13:-1])
