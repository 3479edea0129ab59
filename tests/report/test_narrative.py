"""Sentences say each figure in its own unit, with n beside proportions, in plain words."""

from __future__ import annotations

from thrv.report.glance import sections, spc_words
from thrv.report.narrative import sentence

BASE = {"month": "2025-12", "history_months": 24, "history_from": "2024-01", "baseline_period": "2024-04 to 2025-03"}


def test_a_median_is_said_in_minutes_not_records() -> None:
    row = {**BASE, "current": 1466.625, "prev_1y": 1597.5, "rolling_12m": 1500.0, "label": "Comparable",
           "p_value": 0.4, "unit": "minutes", "p_value_prev_1y": None}
    text = sentence(row, "Scheduled response: median minutes to first arrival", "median", noun="incidents")
    assert "1,466.6 minutes in December 2025" in text and "incidents" not in text
    assert "8.2% lower than December 2024" in text and "(1,500 minutes)" in text
    seconds = sentence({**row, "current": 33.0, "prev_1y": 32.0, "unit": "seconds"}, "101 calls: median seconds to answer", "median", noun="calls")
    assert "33 seconds in December 2025" in seconds and "33 calls" not in seconds


def test_proportions_carry_n_for_the_month_and_the_12_months() -> None:
    row = {**BASE, "current": 91.666, "current_num": 11.0, "current_den": 12.0, "prev_1y": 90.0, "rolling_12m": 88.0,
           "rolling_12m_den": 531.0, "label": "Comparable", "p_value": 0.5, "p_value_prev_1y": 0.9}
    text = sentence(row, "Victims satisfied", "proportion")
    assert "91.7% (n=12) in December 2025" in text and "(88.0%, n=531)" in text


def test_spc_jargon_is_plain_words() -> None:
    row = {**BASE, "current": 281.0, "spc_mean": 193.8, "spc_variation": "special cause (neither)", "spc_rules": "two_of_three"}
    assert spc_words(row) == "special cause (high)"
    text = sentence(row, "Drugs", "count", noun="crimes")
    assert "(neither)" not in text and "two_of_three" not in text and "2 of 3 points near a limit" in text
    assert spc_words({"spc_variation": "special cause improvement"}) == "special cause: improving"


def test_glance_lines_carry_the_numbers_and_generated_data_comes_last() -> None:
    rows = [
        {**BASE, "title": "Burglary", "area": "X", "measure": "count", "label": "Improved", "p_value": 0.01,
         "rolling_12m": 3000.0, "baseline": 3300.0, "change_baseline": -9.09, "change_unit": "%"},
        {**BASE, "title": "Calls", "area": "X", "measure": "proportion", "label": "Improved", "p_value": 0.0001,
         "rolling_12m": 91.0, "rolling_12m_den": 531.0, "baseline": 88.0, "change_baseline": 3.0, "change_unit": "pp",
         "generated_data": True},
    ]
    best = next(s for s in sections(rows, "2025-12") if s.key == "best")
    assert best.lines[0].startswith("Burglary: 3,000 in the 12 months to December 2025, baseline 3,300 (-9.1%; Improved, p = 0.010)")
    assert best.lines[1].startswith("Calls ⚠: 91.0% (n=531)") and "+3.0 pts" in best.lines[1]
