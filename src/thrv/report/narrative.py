"""Plain-language findings: one sentence per indicator and area, built only from the figures.

Each clause is added only when the numbers behind it exist and support it: "the lowest
month" only when the month ranks lowest of those held (and says how many months that is);
"significant" only with its test's p-value below the pack's alpha; nothing about a year
ago when that month is not in the store.
"""

from __future__ import annotations

import math
from typing import Any

MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]


def month_name(yyyy_mm: str) -> str:
    year, month = yyyy_mm.split("-")
    return f"{MONTHS[int(month) - 1]} {year}"


def _prior_year(yyyy_mm: str, years: int = 1) -> str:
    year, month = yyyy_mm.split("-")
    return f"{int(year) - years}-{month}"


def _num(value: float) -> str:
    return f"{round(value):,}" if float(value).is_integer() else f"{value:,.1f}"


def format_p(p: float) -> str:
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}"


def _finite(value: Any) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _v(row: dict[str, Any], key: str) -> float:
    """A row's value as a float (NaN when missing), for arithmetic after a _finite check."""
    value: Any = row.get(key)
    return float(value) if _finite(value) else float("nan")


def _significance(p: Any, alpha: float) -> str:
    if not _finite(p):
        return ""
    word = "significant" if float(p) < alpha else "not significant"
    return f" ({word}, {format_p(float(p))})"


def _extreme(row: dict[str, Any]) -> str:
    held = int(row.get("history_months") or 0)
    if held < 12 or not _finite(row.get("current")):
        return ""
    since = month_name(row["history_from"]) if row.get("history_from") else ""
    span = "in at least ten years" if held >= 120 else f"of the {held} months held (since {since})"
    if row.get("rank_low") == 1:
        return f", the lowest month {span}"
    if row.get("rank_high") == 1:
        return f", the highest month {span}"
    return ""


def sentence(row: dict[str, Any], title: str, measure: str, alpha: float = 0.05, noun: str = "records") -> str:
    """The finding for one pack row (a dict of its columns)."""
    month = row["month"]
    when = month_name(month)
    current = _v(row, "current")
    if not _finite(current):
        return f"{title}: no data for {when}."
    last_year = month_name(_prior_year(month))
    if measure == "proportion":
        text = f"{title}: {float(current):.1f}%"
        if _finite(row.get("current_den")):
            text += f" (n={_num(_v(row, 'current_den'))})"
        text += f" in {when}"
        text += _extreme(row)
        prev = _v(row, "prev_1y")
        if _finite(prev):
            diff = current - prev
            direction = "up" if diff > 0 else "down" if diff < 0 else "unchanged"
            if direction == "unchanged":
                text += f", unchanged from {last_year}"
            else:
                text += f", {direction} {abs(diff):.1f} percentage points on {last_year}"
            text += _significance(row.get("p_value_prev_1y"), alpha)
    else:
        # a median or percentile is a time (or another measure), not a number of records
        is_measure = measure not in {"count", "proportion"}
        unit = str(row.get("unit") or "") if is_measure else noun
        text = f"{title}: {_num(float(current))}{' ' + unit if unit else ''} in {when}"
        text += _extreme(row)
        prev = _v(row, "prev_1y")
        if _finite(prev) and prev > 0:
            change = 100.0 * (current - prev) / prev
            if abs(change) < 0.05:
                text += f", the same as {last_year}"
            else:
                word = ("lower" if change < 0 else "higher") if is_measure else ("fewer" if change < 0 else "more")
                text += f", {abs(change):.1f}% {word} than {last_year}"
            text += _significance(row.get("p_value_prev_1y"), alpha)
        elif _finite(prev):
            text += f", against none in {last_year}"
    text += "."
    label = row.get("label")
    if label and label != "Insufficient data" and _finite(row.get("rolling_12m")):
        rolling = _v(row, "rolling_12m")
        if measure == "proportion":
            shown = f"{rolling:.1f}%" + (f", n={_num(_v(row, 'rolling_12m_den'))}" if _finite(row.get("rolling_12m_den")) else "")
        elif measure in {"count"}:
            shown = _num(rolling)
        else:
            shown = f"{_num(rolling)} {row.get('unit') or ''}".strip()
        verdict = {
            "Comparable": "comparable with",
            "Improved": "an improvement on",
            "Deteriorated": "a deterioration on",
            "Higher": "higher than",
            "Lower": "lower than",
            "Immature": "not yet comparable (outcomes immature) with",
        }[str(label)]
        text += (
            f" The 12 months to {when} ({shown}) are {verdict} the baseline "
            f"({row.get('baseline_period', '')})"
        )
        text += f" ({format_p(_v(row, 'p_value'))})." if _finite(row.get("p_value")) else "."
    variation = row.get("spc_variation")
    if variation and str(variation).startswith("special cause"):
        from thrv.report.glance import rule_words, spc_words

        rules = rule_words(row.get("spc_rules"))
        text += f" The SPC chart shows {spc_words(row)}" + (f" ({rules})." if rules else ".")
    return text
