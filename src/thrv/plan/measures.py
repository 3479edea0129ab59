"""Generic measures as plan figures: monthly ones through the pack's engine, others period by period.

A measure fed monthly gets the pack's columns and labels (:mod:`thrv.plan.series`). A
measure fed by quarter, financial year, calendar year or as dated snapshots is judged
period against period: the latest period ending by the report month against the same
period a year (two, three years) earlier and against the period before it, with the
test its figure type allows (two-proportion z-test for proportions, exact Poisson test
for counts of equal-length periods, none for other values). A comparator on the row
(a population share, a national figure) is tested where a test exists
(:func:`thrv.stats.benchmark.one_proportion_test` for a proportion) and shown beside
the figure otherwise.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from thrv.indicators.compare import CompareOptions
from thrv.plan.series import MonthlySeries
from thrv.stats import classify, poisson_exact_test, two_proportion_test
from thrv.stats.benchmark import one_proportion_test
from thrv.stats.results import TestResult

COLUMNS = [
    "measure", "area", "area_code", "area_key", "force", "period", "period_type", "period_label",
    "period_start", "period_end", "month", "value", "numerator", "denominator", "n", "comparator",
    "comparator_value", "unit", "direction", "note", "generated", "figure_type",
]


def read_measures(con: Any, names: Iterable[str]) -> pd.DataFrame:
    """The stored rows of the named measures (every area and period), through Ibis."""
    wanted = sorted(set(names))
    if not wanted or "measures" not in set(con.list_tables()):
        return pd.DataFrame(columns=COLUMNS)
    t = con.table("measures")
    frame = t.filter(t.measure.isin(wanted)).select(COLUMNS).execute()
    for col in ("period_start", "period_end", "month"):
        frame[col] = pd.to_datetime(frame[col]).dt.date
    return frame.sort_values(["measure", "area_key", "period_end", "period_start"]).reset_index(drop=True)


def squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower().replace("&", "and"))


def rows_for_area(frame: pd.DataFrame, measure: str, aliases: set[str]) -> pd.DataFrame:
    """A measure's rows whose area (name or code) is one of ``aliases`` (squashed)."""
    rows = frame[frame["measure"] == measure]
    if rows.empty:
        return rows
    hit = (
        rows["area_key"].map(squash).isin(aliases)
        | rows["area"].fillna("").map(squash).isin(aliases)
        | rows["area_code"].fillna("").map(squash).isin(aliases)
    )
    return rows[hit]


def choose_period_type(rows: pd.DataFrame, month: dt.date) -> tuple[str, str]:
    """The period type to report (that of the latest period ending by M) and a note if mixed."""
    end = _month_end(month)
    upto = rows[rows["period_end"] <= end]
    if upto.empty:
        return "", ""
    latest = upto.sort_values(["period_end", "period_start"]).iloc[-1]
    kinds = sorted(set(upto["period_type"]))
    note = ""
    if len(kinds) > 1:
        note = f"the feed mixes {', '.join(kinds)} figures; the {latest['period_type']} figures are reported"
    return str(latest["period_type"]), note


def _month_end(month: dt.date) -> dt.date:
    nxt = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def monthly_series(key: str, rows: pd.DataFrame, direction: str) -> MonthlySeries:
    """A monthly measure as a series for the pack's engine: months with a row are covered."""
    figure_type = _figure_type(rows)
    months = list(rows["month"])
    if figure_type == "proportion":
        num, den = rows["numerator"].tolist(), rows["denominator"].tolist()
    else:
        num, den = rows["value"].tolist(), [0.0] * len(rows)
    return MonthlySeries(key, figure_type, direction, months, num, den, covered=None)


def _figure_type(rows: pd.DataFrame) -> str:
    """A measure's type: proportion only if every row is one; count only if every row is."""
    types = set(rows["figure_type"])
    if types == {"proportion"}:
        return "proportion"
    if types == {"count"}:
        return "count"
    return "value"


def direction_of(rows: pd.DataFrame, given: str | None) -> str:
    """The plan's direction, else the feed's (latest non-empty), else none."""
    if given:
        return given
    stated = [d for d in rows.sort_values("period_end")["direction"].fillna("") if d]
    return stated[-1] if stated else "none"


