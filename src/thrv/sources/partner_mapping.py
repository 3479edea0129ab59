"""Partner mapping files: which columns of a partner's table are the area, period and values.

A partner file is one of two shapes, described by a TOML file passed as ``--mapping`` with
``--partner`` (docs/partner-data.md is the reference; real examples ship in
``data/sample/partner/``)::

    [[measures]]                      # area measures: area x period x values
    dataset = "flytipping"            # a name for the table's measures
    files = ["flytipping_*.csv"]      # file-name patterns this section reads
    area = "ONS Code"                 # the area code column
    level = "auto"                    # lsoa | msoa | ward | district | county | auto (from the code)
    period = "Year"                   # the period column (or period_value = "2016/17 - 18/19")
    period_type = "auto"              # month | quarter | financial_year | financial_years | year | auto
    measure = "indicator"             # long tables: the column naming the measure (optional)
    unit = "count"                    # or unit_column = "unit"
    [measures.values]                 # value columns: heading = measure name, or a table
    "Total Incidents" = "incidents"
    "Incidents per 1,000 people" = { measure = "incidents_per_1000", unit = "rate per 1,000" }

    [[incidents]]                     # record-level incidents (one row per incident)
    dataset = "lfb"
    files = ["lfb_*.csv*"]
    id = "IncidentNumber"
    date = "DateOfCall"               # ISO dates, or date_format = "%d %b %Y"
    area = "IncGeo_WardCode"
    category = "IncidentGroup"        # optional: subcategory, property
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thrv.sources.mapping import MappingError
from thrv.sources.partner_areas import LEVELS
from thrv.sources.partner_periods import PERIOD_TYPES


@dataclass(frozen=True)
class ValueColumn:
    heading: str
    measure: str
    unit: str | None = None


@dataclass(frozen=True)
class MeasuresSection:
    dataset: str
    area: str
    values: tuple[ValueColumn, ...]
    files: tuple[str, ...] = ()
    level: str = "auto"
    period: str | None = None
    period_value: str | None = None
    period_type: str = "auto"
    measure: str | None = None
    unit: str = "value"
    unit_column: str | None = None
    source: str = ""
    #: area values that mark total rows (quarantined as "a total row, not an area")
    totals: tuple[str, ...] = ()


@dataclass(frozen=True)
class IncidentsSection:
    dataset: str
    id: str
    date: str
    area: str
    files: tuple[str, ...] = ()
    date_format: str | None = None
    level: str = "auto"
    category: str | None = None
    subcategory: str | None = None
    property: str | None = None
    source: str = ""


@dataclass(frozen=True)
class PartnerMapping:
    measures: tuple[MeasuresSection, ...] = ()
    incidents: tuple[IncidentsSection, ...] = ()
    path: str = ""

    def section_for(self, basename: str, header: list[str]) -> MeasuresSection | IncidentsSection | None:
        """The section whose file patterns match, else the first whose columns the header holds."""
        sections: list[MeasuresSection | IncidentsSection] = [*self.measures, *self.incidents]
        for s in sections:
            if any(fnmatch.fnmatch(basename.lower(), p.lower()) for p in s.files):
                return s
        present = {h.strip().lower() for h in header}
        for s in sections:
            if not s.files and all(c.strip().lower() in present for c in required_headings(s)):
                return s
        return None


def required_headings(section: MeasuresSection | IncidentsSection) -> list[str]:
    if isinstance(section, IncidentsSection):
        wanted = [section.id, section.date, section.area, section.category, section.subcategory, section.property]
    else:
        wanted = [section.area, section.period, section.measure, section.unit_column, *(v.heading for v in section.values)]
    return [w for w in wanted if w]


def _text(body: dict[str, Any], key: str, where: str, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise MappingError(f"{where}: {key} is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise MappingError(f"{where}: {key} must be text")
    return value.strip()


def _files(body: dict[str, Any], where: str) -> tuple[str, ...]:
    files = body.get("files", [])
    if isinstance(files, str):
        files = [files]
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise MappingError(f"{where}: files must be a list of file-name patterns")
    return tuple(files)


def _level(body: dict[str, Any], where: str) -> str:
    level = _text(body, "level", where) or "auto"
    if level != "auto" and level not in LEVELS:
        raise MappingError(f"{where}: level must be auto or one of {', '.join(LEVELS)}")
    return level


KNOWN_MEASURES = {"dataset", "files", "area", "level", "period", "period_value", "period_type", "measure",
                  "unit", "unit_column", "values", "source", "totals"}
KNOWN_INCIDENTS = {"dataset", "files", "id", "date", "date_format", "area", "level", "category",
                   "subcategory", "property", "source"}


def parse_partner_mapping(doc: dict[str, Any], source: str) -> PartnerMapping:
    unknown = set(doc) - {"measures", "incidents"}
    if unknown:
        raise MappingError(f"{source}: unknown section(s) {', '.join(sorted(unknown))}; use [[measures]] or [[incidents]]")
    measures: list[MeasuresSection] = []
    for i, body in enumerate(doc.get("measures", [])):
        where = f"{source}: [[measures]] #{i + 1}"
        if not isinstance(body, dict):
            raise MappingError(f"{where}: must be a table")
        extra = set(body) - KNOWN_MEASURES
        if extra:
            raise MappingError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
        values: list[ValueColumn] = []
        raw_values = body.get("values")
        if not isinstance(raw_values, dict) or not raw_values:
            raise MappingError(f"{where}: values must name at least one value column")
        for heading, spec in raw_values.items():
            if isinstance(spec, str):
                values.append(ValueColumn(heading, spec))
            elif isinstance(spec, dict) and isinstance(spec.get("measure", ""), str):
                values.append(ValueColumn(heading, str(spec.get("measure", "")), spec.get("unit")))
            else:
                raise MappingError(f"{where}: values.{heading} must be a measure name or {{ measure, unit }}")
        period_type = _text(body, "period_type", where) or "auto"
        if period_type != "auto" and period_type not in PERIOD_TYPES:
            raise MappingError(f"{where}: period_type must be auto or one of {', '.join(PERIOD_TYPES)}")
        period, period_value = _text(body, "period", where), _text(body, "period_value", where)
        if (period is None) == (period_value is None):
            raise MappingError(f"{where}: give exactly one of period (a column) and period_value (one period)")
        totals = body.get("totals", [])
        measures.append(MeasuresSection(
            dataset=_text(body, "dataset", where, True) or "", area=_text(body, "area", where, True) or "",
            values=tuple(values), files=_files(body, where), level=_level(body, where), period=period,
            period_value=period_value, period_type=period_type, measure=_text(body, "measure", where),
            unit=_text(body, "unit", where) or "value", unit_column=_text(body, "unit_column", where),
            source=_text(body, "source", where) or "", totals=tuple(str(t) for t in totals),
        ))
    incidents: list[IncidentsSection] = []
    for i, body in enumerate(doc.get("incidents", [])):
        where = f"{source}: [[incidents]] #{i + 1}"
        if not isinstance(body, dict):
            raise MappingError(f"{where}: must be a table")
        extra = set(body) - KNOWN_INCIDENTS
        if extra:
            raise MappingError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
        incidents.append(IncidentsSection(
            dataset=_text(body, "dataset", where, True) or "", id=_text(body, "id", where, True) or "",
            date=_text(body, "date", where, True) or "", area=_text(body, "area", where, True) or "",
            files=_files(body, where), date_format=_text(body, "date_format", where), level=_level(body, where),
            category=_text(body, "category", where), subcategory=_text(body, "subcategory", where),
            property=_text(body, "property", where), source=_text(body, "source", where) or "",
        ))
    if not measures and not incidents:
        raise MappingError(f"{source}: no [[measures]] or [[incidents]] section")
    return PartnerMapping(tuple(measures), tuple(incidents), source)


def load_partner_mapping(path: str | Path) -> PartnerMapping:
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MappingError(f"{path}: cannot read the partner mapping ({exc})") from exc
    return parse_partner_mapping(doc, str(path))
