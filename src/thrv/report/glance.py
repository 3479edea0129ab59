"""The "at a glance" page: the exceptions of a pack, one line each, with the numbers.

A board reads the first page and stops. It lists what changed significantly against the
baseline (best first, then worst), this month against its 1-year average, special causes on
the SPC charts, and where the area stands against the other forces held. Every number is
read from the model's rows; nothing is recomputed here. Lines from generated data are
marked and come after the real ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from thrv.report.narrative import format_p, month_name

SIGNIFICANT = {"Improved", "Deteriorated", "Higher", "Lower"}
#: lines per section on the first page
LIMIT = 5

SPC_WORDS = {
    "special cause improvement": "special cause: improving",
    "special cause concern": "special cause: concerning",
    "special cause (neither)": "special cause",
    "special cause neither": "special cause",
    "common cause": "common cause",
}
RULE_WORDS = {
    "beyond_limits": "a point beyond the process limits",
    "shift": "a run on one side of the mean",
    "trend": "a run rising or falling",
    "two_of_three": "2 of 3 points near a limit",
}


@dataclass
class Section:
    key: str
    heading: str
    lines: list[str] = field(default_factory=list)
    more: int = 0  # lines left off (shown in the full tables)


def _f(v: Any) -> float:
    return float(v)


def missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v == ""


def number(v: Any, measure: str, kind: str = "value") -> str:
    """A figure as the board table shows it: counts whole, averages 1 dp, proportions with %."""
    if isinstance(v, str):
        return v  # a disclosure marker such as "[c]" or "<5"
    if missing(v):
        return ""
    v = _f(v)
    if measure == "proportion":
        return f"{v:.1f}%"
    if kind == "average" or not v.is_integer():
        return f"{v:,.1f}"
    return f"{int(v):,}"


def n_text(v: Any) -> str:
    """'n=531' for a denominator ('' when missing; a marker as given)."""
    if isinstance(v, str):
        return f"n={v}" if v else ""
    if missing(v):
        return ""
    return f"n={_f(v):,.0f}"


def with_n(value: Any, den: Any, measure: str) -> str:
    """'91.7% (n=12)' for a proportion, the plain figure otherwise."""
    shown = number(value, measure)
    if measure != "proportion" or not shown:
        return shown
    n = n_text(den)
    return f"{shown} ({n})" if n else shown


def spc_words(row: dict[str, Any]) -> str:
    """SPC verdict in plain words; a directionless special cause says whether it is high or low."""
    v = str(row.get("spc_variation") or "")
    words = SPC_WORDS.get(v, v.replace("_", " "))
    if v.startswith("special cause") and "improv" not in v and "concern" not in v:
        cur, mean = row.get("current"), row.get("spc_mean")
        if not missing(cur) and not missing(mean) and not isinstance(cur, str) and not isinstance(mean, str):
            words += " (high)" if _f(cur) > _f(mean) else " (low)" if _f(cur) < _f(mean) else ""
    return words


def rule_words(rules: Any) -> str:
    return "; ".join(RULE_WORDS.get(r.strip(), r.strip().replace("_", " ")) for r in str(rules or "").split(",") if r.strip())


def _p(row: dict[str, Any], key: str) -> str:
    p = row.get(key)
    return "" if missing(p) or isinstance(p, str) else format_p(_f(p))


def _change(row: dict[str, Any], key: str) -> str:
    c = row.get(key)
    if missing(c) or isinstance(c, str):
        return ""
    unit = " pts" if row.get("change_unit") == "pp" else "%"
    return f"{_f(c):+.1f}{unit}"


def _mark(row: dict[str, Any]) -> str:
    return " ⚠" if row.get("generated_data") else ""


def _name(row: dict[str, Any], with_area: bool) -> str:
    title = str(row.get("title") or row.get("indicator"))
    return f"{title} ({row['area']})" if with_area else title


def _sorted(rows: Sequence[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    def order(r: dict[str, Any]) -> tuple[int, float]:
        p = r.get(key)
        return (1 if r.get("generated_data") else 0, _f(p) if not missing(p) and not isinstance(p, str) else 1.0)

    return sorted(rows, key=order)


def _baseline_line(r: dict[str, Any], month: str, with_area: bool) -> str:
    m = r.get("measure", "count")
    return (
        f"{_name(r, with_area)}{_mark(r)}: {with_n(r.get('rolling_12m'), r.get('rolling_12m_den'), m)} in the 12 months to "
        f"{month}, baseline {number(r.get('baseline'), m)} ({_change(r, 'change_baseline')}; {r.get('label')}, {_p(r, 'p_value')})"
    )


def _month_line(r: dict[str, Any], month: str, with_area: bool) -> str:
    m = r.get("measure", "count")
    return (
        f"{_name(r, with_area)}{_mark(r)}: {with_n(r.get('current'), r.get('current_den'), m)} in {month}, "
        f"1-year average {number(r.get('avg_1y'), m, 'average')} ({_change(r, 'change_avg_1y')}; "
        f"{r.get('label_1y')}, {_p(r, 'p_value_1y')})"
    )


def _spc_line(r: dict[str, Any], month: str, with_area: bool) -> str:
    m = r.get("measure", "count")
    limits = ""
    if not missing(r.get("spc_lcl")) and not missing(r.get("spc_ucl")):
        limits = f"; limits {number(r.get('spc_lcl'), m, 'average')} to {number(r.get('spc_ucl'), m, 'average')}"
    rules = rule_words(r.get("spc_rules"))
    return (
        f"{_name(r, with_area)}{_mark(r)}: {number(r.get('current'), m)} in {month}, mean "
        f"{number(r.get('spc_mean'), m, 'average')}{limits}: {spc_words(r)}" + (f" ({rules})" if rules else "")
    )


def rank_text(r: dict[str, Any]) -> str:
    rank, of = r.get("force_rank"), r.get("force_rank_of")
    if missing(rank) or missing(of) or isinstance(rank, str):
        return ""
    return f"{int(_f(rank))} of {int(_f(of))}"


def _national_line(r: dict[str, Any], month: str, with_area: bool) -> str:
    rate = r.get("rate_per_1000")
    nat = r.get("national_rate_per_1000")
    reg = r.get("regional_rate_per_1000")
    text = f"{_name(r, with_area)}{_mark(r)}: {_rate(rate)} per 1,000 residents in the 12 months to {month}"
    parts = []
    if not missing(nat):
        parts.append(f"national {_rate(nat)}")
    if not missing(reg):
        parts.append(f"regional {_rate(reg)}")
    rank = rank_text(r)
    if rank:
        parts.append(f"rank {rank} forces (1 = lowest rate)")
    label = r.get("label_national")
    if label in SIGNIFICANT:
        parts.append(f"{label} than national, {_p(r, 'p_value_national')}")
    return text + (" (" + "; ".join(parts) + ")" if parts else "")


def _rate(v: Any) -> str:
    if isinstance(v, str):
        return v
    return "" if missing(v) else f"{_f(v):.2f}"


def sections(rows: Sequence[dict[str, Any]], month: str, with_area: bool = False, limit: int = LIMIT) -> list[Section]:
    """The exceptions among ``rows`` (one area's rows, or several with ``with_area``)."""
    when = month_name(month)
    out: list[Section] = []

    def add(key: str, heading: str, chosen: list[dict[str, Any]], line: Callable[[dict[str, Any], str, bool], str]) -> None:
        out.append(Section(key, heading, [line(r, when, with_area) for r in chosen[:limit]], max(0, len(chosen) - limit)))

    add("best", "Best: improved on the baseline", _sorted([r for r in rows if r.get("label") == "Improved"], "p_value"), _baseline_line)
    add("worst", "Worst: deteriorated from the baseline", _sorted([r for r in rows if r.get("label") == "Deteriorated"], "p_value"), _baseline_line)
    add("shifted", "Higher or lower than the baseline (no better direction)",
        _sorted([r for r in rows if r.get("label") in {"Higher", "Lower"}], "p_value"), _baseline_line)
    add("month", f"{when} against its 1-year average",
        _sorted([r for r in rows if r.get("label_1y") in SIGNIFICANT], "p_value_1y"), _month_line)
    add("spc", "Special causes on the SPC charts",
        _sorted([r for r in rows if str(r.get("spc_variation") or "").startswith("special cause")], "p_value"), _spc_line)
    national = [r for r in rows if not missing(r.get("national_rate_per_1000")) and not missing(r.get("rate_per_1000"))]
    national.sort(key=lambda r: (0 if r.get("label_national") in SIGNIFICANT else 1, r.get("generated_data") is True))
    add("national", "Against the other forces held", national, _national_line)
    return [s for s in out if s.lines]
