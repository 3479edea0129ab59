"""Survey indicators split by crime type: e.g. burglary victims' satisfaction, with 12-month n.

A victim survey row names the crime it is about (``crime_id``); the force's crime record
(``force_crimes``) gives that crime's type. Joining the two splits any survey indicator
(its ``where`` and ``numerator`` conditions, as defined for the pack) by the victim's crime
type. Each split is a monthly proportion series, judged by the pack's own engine
(:mod:`thrv.plan.series`): the same months, averages, rolling 12 months, baseline and
tests, with the rolling 12 months' numerator and denominator as the "12-month n".
Responses whose crime is not in the store are counted as "Crime not linked" so the split
adds up to the whole.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import ibis
import pandas as pd

from thrv.indicators.compare import CompareOptions
from thrv.indicators.definitions import Condition, Indicator
from thrv.plan.series import MonthlySeries, window_start

NOT_LINKED = "Crime not linked"
ALL_VICTIMS = "All respondents"


def _predicate(t: Any, conditions: Sequence[Condition]) -> Any:
    """Rows meeting every condition (a missing value never equals; it passes a negation)."""
    pred = ibis.literal(True)
    for c in conditions:
        col = t[c.column]
        values = list(c.values)
        hit = col.isin(values)
        pred = pred & ((col.isnull() | ~hit) if c.negate else hit.fill_null(False))
    return pred


def survey_by_crime_type(
    con: Any,
    indicator: Indicator,
    force: str,
    month: dt.date,
    options: CompareOptions,
    district_codes: Sequence[str] | None = None,
) -> tuple[list[MonthlySeries], dict[str, Any]]:
    """One monthly series per crime type (and one for all respondents) for a survey indicator.

    Returns the series (keys ``<indicator>|<crime type>``) and facts about the split: the
    crime types found, whether any row was generated, and how many responses were linked.
    """
    tables = set(con.list_tables())
    if indicator.table != "survey_responses" or "survey_responses" not in tables:
        return [], {"crime_types": [], "linked": 0, "responses": 0, "generated": False}
    first = window_start(month, options)
    s = con.table("survey_responses")
    s = s.filter((s.force == force) & (s.month >= first) & (s.month <= month))
    if district_codes is not None:
        s = s.filter(s.district_code.isin(list(district_codes)))
    covered = sorted(pd.to_datetime(s.select("month").distinct().to_pandas()["month"]).dt.date)
    wanted = s.filter(_predicate(s, indicator.where))
    if "force_crimes" in tables:
        c = con.table("force_crimes")
        c = c.filter(c.force == force).select(
            c_force=c.force, c_id=c.crime_id, crime_type=c.crime_type, c_generated=c.generated
        )
        joined = wanted.left_join(c, (wanted.force == c.c_force) & (wanted.crime_id == c.c_id))
        joined = joined.mutate(
            crime_type=joined.crime_type.fill_null(NOT_LINKED),
            c_generated=joined.c_generated.fill_null(False),
        )
    else:
        joined = wanted.mutate(crime_type=ibis.literal(NOT_LINKED), c_generated=ibis.literal(False))
    grouped = (
        joined.group_by(["month", "crime_type"])
        .aggregate(
            num=joined.count(where=_predicate(joined, indicator.numerator)),
            den=joined.count(),
            generated=(joined.generated.fill_null(False) | joined.c_generated).any(),
        )
        .to_pandas()
    )
    grouped["month"] = pd.to_datetime(grouped["month"]).dt.date
    series: list[MonthlySeries] = []
    types = sorted(t for t in grouped["crime_type"].unique() if t != NOT_LINKED)
    if NOT_LINKED in set(grouped["crime_type"]):
        types.append(NOT_LINKED)
    total = grouped.groupby("month", as_index=False)[["num", "den"]].sum()
    for name, frame in [(ALL_VICTIMS, total)] + [(t, grouped[grouped["crime_type"] == t]) for t in types]:
        series.append(
            MonthlySeries(
                key=f"{indicator.id}|{name}",
                figure_type="proportion",
                direction=indicator.direction,
                months=list(frame["month"]),
                num=frame["num"].astype(float).tolist(),
                den=frame["den"].astype(float).tolist(),
                covered=covered,
            )
        )
    linked = int(grouped.loc[grouped["crime_type"] != NOT_LINKED, "den"].sum())
    facts = {
        "crime_types": types,
        "linked": linked,
        "responses": int(grouped["den"].sum()),
        "generated": bool(grouped["generated"].any()) if len(grouped) else False,
    }
    return series, facts
