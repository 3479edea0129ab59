"""Partner area measures and incident records, read through a partner mapping.

Every line of the file is accounted for: stored (as one row per value column for an area
measure, one row for an incident) or quarantined with its line and the reason — an area
code the shipped lookups cannot place, a period that is not one, a value that is not a
number, a total row, a repeated incident id. Published "not available" markers (``:``,
``..``, ``x``, ``*``, ``-``, empty) are stored as missing values, not quarantined: the
partner did publish the row, with no figure.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass, field

import pandas as pd

from thrv.sources.csvtext import FileRefused, row_records
from thrv.sources.partner_areas import Place, resolve
from thrv.sources.partner_mapping import IncidentsSection, MeasuresSection, required_headings
from thrv.sources.partner_people import BadPerson as BadLine
from thrv.sources.partner_periods import parse_period

NOT_AVAILABLE = {"", ":", "..", "x", "*", "-", "n/a", "na", "null", "[x]", "[c]", "[z]", "c", "z"}
_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")

MEASURE_COLUMNS = ("partner", "dataset", "measure", "unit", "area_code", "area_name", "area_level", "area_vintage",
                   "lsoa21_code", "district_code", "county_code", "period_type", "period_start", "period_end",
                   "period_label", "value", "source_line")
INCIDENT_COLUMNS = ("partner", "dataset", "incident_id", "occurred_on", "month", "category", "subcategory",
                    "property", "area_code", "area_level", "lsoa21_code", "district_code", "county_code",
                    "source_line")


@dataclass
class PartnerRead:
    """One partner table, read: rows for the store and lines quarantined."""

    name: str
    sha256: str
    size: int
    kind: str  # measures | incidents
    dataset: str
    table: pd.DataFrame
    bad: list[BadLine] = field(default_factory=list)
    lines_stored: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return self.lines_stored + len(self.bad)


def _text(data: bytes, notes: list[str]) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        notes.append("not UTF-8: read as Latin-1")
        return data.decode("latin-1")


def _records(name: str, text: str, section: MeasuresSection | IncidentsSection
             ) -> tuple[list[str], list[tuple[int, str, list[str]]], list[BadLine]]:
    """Header (lower case), records (line, raw, fields) and lines already bad (wrong fields)."""
    if not text.strip():
        raise FileRefused(f"{name}: empty file, no header")
    header, rows, bad = row_records(name, text.encode("utf-8"))
    lower = [h.strip().lower() for h in header]
    missing = [h for h in required_headings(section) if h.strip().lower() not in lower]
    if missing:
        raise FileRefused(f"{name}: the mapping's section {section.dataset!r} needs column(s) "
                          + ", ".join(repr(m) for m in missing) + " that the file lacks")
    return lower, rows, [BadLine(b.line, b.raw, b.reason) for b in bad]


def _future(start: dt.date, today: dt.date | None) -> str | None:
    """Why a period or date is refused as not yet come (after the current month), if it is."""
    now = today or dt.date.today()
    if (start.year, start.month) > (now.year, now.month):
        return f"{start.isoformat()} is after the current month ({now:%Y-%m}): a date in the future"
    return None


def number(text: str) -> float | str | None:
    """A published figure as a float, None when marked not available, or the reason it is neither."""
    value = text.strip().replace(",", "").replace("£", "")
    if value.endswith("%"):
        value = value[:-1]
    if value.lower() in NOT_AVAILABLE:
        return None
    if _NUMBER.match(value):
        return float(value)
    return f"{text.strip()!r} is not a number"


def read_measures(name: str, data: bytes, partner: str, section: MeasuresSection,
                  today: dt.date | None = None) -> PartnerRead:
    notes: list[str] = []
    text = _text(data, notes)
    header, records, bad = _records(name, text, section)
    col = {h: i for i, h in enumerate(header)}

    def at(fields: list[str], heading: str | None) -> str:
        return fields[col[heading.strip().lower()]] if heading else ""

    totals = {t.strip().lower() for t in section.totals}
    out: dict[str, list[object]] = {c: [] for c in MEASURE_COLUMNS}
    stored = missing_values = 0
    for line, raw, fields in records:
        if len(fields) != len(header):
            bad.append(BadLine(line, raw, f"expected {len(header)} fields, found {len(fields)}"))
            continue
        code = at(fields, section.area)
        if code.strip().lower() in totals:
            bad.append(BadLine(line, raw, f"a total row ({code.strip()}), not an area"))
            continue
        place = resolve(code, section.level)
        if isinstance(place, str):
            bad.append(BadLine(line, raw, place))
            continue
        period = parse_period(section.period_value or at(fields, section.period), section.period_type)
        if isinstance(period, str):
            bad.append(BadLine(line, raw, period))
            continue
        future = _future(period[1], today)
        if future:
            bad.append(BadLine(line, raw, future))
            continue
        parsed: list[tuple[str, str, float | None]] = []
        reason = ""
        for v in section.values:
            value = number(at(fields, v.heading))
            if isinstance(value, str):
                reason = f"{v.heading}: {value}"
                break
            measure = v.measure
            if section.measure:
                label = at(fields, section.measure).strip()
                measure = f"{measure}: {label}" if measure else label
            unit = v.unit or (at(fields, section.unit_column).strip() if section.unit_column else section.unit)
            parsed.append((measure or v.heading, unit, value))
        if reason:
            bad.append(BadLine(line, raw, reason))
            continue
        stored += 1
        for measure, unit, value in parsed:
            missing_values += value is None
            _append(out, partner, section.dataset, measure, unit, code.strip().upper(), place, period, value, line)
    if missing_values:
        notes.append(f"{missing_values} value(s) published as not available, stored as missing")
    table = pd.DataFrame(out)
    bad.sort(key=lambda b: b.line)
    return PartnerRead(name, hashlib.sha256(data).hexdigest(), len(data), "measures", section.dataset,
                       table, bad, stored, notes)


def _append(out: dict[str, list[object]], partner: str, dataset: str, measure: str, unit: str, code: str,
            place: Place, period: tuple[str, dt.date, dt.date, str], value: float | None, line: int) -> None:
    row = (partner, dataset, measure, unit, code, place.name, place.level, place.vintage, place.lsoa21_code,
           place.district_code, place.county_code, period[0], period[1], period[2], period[3], value, line)
    for c, v in zip(MEASURE_COLUMNS, row, strict=True):
        out[c].append(v)


def _date(text: str, fmt: str | None) -> dt.date | str:
    value = text.strip()
    try:
        if fmt:
            return dt.datetime.strptime(value, fmt).date()
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return f"{value!r} is not a date" + (f" in the form {fmt}" if fmt else " (YYYY-MM-DD)")


def read_incidents(name: str, data: bytes, partner: str, section: IncidentsSection,
                   today: dt.date | None = None) -> PartnerRead:
    notes: list[str] = []
    text = _text(data, notes)
    header, records, bad = _records(name, text, section)
    col = {h: i for i, h in enumerate(header)}

    def at(fields: list[str], heading: str | None) -> str | None:
        return fields[col[heading.strip().lower()]].strip() or None if heading else None

    out: dict[str, list[object]] = {c: [] for c in INCIDENT_COLUMNS}
    seen: dict[str, int] = {}
    for line, raw, fields in records:
        if len(fields) != len(header):
            bad.append(BadLine(line, raw, f"expected {len(header)} fields, found {len(fields)}"))
            continue
        ident = at(fields, section.id)
        if not ident:
            bad.append(BadLine(line, raw, f"{section.id} is empty"))
            continue
        if ident in seen:
            bad.append(BadLine(line, raw, f"{section.id} {ident!r} repeats line {seen[ident]}"))
            continue
        when = _date(at(fields, section.date) or "", section.date_format)
        if isinstance(when, str):
            bad.append(BadLine(line, raw, f"{section.date}: {when}"))
            continue
        future = _future(when, today)
        if future:
            bad.append(BadLine(line, raw, f"{section.date}: {future}"))
            continue
        place = resolve(at(fields, section.area) or "", section.level)
        if isinstance(place, str):
            bad.append(BadLine(line, raw, place))
            continue
        seen[ident] = line
        row = (partner, section.dataset, ident, when, when.replace(day=1), at(fields, section.category),
               at(fields, section.subcategory), at(fields, section.property), (at(fields, section.area) or "").upper(),
               place.level, place.lsoa21_code, place.district_code, place.county_code, line)
        for c, v in zip(INCIDENT_COLUMNS, row, strict=True):
            out[c].append(v)
    table = pd.DataFrame(out)
    bad.sort(key=lambda b: b.line)
    return PartnerRead(name, hashlib.sha256(data).hexdigest(), len(data), "incidents", section.dataset,
                       table, bad, len(table), notes)


def content_header(data: bytes) -> list[str]:
    """The header row of a partner file (for choosing its mapping section)."""
    notes: list[str] = []
    text = _text(data[:65536], notes) if data else ""
    try:
        return [h.strip() for h in next(csv.reader(io.StringIO(text)))]
    except (StopIteration, csv.Error):
        return []
