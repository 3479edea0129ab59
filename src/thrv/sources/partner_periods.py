"""Periods as partners write them: months, quarters, financial years, calendar years.

Every period becomes ``(type, first day, last day, label)``. Accepted (``auto`` tries them in
this order): ``2019-01`` or ``2019-01-15`` (month); ``2019 Q1``, ``2019-Q1``, ``Q1 2019``
(calendar quarter); ``2018/19``, ``2018-19``, ``2018/2019`` (financial year, 1 April to 31
March); ``2016/17 - 18/19`` (several financial years, e.g. a three-year average); ``2019``
(calendar year). Anything else is not guessed: the row is quarantined with the reason.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from functools import cache

PERIOD_TYPES = ("month", "quarter", "financial_year", "financial_years", "year")

Period = tuple[str, dt.date, dt.date, str]

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})(?:-(\d{1,2}))?$")
_QUARTER = re.compile(r"^(?:(\d{4})[ -]?Q([1-4])|Q([1-4])[ -]?(\d{4}))$", re.IGNORECASE)
_FY = re.compile(r"^(\d{4})\s*[/-]\s*(\d{2}|\d{4})$")
_FY_RANGE = re.compile(r"^(\d{4})\s*/\s*(\d{2})\s*-\s*(\d{2})\s*/\s*(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _fy_end_ok(start: int, end_text: str) -> bool:
    end = int(end_text)
    return end == start + 1 if len(end_text) == 4 else end == (start + 1) % 100


@cache
def parse_period(text: str, period_type: str = "auto") -> Period | str:
    """The period a text names, or the reason it names none."""
    value = text.strip()
    if not value:
        return "the period is empty"
    kinds = PERIOD_TYPES if period_type == "auto" else (period_type,)
    for kind in kinds:
        found = _try(kind, value)
        if found is not None:
            return found
    wanted = "a period" if period_type == "auto" else f"a {period_type.replace('_', ' ')}"
    return f"{value!r} is not {wanted} (e.g. 2019-01, 2019 Q1, 2018/19, 2019)"


def _try(kind: str, value: str) -> Period | None:
    if kind == "month" and (m := _MONTH.match(value)):
        year, month = int(m.group(1)), int(m.group(2))
        if 1 <= month <= 12 and 1900 < year < 2200:
            return "month", dt.date(year, month, 1), _month_end(year, month), f"{year}-{month:02d}"
    if kind == "quarter" and (m := _QUARTER.match(value)):
        year = int(m.group(1) or m.group(4))
        q = int(m.group(2) or m.group(3))
        return "quarter", dt.date(year, 3 * q - 2, 1), _month_end(year, 3 * q), f"{year} Q{q}"
    if kind == "financial_year" and (m := _FY.match(value)):
        start = int(m.group(1))
        if _fy_end_ok(start, m.group(2)):
            return "financial_year", dt.date(start, 4, 1), dt.date(start + 1, 3, 31), f"{start}/{(start + 1) % 100:02d}"
    if kind == "financial_years" and (m := _FY_RANGE.match(value)):
        start = int(m.group(1))
        if _fy_end_ok(start, m.group(2)):
            century = start - start % 100
            last_start = century + int(m.group(3))
            if last_start < start:
                last_start += 100
            if last_start > start and _fy_end_ok(last_start, m.group(4)):
                return ("financial_years", dt.date(start, 4, 1), dt.date(last_start + 1, 3, 31),
                        f"{start}/{(start + 1) % 100:02d}-{last_start}/{(last_start + 1) % 100:02d}")
    if kind == "year" and (m := _YEAR.match(value)):
        year = int(m.group(1))
        if 1900 < year < 2200:
            return "year", dt.date(year, 1, 1), dt.date(year, 12, 31), str(year)
    return None
