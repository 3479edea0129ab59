"""Understand one input file: its kind, its columns, and how its rows are to be read.

This is the single entry point the ingest loop calls for every file, whatever its kind: it
decides the kind (from the data.police.uk file name, else from the header), checks what the
file name says (a month that exists and is not in the future), finds each canonical column
in the header, and decides how the rows will be parsed:

- **by the engine** (the store's DuckDB CSV reader, then checks as SQL) when the file is
  well formed: every line one record (:func:`thrv.sources.csvtext.scan_lines`), no rules of
  the kind's own, no value mapping. This is the fast path and the usual one;
- **by the careful reader** (:func:`thrv.sources.csvtext.read_records`) otherwise: values
  spanning lines, stray quotes, bare carriage returns, lines that are not UTF-8, force
  extracts (their rules run on Arrow arrays) and files with a value mapping. The plan says
  why, and the ingest report shows it.

Either way the store checks and writes the rows in one transaction (:mod:`thrv.store.writer`)
and every row is stored or quarantined with its line, raw text and reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from thrv import reference
from thrv.sources.csvtext import (
    CsvRecords,
    FileRefused,
    LineScan,
    parse_header,
    read_records,
    scan_lines,
)
from thrv.sources.files import SourceFile
from thrv.sources.kinds import (
    STOP_SEARCH,
    Kind,
    kind_from_filename,
    kind_from_header,
    normalise_heading,
)
from thrv.sources.mapping import KindMapping, describe_missing, parse_mapping, rename_header
from thrv.sources.registry import Check, all_kinds, rules_for
from thrv.sources.validate import FIRST_YEAR


@dataclass
class FilePlan:
    """One file understood and ready for the store to parse, check and write in one transaction.

    Exactly one of ``scan`` (the engine parses ``csv_path``) and ``records`` (text already
    parsed by the careful reader) is set.
    """

    name: str
    sha256: str
    size: int
    kind: Kind
    #: canonical column name -> its field's position in the file (columns not in the file absent)
    positions: dict[str, int]
    #: values for columns the file does not carry (e.g. the force of a stop and search file)
    constants: dict[str, object]
    #: YYYY-MM the file name gives (a stop and search file's rows count in this month)
    file_month: str | None
    today: dt.date
    data: bytes
    notes: list[str] = field(default_factory=list)
    scan: LineScan | None = None
    records: CsvRecords | None = None
    #: checks of the kind's own, run on the typed columns
    checks: list[Check] = field(default_factory=list)
    #: rows may be for months after the current one (the kind's rules say so)
    future_months: bool = False
    #: why the careful reader reads this file ("" when the engine does)
    careful: str = ""
    #: where the engine reads the CSV from (the ingest loop writes ``scan.data`` there)
    csv_path: str | None = None

    @property
    def width(self) -> int:
        return len(self.scan.header if self.scan is not None else self.records.header if self.records else [])

    def read_carefully(self, why: str) -> FilePlan:
        """The same file for the careful reader, e.g. when the engine's parse disagrees."""
        records = read_records(self.name, self.data)
        return replace(self, scan=None, records=records, csv_path=None, careful=records.careful or why)

    def fallback(self, why: str) -> FilePlan:
        """How to read a file the engine's parse disagreed on: with the careful reader."""
        return self.read_carefully(why)


#: why a file goes to the careful reader by design (not because of its content)
BY_RULES = "the kind has rules of its own"
BY_MAPPING = "a value mapping applies"


def content_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def current_month(today: dt.date) -> dt.date:
    return today.replace(day=1)


def _check_file_month(name: str, meta: dict[str, str], today: dt.date) -> str | None:
    """The month a data.police.uk file name gives, refused if it is not a month or is to come."""
    text = meta.get("month")
    if not text:
        return None
    year, month = int(text[:4]), int(text[5:7])
    if not (1 <= month <= 12) or year < FIRST_YEAR:
        raise FileRefused(
            f"{name}: the file name gives month {text}, which is not a month "
            f"(expected YYYY-MM from {FIRST_YEAR}); rename the file with its real month"
        )
    if dt.date(year, month, 1) > current_month(today):
        raise FileRefused(
            f"{name}: the file name gives month {text}, which is after the current month "
            f"({today:%Y-%m}); rename the file with its real month"
        )
    return text


def _stop_search_constants(name: str, meta: dict[str, str], force_name: str | None) -> dict[str, object]:
    if force_name is None:
        slug = meta.get("force")
        force = reference.force_by_slug(slug) if slug else None
        if force is None:
            raise FileRefused(
                f"{name}: cannot tell which force this stop and search file is for "
                f"(file name force {slug!r} is not a data.police.uk force); "
                "name it YYYY-MM-<force>-stop-and-search.csv or pass --force"
            )
        force_name = force.name
    return {"force": force_name}


def _as_mapping(mapping: Mapping[str, Any] | None, kinds: tuple[Kind, ...]) -> dict[str, KindMapping]:
    """A loaded mapping as it is, or a plain dict (parsed TOML) checked now."""
    if not mapping:
        return {}
    if all(isinstance(v, KindMapping) for v in mapping.values()):
        return dict(mapping)
    return parse_mapping(dict(mapping), "mapping", kinds)


