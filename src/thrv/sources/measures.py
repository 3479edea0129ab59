"""Generic measures: one figure per measure, area and period, from any system that can export a CSV.

Workforce, volunteer, call-handling and survey figures live in systems thrv cannot read
row by row (HR, duty rostering, the telephony platform, a survey contractor), yet a Police
and Crime Plan reports them beside crime. Each such system can export the long format
below, which ``thrv ingest`` recognises by its header::

    measure,area,period,value[,numerator,denominator,n,comparator,comparator_value,unit,direction,note,generated]

``area_code`` may stand in for (or sit beside) ``area``. ``period`` is a month
(``2025-03``, ``Mar 2025``), a quarter (``2025-Q1``, ``Q1 2025``, or a financial quarter
``2024/25 Q4``), a financial year (``2024/25``, ``FY2024-25``), a calendar year (``2025``)
or a date (``2025-03-31``, ``31/03/2025``: a snapshot such as a headcount). docs/plan.md
documents every column and check.

The rows go through the same machinery as every other file (typed, checked, bad rows
quarantined with a reason, one transaction per file) and replace earlier rows by their
identity ``(measure, area, period)``, so a corrected figure simply supersedes the old one.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from thrv import reference
from thrv.reference import read_rows, reference_path
from thrv.sources.csvtext import CsvRecords, FileRefused
from thrv.sources.kinds import Column, Kind, normalise_heading

Check = Callable[[dict[str, pa.Array], Any], None]

MEASURES = Kind(
    name="measures",
    table="measures",
    title="generic measures (measure, area, period, value)",
    replace_by="id",
    id_column="measure_key",
    columns=(
        Column("measure", "measure", required=True, doc="The measure's name, e.g. `special_constables_hours` (a plan refers to it by this name)"),
        Column("area", "area", doc="Area name: a force, district or any area the figure is for (this or `area_code`)", optional=True),
        Column("area_code", "area_code", doc="Area code, e.g. E23000023 (Police Force Area) or E07000008 (district)", optional=True),
        Column("period", "period", required=True, doc="Month, quarter, financial year, calendar year or date (see docs/plan.md)"),
        Column("value", "value", "float", doc="The figure; may be empty when numerator and denominator are given (then 100 × numerator / denominator)"),
        Column("numerator", "numerator", "float", doc="For a proportion: the count of successes (e.g. 999 calls answered in 10 s)", optional=True),
        Column("denominator", "denominator", "float", doc="For a proportion: the base (e.g. 999 calls offered)", optional=True),
        Column("n", "n", "int", doc="Sample size behind a percentage `value` (e.g. survey respondents)", optional=True),
        Column("comparator", "comparator", doc="What the figure is compared with, e.g. 'England and Wales' or 'BME residents (Census 2021)'", optional=True),
        Column("comparator_value", "comparator_value", "float", doc="The comparator's figure, in the same unit", optional=True),
        Column("unit", "unit", doc="`%`, `count` (events: count tests apply) or any other unit (hours, officers, people: shown, not tested)", optional=True),
        Column("direction", "direction", doc="higher_is_better, lower_is_better or none", optional=True),
        Column("note", "note", doc="Free text about the figure (its source, a caveat)", optional=True),
        Column("generated", "generated", "bool", doc="true on generated (simulated) rows; empty (false) in real feeds", optional=True),
    ),
    added=(
        Column("force", "", doc="The force whose area this is (from the area name or code); empty for other areas"),
        Column("area_key", "", doc="The area's identity: the ONS code of a known force or district (by name or code), else `area_code`, else `area`"),
        Column("period_type", "", doc="month, quarter, financial_year, year or date"),
        Column("period_label", "", doc="The period written canonically (2025-03, 2025-Q1, 2024/25 Q4, 2024/25, 2025, 2025-03-31)"),
        Column("period_start", "", "date", doc="First day of the period"),
        Column("period_end", "", "date", doc="Last day of the period"),
        Column("month", "", "month", doc="The month the period ends in"),
        Column("figure_type", "", doc="proportion (numerator and denominator, or a % with n), count (unit `count`) or value"),
        Column("measure_key", "", doc="measure | area_key | period start | period end: a newer row with the same key replaces the older"),
    ),
)

MEASURE_KINDS: tuple[Kind, ...] = (MEASURES,)

DIRECTIONS = {
    "higher_is_better": "higher_is_better", "higher": "higher_is_better", "up": "higher_is_better",
    "lower_is_better": "lower_is_better", "lower": "lower_is_better", "down": "lower_is_better",
    "none": "none", "neither": "none",
}
PERCENT_UNITS = {"%", "percent", "percentage", "pct"}
#: a value given beside its numerator and denominator must agree with them to this much
#: (percentage points; or the same on the 0-1 scale)
CONSISTENCY_PP = 0.05


@dataclass(frozen=True)
class Period:
    """One period as a measure feed may write it."""

    type: str  # month | quarter | financial_year | year | date
    start: dt.date
    end: dt.date
    label: str


_MONTH_NAMES = {
    m: i + 1
    for i, names in enumerate(
        [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
         ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
         ("oct", "october"), ("nov", "november"), ("dec", "december")]
    )
    for m in names
}


def _month_end(year: int, month: int) -> dt.date:
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def _year_ok(year: int) -> bool:
    return 1980 <= year <= 2999


def _financial_year(first: int, second: str) -> int | None:
    """The first year of a financial year written first/second (24/25, 2024/2025)."""
    follows = int(second) if len(second) == 4 else (first // 100) * 100 + int(second)
    if len(second) == 2 and first % 100 == 99 and second == "00":
        follows = first + 1
    return first if follows == first + 1 and _year_ok(first) else None


def parse_period(text: str) -> Period | None:
    """A period from its text, or None when it is not one of the accepted forms.

    Financial years run April to March (as police and PCC finance does). ``YYYY-YY`` is a
    financial year only when it cannot be a month (``2024-25``; ``2011-12`` is December
    2011): write ``2011/12`` to be unambiguous.
    """
    t = " ".join(text.strip().split())
    if not t:
        return None
    low = t.lower()
    m = re.fullmatch(r"(\d{4})-(\d{2})", t)
    if m and 1 <= int(m[2]) <= 12:
        y, mo = int(m[1]), int(m[2])
        return Period("month", dt.date(y, mo, 1), _month_end(y, mo), f"{y:04d}-{mo:02d}") if _year_ok(y) else None
    m = re.fullmatch(r"([a-z]+)[ -](\d{4})", low)
    if m and m[1] in _MONTH_NAMES:
        y, mo = int(m[2]), _MONTH_NAMES[m[1]]
        return Period("month", dt.date(y, mo, 1), _month_end(y, mo), f"{y:04d}-{mo:02d}") if _year_ok(y) else None
    m = re.fullmatch(r"(\d{4}) ?-? ?q([1-4])|q([1-4]) ?-? ?(\d{4})", low)
    if m:
        y, q = (int(m[1]), int(m[2])) if m[1] else (int(m[4]), int(m[3]))
        if not _year_ok(y):
            return None
        start = dt.date(y, 3 * q - 2, 1)
        return Period("quarter", start, _month_end(y, 3 * q), f"{y:04d}-Q{q}")
    m = re.fullmatch(r"(?:fy ?)?(\d{4})[/-](\d{2}|\d{4}) ?-? ?q([1-4])|q([1-4]) ?-? ?(?:fy ?)?(\d{4})[/-](\d{2}|\d{4})", low)
    if m:
        first, second, q = (m[1], m[2], int(m[3])) if m[1] else (m[5], m[6], int(m[4]))
        fy = _financial_year(int(first), second)
        if fy is None:
            return None
        y = fy
        start_month = 4 + 3 * (q - 1)
        sy, sm = (y, start_month) if start_month <= 12 else (y + 1, start_month - 12)
        start = dt.date(sy, sm, 1)
        end_month = sm + 2
        return Period("quarter", start, _month_end(sy, end_month), f"{y}/{(y + 1) % 100:02d} Q{q}")
    m = re.fullmatch(r"(?:fy ?)?(\d{4})[/-](\d{2}|\d{4})", low)
    if m:
        fy = _financial_year(int(m[1]), m[2])
        if fy is None:
            return None
        return Period("financial_year", dt.date(fy, 4, 1), dt.date(fy + 1, 3, 31), f"{fy}/{(fy + 1) % 100:02d}")
    m = re.fullmatch(r"(\d{4})", t)
    if m:
        y = int(m[1])
        return Period("year", dt.date(y, 1, 1), dt.date(y, 12, 31), f"{y:04d}") if _year_ok(y) else None
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})|(\d{1,2})/(\d{1,2})/(\d{4})", t)
    if m:
        y, mo, d = (int(m[1]), int(m[2]), int(m[3])) if m[1] else (int(m[6]), int(m[5]), int(m[4]))
        try:
            day = dt.date(y, mo, d)
        except ValueError:
            return None
        return Period("date", day, day, day.isoformat()) if _year_ok(y) else None
    return None


PERIOD_FORMS = "YYYY-MM, Mon YYYY, YYYY-Qn, YYYY/YY Qn, YYYY/YY, YYYY or YYYY-MM-DD"


# -- areas ------------------------------------------------------------------------------------


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower().replace("&", "and"))


@cache
def _area_forces() -> dict[str, str]:
    """Squashed area name or code -> the force it belongs to (forces, PFAs and districts)."""
    out: dict[str, str] = {}
    by_pfa = {f.pfa_code.upper(): f.name for f in reference.forces() if f.pfa_code}
    for f in reference.forces():
        for key in (f.name, f.slug, f.pfa_name, f.pfa_code):
            if key:
                out.setdefault(_squash(key), f.name)
    districts: dict[str, set[str]] = {}
    for row in read_rows(reference_path("lsoa.csv.gz")):
        force = by_pfa.get(row["pfa_code"].upper())
        if force:
            for key in (row["lad_code"], row["lad_name"]):
                districts.setdefault(_squash(key), set()).add(force)
    for key, found in districts.items():
        if len(found) == 1:  # a district split between forces is no one force's
            out.setdefault(key, next(iter(found)))
    return out


def force_of_area(area: str) -> str:
    """The force whose area (force, Police Force Area or district) this is; '' otherwise."""
    return _area_forces().get(_squash(area), "")


@cache
def _area_codes() -> dict[str, str]:
    """Squashed force, PFA or district name or code -> its ONS code (E23..., E06/E07/E08/E09/W06...)."""
    out: dict[str, str] = {}
    for f in reference.forces():
        if f.pfa_code:
            for key in (f.name, f.slug, f.pfa_name, f.pfa_code):
                if key:
                    out.setdefault(_squash(key), f.pfa_code.upper())
    for row in read_rows(reference_path("lsoa.csv.gz")):
        for key in (row["lad_code"], row["lad_name"]):
            out.setdefault(_squash(key), row["lad_code"].upper())
    return out


def area_identity(area: str) -> str:
    """The code a known area (force or district, by name or code) is stored under; else ''.

    So "Cambridgeshire Constabulary", "cambridgeshire" and "E23000023" are one area, and a
    feed that switches from names to codes still replaces its earlier figures.
    """
    return _area_codes().get(_squash(area), "")


# -- the checks ---------------------------------------------------------------------------------


def _map_distinct(values: pa.Array, func: Callable[[str], Any], type_: pa.DataType = pa.string()) -> pa.Array:
    distinct = pc.unique(values).drop_null()
    mapped = pa.array([func(v) for v in distinct.to_pylist()], type_)
    return pc.take(mapped, pc.index_in(values, value_set=distinct))


def _text(prefix: str, values: pa.Array, suffix: str) -> pa.Array:
    shown = pc.fill_null(pc.cast(values, pa.string()), "")
    return pc.binary_join_element_wise(pa.scalar(f"{prefix} '"), shown, pa.scalar(f"'{suffix}"), "")


def _number_text(values: pa.Array) -> pa.Array:
    """Numbers for messages: 95.8 not 95.80000000000001."""
    rounded = pc.round(pc.cast(values, pa.float64()), 4)
    return pc.replace_substring_regex(pc.cast(rounded, pa.string()), r"\.0$", "")


def check_header(name: str, header: list[str]) -> None:
    """A measures file names its area by `area`, `area_code` or both."""
    present = {normalise_heading(h) for h in header}
    if not {"area", "area code"} & present:
        raise FileRefused(f"{name}: a measures file needs an 'area' or 'area_code' column")


def rules_for(name: str, records: CsvRecords, notes: list[str]) -> list[Check]:
    """The checks and derived columns of one measures file, run inside validation."""
    check_header(name, records.header)
    return [_rule(notes, records)]


def _rule(notes: list[str], records: CsvRecords) -> Check:
    def check(cols: dict[str, pa.Array], reasons: Any) -> None:
        n_rows = len(cols["measure"])
        add = reasons.add

        area, code = cols["area"], cols["area_code"]
        code = _map_distinct(code, lambda v: v.upper())
        cols["area_code"] = code
        add(pc.and_(pc.is_null(area), pc.is_null(code)), "missing area (give 'area' or 'area_code')")
        known = pc.coalesce(*(
            pc.if_else(pc.equal(found, ""), pa.scalar(None, pa.string()), found)
            for found in (_map_distinct(code, area_identity), _map_distinct(area, area_identity))
        ))
        cols["area_key"] = pc.fill_null(pc.coalesce(known, code, area), "")
        force_from_code = _map_distinct(code, force_of_area)
        force_from_name = _map_distinct(area, force_of_area)
        force = pc.coalesce(
            pc.if_else(pc.equal(force_from_code, ""), pa.scalar(None, pa.string()), force_from_code),
            pc.if_else(pc.equal(force_from_name, ""), pa.scalar(None, pa.string()), force_from_name),
        )
        cols["force"] = pc.fill_null(force, "")

        period_text = cols["period"]
        parsed = {p: parse_period(p) for p in pc.unique(period_text).drop_null().to_pylist()}
        bad_period = _map_distinct(period_text, lambda v: parsed[v] is None, pa.bool_())
        add(pc.and_(pc.is_valid(period_text), pc.fill_null(bad_period, False)),
            lambda: _text("bad period", period_text, f" (expected {PERIOD_FORMS})"))

        def part(attr: str, type_: pa.DataType) -> pa.Array:
            return _map_distinct(period_text, lambda v: None if parsed[v] is None else getattr(parsed[v], attr), type_)

        cols["period_type"] = part("type", pa.string())
        cols["period_label"] = part("label", pa.string())
        cols["period_start"] = part("start", pa.date32())
        cols["period_end"] = part("end", pa.date32())
        cols["month"] = pc.floor_temporal(cols["period_end"], unit="month")

        unit = _map_distinct(cols["unit"], lambda v: "%" if v.strip().lower() in PERCENT_UNITS else v.strip().lower() if v.strip().lower() == "count" else v.strip())
        cols["unit"] = unit
        direction_raw = cols["direction"]
        direction = _map_distinct(direction_raw, lambda v: DIRECTIONS.get(v.strip().lower().replace(" ", "_").replace("-", "_"), ""))
        add(pc.and_(pc.is_valid(direction_raw), pc.equal(direction, "")),
            lambda: _text("direction", direction_raw, " is not higher_is_better, lower_is_better or none"))
        cols["direction"] = direction

        value, num, den, n = cols["value"], cols["numerator"], cols["denominator"], cols["n"]
        has_num, has_den = pc.is_valid(num), pc.is_valid(den)
        add(pc.xor(has_num, has_den), "numerator and denominator go together: give both or neither")
        both = pc.and_(has_num, has_den)
        add(pc.and_(both, pc.less_equal(den, 0)), lambda: _text("denominator", _number_text(den), " must be more than 0"))
        add(pc.and_(both, pc.less(num, 0)), lambda: _text("numerator", _number_text(num), " must not be negative"))
        add(pc.and_(both, pc.greater(num, den)), "numerator is more than the denominator")
        add(pc.and_(pc.is_valid(n), pc.less(n, 1)), lambda: _text("n", n, " must be at least 1"))
        add(pc.and_(pc.is_null(value), pc.invert(both)), "missing value (give a value, or a numerator and denominator)")
        with_n_pct = pc.and_(pc.and_(pc.is_valid(n), pc.is_valid(value)), pc.and_(pc.invert(both), pc.equal(pc.fill_null(unit, ""), "%")))

        percent = pc.multiply(pc.divide(num, pc.if_else(pc.greater(den, 0), den, pa.scalar(None, pa.float64()))), 100.0)
        off_pct = pc.greater(pc.abs(pc.subtract(value, percent)), CONSISTENCY_PP)
        off_frac = pc.greater(pc.abs(pc.subtract(pc.multiply(value, 100.0), percent)), CONSISTENCY_PP)
        add(pc.and_(pc.and_(both, pc.is_valid(value)), pc.and_(off_pct, off_frac)),
            lambda: pc.binary_join_element_wise(
                _text("value", _number_text(value), " does not match 100 × numerator / denominator = "),
                _number_text(pc.round(percent, 2)), ""))
        is_pct = pc.equal(pc.fill_null(unit, ""), "%")
        add(pc.and_(pc.and_(is_pct, pc.invert(both)), pc.or_(pc.less(value, 0), pc.greater(value, 100))),
            lambda: _text("value", _number_text(value), " is a percentage and must lie between 0 and 100"))
        is_count = pc.equal(pc.fill_null(unit, ""), "count")
        not_whole = pc.or_(pc.less(value, 0), pc.not_equal(pc.floor(value), value))
        add(pc.and_(pc.and_(is_count, pc.invert(both)), not_whole),
            lambda: _text("value", _number_text(value), " is a count and must be a whole number of at least 0"))

        # proportions: the value is always the percentage; a % with n gets its numerator
        derived_num = pc.round(pc.divide(pc.multiply(value, pc.cast(n, pa.float64())), 100.0))
        cols["numerator"] = pc.if_else(with_n_pct, derived_num, num)
        cols["denominator"] = pc.if_else(with_n_pct, pc.cast(n, pa.float64()), den)
        cols["value"] = pc.if_else(both, percent, value)
        cols["unit"] = pc.if_else(pc.or_(both, with_n_pct), "%", unit)
        cols["figure_type"] = pc.if_else(
            pc.or_(both, with_n_pct), "proportion", pc.if_else(is_count, "count", "value")
        )
        n_derived = int(pc.sum(pc.cast(pc.fill_null(with_n_pct, False), pa.int64())).as_py() or 0)
        if n_derived:
            notes.append(f"{n_derived} percentage(s) with n: numerator taken as value × n / 100, rounded")
        cols["generated"] = pc.fill_null(cols["generated"], False)

        start_text = pc.cast(cols["period_start"], pa.string())
        end_text = pc.cast(cols["period_end"], pa.string())
        cols["measure_key"] = pc.binary_join_element_wise(
            pc.fill_null(cols["measure"], ""), cols["area_key"], pc.fill_null(start_text, ""), pc.fill_null(end_text, ""), "|"
        )
        _repeats(cols, reasons, records, n_rows)

    return check


def _repeats(cols: dict[str, pa.Array], reasons: Any, records: CsvRecords, n_rows: int) -> None:
    """A (measure, area, period) twice in one file: the later row is quarantined."""
    keys = cols["measure_key"]
    usable = pc.is_null(reasons.values)
    kept = keys.filter(usable)
    if len(pc.unique(kept)) == len(kept):
        return
    first_line: dict[str, int] = {}
    same_text: dict[str, str] = {}
    failed = [False] * n_rows
    messages: list[str | None] = [None] * n_rows
    key_list, ok_list = keys.to_pylist(), usable.to_pylist()
    for i, (k, ok) in enumerate(zip(key_list, ok_list, strict=True)):
        if not ok:
            continue
        raw = records.raw_of(i)
        if k in first_line:
            failed[i] = True
            line = first_line[k]
            if raw.strip() == same_text[k].strip():
                messages[i] = f"duplicate row: identical to line {line}"
            else:
                messages[i] = f"the same measure, area and period is also on line {line} with other values (one figure per period)"
        else:
            first_line[k], same_text[k] = int(records.lines[i]), raw
    reasons.add(pa.array(failed), pa.array(messages, pa.string()))
