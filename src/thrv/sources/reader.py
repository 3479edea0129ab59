"""Read one input file into canonical rows and quarantined rows, or refuse it whole.

This is the single entry point the ingest loop calls for every file, whatever its kind:
it decides the kind (from the data.police.uk file name, else from the header), parses,
types and checks the rows, and says which (force, month) units the file covers, because
a file that covers a unit already in the store replaces it (docs/ingest.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from thrv import reference
from thrv.sources import extract_rules, measures
from thrv.sources.csvtext import BadRow, CsvRecords, FileRefused, read_records
from thrv.sources.files import SourceFile, decompress
from thrv.sources.kinds import (
    STOP_SEARCH,
    Kind,
    kind_from_filename,
    kind_from_header,
    normalise_heading,
)
from thrv.sources.mapping import KindMapping, describe_missing, parse_mapping, rename_header
from thrv.sources.registry import all_kinds
from thrv.sources.validate import LOCAL_TIMEZONE, validate


@dataclass
class FileRead:
    """Everything read from one file, ready for the store to write in one transaction."""

    name: str
    sha256: str
    size: int
    kind: Kind
    table: pa.Table
    bad: list[BadRow]
    rows_read: int
    notes: list[str] = field(default_factory=list)

    @property
    def rows_stored(self) -> int:
        return self.table.num_rows

    def units(self) -> list[tuple[str, str]]:
        """(force, YYYY-MM) pairs this file covers: the unit a newer version replaces."""
        if self.table.num_rows == 0:
            return []
        pairs = self.table.select(["force", "month"]).group_by(["force", "month"]).aggregate([])
        return sorted(
            (str(f), m.strftime("%Y-%m"))
            for f, m in zip(pairs["force"].to_pylist(), pairs["month"].to_pylist(), strict=True)
        )


def content_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _stop_search_constants(
    name: str, meta: dict[str, str], force_name: str | None
) -> dict[str, object]:
    constants: dict[str, object] = {}
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
    constants["force"] = force_name
    return constants


def read_file(
    source: SourceFile,
    kinds: tuple[Kind, ...] | None = None,
    force_name: str | None = None,
    mapping: Mapping[str, Any] | None = None,
) -> FileRead:
    """Read, type and check one file. Raises FileRefused when nothing in it can be stored.

    ``mapping`` (from :func:`thrv.sources.mapping.load_mapping`) renames a force's own
    headings and codes to thrv's before the kind of the file is decided.
    """
    data = decompress(source.name, source.read_bytes())
    return read_data(source, data, kinds, force_name, mapping)


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
    source: SourceFile, records: CsvRecords, kinds: tuple[Kind, ...], mapping: dict[str, KindMapping]
) -> tuple[Kind, dict[str, str], list[str]]:
    """The kind of a file, what its name says (month, force) and its header in thrv's names.

    In order: a data.police.uk-style or extract file name; a mapping's file-name pattern; a
    header that, renamed by a mapping section, holds that kind's columns; the header as it is.
    """
    header = records.header
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
    if extract_rules.is_extract(closest):
        hint = "; a force extract with its own headings needs a column mapping (--mapping, see docs/schema.md)"
    raise FileRefused(
        f"{source.name}: columns are not a known kind of file; closest is {closest.title}, "
        "which lacks: " + ", ".join(describe_missing(missing, closest, in_mapping)) + hint
    )


def read_data(
    source: SourceFile,
    data: bytes,
    kinds: tuple[Kind, ...] | None = None,
    force_name: str | None = None,
    mapping: Mapping[str, Any] | None = None,
) -> FileRead:
    """As :func:`read_file`, for bytes already read and decompressed."""
    kinds = kinds or all_kinds()
    maps = _as_mapping(mapping, kinds)
    sha = content_sha256(data)
    records = read_records(source.name, data)
    kind, meta, header = _detect_kind(source, records, kinds, maps)
    records = CsvRecords(header, records.columns, records.lines, records.bad, records.raw_of)
    if kind.name in maps:
        records = extract_rules.apply_value_mapping(records, kind, maps[kind.name].values)

    constants: dict[str, object] = {}
    notes: list[str] = []
    if kind is STOP_SEARCH:
        constants = _stop_search_constants(source.name, meta, force_name)
    if extract_rules.is_extract(kind):
        extract_rules.check_force_known(source.name, kind, header, force_name)
        context = extract_rules.context_for(kind, records, force_name, notes)
        records = extract_rules.prepare(records, kind)
        validated = validate(records, kind, constants, extra_checks=extract_rules.rules_for(context))
    elif kind is measures.MEASURES:
        validated = validate(records, kind, constants, extra_checks=measures.rules_for(source.name, records, notes))
    else:
        validated = validate(records, kind, constants)
    table = validated.table
    if kind is STOP_SEARCH:
        table = _with_stop_search_month(table, meta.get("month"))
    elif force_name is not None and "force" in table.column_names and not extract_rules.is_extract(kind):
        notes.append("--force is used only for files that do not say their force")
    if validated.shared_ids:
        notes.append(
            f"{validated.shared_ids} row(s) share a {kind.duplicate_id} with a different row; "
            "kept as published"
        )
    if kind.repeat_note and table.num_rows:
        notes.append(kind.repeat_note)
    return FileRead(
        name=source.name,
        sha256=sha,
        size=len(data),
        kind=kind,
        table=table,
        bad=validated.bad,
        rows_read=records.rows_read,
        notes=notes,
    )


def _with_stop_search_month(table: pa.Table, file_month: str | None) -> pa.Table:
    """Stop and search rows count in the month of the file they were published in.

    data.police.uk files them by UK local date, so a search at 23:30 UTC on 31 March is in
    the April file; when the file name gives no month, the local date decides likewise.
    """
    n = table.num_rows
    if file_month:
        month = pa.array([f"{file_month}-01"] * n).cast(pa.date32())
    else:
        local = pc.local_timestamp(pc.cast(table["searched_at"], pa.timestamp("s", tz=LOCAL_TIMEZONE)))
        month = pc.floor_temporal(local, unit="month").cast(pa.date32())
    return table.append_column("month", month)