def _headings_present(kind: Kind, header: list[str]) -> int:
    present = {normalise_heading(h) for h in header}
    return sum(normalise_heading(c.source) in present for c in kind.columns)


def _detect_kind(
    source: SourceFile, header: list[str], kinds: tuple[Kind, ...], mapping: dict[str, KindMapping]
) -> tuple[Kind, dict[str, str], list[str]]:
    """The kind of a file, what its name says (month, force) and its header in thrv's names.

    In order: a data.police.uk-style or extract file name; a mapping's file-name pattern; a
    header that, renamed by a mapping section, holds that kind's columns; the header as it is.
    """
    by_name = kind_from_filename(source.basename, kinds)
    if by_name is None:
        named = [k for k in kinds if k.name in mapping and mapping[k.name].matches_file(source.basename)]
        by_name = (named[0], {}) if named else None
    if by_name is not None:
        kind, meta = by_name
        renamed = rename_header(header, kind, mapping.get(kind.name))
        missing = kind.missing_columns(renamed)
        if missing:
            raise FileRefused(
                f"{source.name}: named as {kind.title} but lacks column(s): "
                + ", ".join(describe_missing(missing, kind, mapping.get(kind.name)))
            )
        return kind, meta, renamed
    for kind in kinds:
        if kind.name in mapping and mapping[kind.name].columns:
            renamed = rename_header(header, kind, mapping[kind.name])
            if not kind.missing_columns(renamed):
                return kind, {}, renamed
    found, _closest, _missing = kind_from_header(header, kinds)
    if found is not None:
        return found, {}, header
    # the closest kind is the one sharing most headings (ties: the smallest share missing)
    closest = max(
        kinds, key=lambda k: (_headings_present(k, header), -len(k.missing_columns(header)) / len(k.columns))
    )
    in_mapping = mapping.get(closest.name)
    renamed = rename_header(header, closest, in_mapping)
    missing = closest.missing_columns(renamed)
    hint = ""
    if rules_for(closest) is not None:
        hint = "; a force extract with its own headings needs a column mapping (--mapping, see docs/schema.md)"
    raise FileRefused(
        f"{source.name}: columns are not a known kind of file; closest is {closest.title}, "
        "which lacks: " + ", ".join(describe_missing(missing, closest, in_mapping)) + hint
    )


def _positions(kind: Kind, header: list[str]) -> dict[str, int]:
    index = {normalise_heading(h): i for i, h in enumerate(header)}
    return {c.name: index[normalise_heading(c.source)] for c in kind.columns if normalise_heading(c.source) in index}


def plan_file(
    source: SourceFile,
    data: bytes,
    kinds: tuple[Kind, ...] | None = None,
    force_name: str | None = None,
    mapping: Mapping[str, Any] | None = None,
    today: dt.date | None = None,
    sha256: str | None = None,
) -> FilePlan:
    """Decide the kind of a file and how to read it. Raises FileRefused when nothing can be stored.

    ``data`` is the file's CSV bytes (decompressed). ``mapping`` (from
    :func:`thrv.sources.mapping.load_mapping`) renames a force's own headings and codes to
    thrv's before the kind of the file is decided. ``today`` decides which months are in the
    future (default: the real date).
    """
    kinds = kinds or all_kinds()
    today = today or dt.date.today()
    maps = _as_mapping(mapping, kinds)
    header = parse_header(source.name, data)
    kind, meta, header = _detect_kind(source, header, kinds, maps)
    file_month = _check_file_month(source.name, meta, today)
    rules = rules_for(kind)
    values = maps[kind.name].values if kind.name in maps else {}

    notes: list[str] = []
    constants: dict[str, object] = {}
    if kind is STOP_SEARCH:
        constants = _stop_search_constants(source.name, meta, force_name)
    elif force_name is not None and rules is None and "force" in {c.name for c in kind.columns}:
        notes.append("--force is used only for files that do not say their force")
    if rules is not None:
        rules.check_file(source.name, kind, header, force_name)

    plan = FilePlan(
        name=source.name,
        sha256=sha256 or content_sha256(data),
        size=len(data),
        kind=kind,
        positions=_positions(kind, header),
        constants=constants,
        file_month=file_month if kind is STOP_SEARCH else None,
        today=today,
        data=data,
        notes=notes,
    )
    careful = BY_RULES if rules is not None else BY_MAPPING if values else ""
    if not careful:
        scan = scan_lines(source.name, data)
        if isinstance(scan, LineScan):
            plan.scan = scan
            return plan
        careful = scan
    records = read_records(source.name, data)
    records = replace(records, header=header)
    if values:
        from thrv.sources.extract_rules import apply_value_mapping

        records = apply_value_mapping(records, kind, values)
    if rules is not None:
        plan.checks = rules.checks(kind, records, force_name, notes)
        plan.future_months = rules.future_months
        records = rules.prepare(records, kind)
    plan.records = records
    plan.careful = records.careful or careful
    return plan
