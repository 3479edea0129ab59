"""Numbers and dates as an assessment writes them in sentences."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any


def missing(v: Any) -> bool:
    """None, NaN, or anything that is not a number (a template's undefined value)."""
    if v is None or isinstance(v, bool):
        return v is None
    try:
        return math.isnan(float(v))
    except (TypeError, ValueError):
        return True


def num(v: Any, dp: int = 0) -> str:
    if missing(v):
        return "–"
    return f"{float(v):,.{dp}f}"


def pct(v: Any, dp: int = 0, signed: bool = False) -> str:
    if missing(v):
        return "–"
    return f"{float(v):+,.{dp}f}%" if signed else f"{float(v):,.{dp}f}%"


def p_text(p: Any) -> str:
    """p- or q-values as journals print them."""
    if missing(p):
        return "–"
    p = float(p)
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


def month_label(month: dt.date | str) -> str:
    if isinstance(month, str):
        month = dt.date.fromisoformat(month[:7] + "-01")
    return month.strftime("%b %Y")


def period_label(first: dt.date | str, last: dt.date | str) -> str:
    a, b = month_label(first), month_label(last)
    return a if a == b else f"{a} to {b}"


def q_text(q: Any, name: str = "q") -> str:
    """'q = 0.012' or 'q < 0.001'."""
    t = p_text(q)
    return f"{name} {t}" if t.startswith("<") else f"{name} = {t}"


SPC_RULES = {
    "beyond_limits": "a point above the upper process limit",
    "shift": "a shift (a run of points above the mean)",
    "trend": "a run of rising points",
    "two_of_three": "two of three points near a process limit",
}


def spc_rules_text(rules: str) -> str:
    names = [r.strip() for r in rules.split(",") if r.strip()]
    return "; ".join(SPC_RULES.get(n, n) for n in names)