def _year_back(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:  # 29 February
        return d.replace(year=d.year - years, day=28)


def _find_earlier(rows: pd.DataFrame, latest: pd.Series, years: int) -> pd.Series | None:
    """The row of the same period ``years`` earlier (snapshots: the nearest within 31 days)."""
    start = _year_back(latest["period_start"], years)
    end = _year_back(latest["period_end"], years)
    if latest["period_type"] == "date":
        gaps = rows["period_end"].map(lambda d: abs((d - end).days))
        near = rows[gaps <= 31]
        if near.empty:
            return None
        best = gaps[near.index].idxmin()
        return near.loc[best]  # type: ignore[call-overload]
    hit = rows[(rows["period_start"] == start) & (rows["period_end"] == end)]
    return None if hit.empty else hit.iloc[-1]


def _test(figure_type: str, a: pd.Series, b: pd.Series, confidence: float) -> TestResult | None:
    """Latest against an earlier period with the test the figure type allows (or none)."""
    if figure_type == "proportion":
        if not (_ok(a["numerator"]) and _ok(a["denominator"]) and _ok(b["numerator"]) and _ok(b["denominator"])):
            return None
        try:
            return two_proportion_test(a["numerator"], a["denominator"], b["numerator"], b["denominator"], confidence)
        except ValueError:
            return None
    if figure_type == "count":
        return poisson_exact_test(a["value"], 1.0, b["value"], 1.0, confidence)
    return None


def _ok(v: Any) -> bool:
    try:
        return v is not None and math.isfinite(float(v)) and float(v) == math.floor(float(v))
    except (TypeError, ValueError):
        return False


def _value(row: pd.Series | None) -> float:
    return float("nan") if row is None else float(row["value"])


def period_figures(rows: pd.DataFrame, month: dt.date, direction: str, options: CompareOptions) -> dict[str, Any]:
    """The latest period ending by M, against earlier periods, with tests where they exist."""
    kind, mixed = choose_period_type(rows, month)
    end = _month_end(month)
    rows = rows[(rows["period_type"] == kind) & (rows["period_end"] <= end)].sort_values(["period_end", "period_start"])
    figure_type = _figure_type(rows)
    latest = rows.iloc[-1]
    earlier = {k: _find_earlier(rows, latest, k) for k in (1, 2, 3)}
    before = rows[rows["period_end"] < latest["period_start"]]
    previous = before.iloc[-1] if not before.empty else None
    out: dict[str, Any] = {
        "figure_type": figure_type,
        "measure": "proportion" if figure_type == "proportion" else "count",
        "period_type": kind,
        "period_label": latest["period_label"],
        "period_end": latest["period_end"].isoformat(),
        "current": float(latest["value"]),
        "current_num": float(latest["numerator"]) if figure_type == "proportion" else float(latest["value"]),
        "current_den": float(latest["denominator"]) if figure_type == "proportion" else float("nan"),
        "prev_1y": _value(earlier[1]), "prev_2y": _value(earlier[2]), "prev_3y": _value(earlier[3]),
        "prev_1y_label": "" if earlier[1] is None else earlier[1]["period_label"],
        "previous": _value(previous),
        "previous_label": "" if previous is None else previous["period_label"],
        "history_months": len(rows),
        "note": mixed,
    }
    if figure_type == "proportion":
        from thrv.stats import wilson_interval

        try:
            low, high = wilson_interval(latest["numerator"], latest["denominator"], options.confidence)
            out["current_ci_low"], out["current_ci_high"] = 100 * low, 100 * high
        except ValueError:
            pass
    for suffix, other in (("_prev_1y", earlier[1]), ("_previous", previous)):
        res = _test(figure_type, latest, other, options.confidence) if other is not None else None
        out[f"label{suffix}"] = (
            "" if figure_type == "value" else
            classify(res, direction if direction in {"higher_is_better", "lower_is_better"} else "none", options.alpha)  # type: ignore[arg-type]
            if res is not None else "Insufficient data"
        )
        out[f"p_value{suffix}"] = float("nan") if res is None or res.p_value is None else res.p_value
        out[f"test{suffix}"] = "" if res is None or res.p_value is None else res.method
    # the headline label: against the same period a year before, else the period before
    use = "_prev_1y" if earlier[1] is not None else "_previous"
    out["label"], out["p_value"], out["test"] = out[f"label{use}"], out[f"p_value{use}"], out[f"test{use}"]
    out["label_against"] = out["prev_1y_label"] if use == "_prev_1y" else out["previous_label"]
    out["history"] = [
        {"period": r["period_label"], "end": r["period_end"].isoformat(), "value": float(r["value"])}
        for _, r in rows.iterrows()
    ][-12:]
    out["generated_data"] = bool(rows["generated"].fillna(False).any())
    out["comparator_row"] = latest
    return out


def comparator_result(
    figure: float, num: float | None, den: float | None, figure_type: str, name: str, value: float,
    direction: str, options: CompareOptions, source: str,
) -> dict[str, Any]:
    """A figure against a comparator: tested for a proportion with its counts, else shown beside."""
    out: dict[str, Any] = {"name": name or "comparator", "value": value, "source": source,
                           "difference": figure - value if _finite(figure) else None,
                           "label": "", "test": "", "p_value": None, "note": ""}
    if figure_type == "proportion" and num is not None and den is not None and _ok(num) and _ok(den) and den > 0:
        res = one_proportion_test(num, den, value / 100.0, options.confidence)
        if res.p_value is not None:
            want = direction if direction in {"higher_is_better", "lower_is_better"} else "none"
            out["label"] = against_word(classify(res, want, options.alpha))  # type: ignore[arg-type]
            out["test"], out["p_value"] = res.method, res.p_value
            out["ci_low"], out["ci_high"] = (100 * (res.ci_low or 0) + value, 100 * (res.ci_high or 0) + value)
        else:
            out["note"] = res.note
    else:
        out["note"] = "shown beside the figure: no test applies to this kind of figure"
    return out


def against_word(label: str) -> str:
    """Pack labels read as a comparison with a fixed figure."""
    return {"Improved": "Better", "Deteriorated": "Worse"}.get(label, label).replace("Comparable", "Similar")


def _finite(v: Any) -> bool:
    try:
        return v is not None and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def as_float(v: Any) -> float:
    return float(v) if _finite(v) else float("nan")


def nan_to_none(v: Any) -> Any:
    if isinstance(v, (float, np.floating)) and not np.isfinite(v):
        return None
    return v


_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]


def period_name(period_type: str, label: str) -> str:
    """A period as a board paper writes it: "December 2025", "October to December 2025 (Q4)",
    "2024/25", "31 March 2025"."""
    try:
        if period_type == "month":
            return f"{_MONTHS[int(label[5:7]) - 1]} {label[:4]}"
        if period_type == "date":
            d = dt.date.fromisoformat(label)
            return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"
        if period_type == "quarter":
            from thrv.sources.measures import parse_period

            p = parse_period(label)
            if p is None:
                return label
            first, last = _MONTHS[p.start.month - 1], _MONTHS[p.end.month - 1]
            span = f"{first} to {last} {p.end.year}" if p.start.year == p.end.year else f"{first} {p.start.year} to {last} {p.end.year}"
            return f"{span} ({label})"
    except (ValueError, IndexError):
        return label
    return label
