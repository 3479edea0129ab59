"""Read one input file into canonical rows and quarantined rows, or refuse it whole.

This is the single entry point the ingest loop calls for every file, whatever its kind:
it decides the kind (from the data.police.uk file name, else from the header), parses,
types and checks the rows, and says which (force, month) units the file covers, because
a file that covers a unit already in the store replaces it (docs/ingest.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from thrv import reference
from thrv.sources.csvtext import BadRow, FileRefused, read_records
from thrv.sources.files import SourceFile, decompress
from thrv.sources.kinds import STOP_SEARCH, Kind, kind_from_filename, kind_from_header
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
) -> FileRead:
    """Read, type and check one file. Raises FileRefused when nothing in it can be stored."""
    data = decompress(source.name, source.read_bytes())
    return read_data(source, data, kinds, force_name)


def read_data(
    source: SourceFile,
    data: bytes,
    kinds: tuple[Kind, ...] | None = None,
    force_name: str | None = None,
) -> FileRead:
    """As :func:`read_file`, for bytes already read and decompressed."""
    kinds = kinds or all_kinds()
    sha = content_sha256(data)
    records = read_records(source.name, data)

    by_name = kind_from_filename(source.basename, kinds)
    if by_name is not None:
        kind, meta = by_name
        missing = kind.missing_columns(records.header)
        if missing:
            raise FileRefused(
                f"{source.name}: named as {kind.title} but lacks column(s): "
                + ", ".join(repr(m) for m in missing)
            )
    else:
        meta = {}
        found, closest, missing = kind_from_header(records.header, kinds)
        if found is None:
            raise FileRefused(
                f"{source.name}: columns are not a known kind of file; closest is {closest.title}, "
                "which lacks: " + ", ".join(repr(m) for m in missing)
            )
        kind = found

    constants: dict[str, object] = {}
    if kind is STOP_SEARCH:
        constants = _stop_search_constants(source.name, meta, force_name)
    validated = validate(records, kind, constants)
    table = validated.table
    notes: list[str] = []
    if kind is STOP_SEARCH:
        table = _with_stop_search_month(table, meta.get("month"))
    elif force_name is not None and "force" in table.column_names:
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
