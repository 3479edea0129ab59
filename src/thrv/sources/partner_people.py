"""Person records from a partner agency: the one CSV layout thrv accepts, read row by row.

The header is exactly ``record_id,forename,surname,date_of_birth,postcode,address`` with
optional ``identifier`` and ``sex`` after it (any case, surrounding spaces ignored). Nothing
is quarantined for an unusual *format* (a foreign postcode, a name in another script, an
odd date: linkage copes with them, see :mod:`thrv.linkage.normalise`); a row is quarantined
only when it cannot be a record at all: the wrong number of fields, no ``record_id``, or a
``record_id`` that repeats an earlier row of the same file. Rows in = stored + quarantined.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from thrv.sources.csvtext import FileRefused, row_records

PERSON_COLUMNS = ("record_id", "forename", "surname", "date_of_birth", "postcode", "address")
OPTIONAL_COLUMNS = ("identifier", "sex")


@dataclass(frozen=True)
class BadPerson:
    line: int
    raw: str
    reason: str


@dataclass
class PeopleRead:
    """One person file, read: the rows to store and the rows quarantined."""

    name: str
    sha256: str
    size: int
    columns: tuple[str, ...]
    rows: list[dict[str, str]]
    lines: list[int]
    bad: list[BadPerson] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return len(self.rows) + len(self.bad)


def check_header(name: str, header: list[str]) -> tuple[str, ...]:
    cleaned = tuple(h.strip().lower() for h in header)
    required = len(PERSON_COLUMNS)
    ok = cleaned[:required] == PERSON_COLUMNS and all(
        c in OPTIONAL_COLUMNS for c in cleaned[required:]
    ) and len(set(cleaned)) == len(cleaned)
    if cleaned[required:] and ok:
        # optional columns keep their order: identifier before sex
        order = [OPTIONAL_COLUMNS.index(c) for c in cleaned[required:]]
        ok = order == sorted(order)
    if not ok:
        raise FileRefused(
            f"{name}: a person file's header must be exactly "
            f"{','.join(PERSON_COLUMNS)}[,identifier][,sex]; found {','.join(header)}"
        )
    return cleaned


def read_people(name: str, data: bytes) -> PeopleRead:
    """Read a person CSV (already decompressed). Raises FileRefused for a wrong header."""
    sha = hashlib.sha256(data).hexdigest()
    notes: list[str] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        notes.append("not UTF-8: read as Windows-1252")
    if not text.strip():
        raise FileRefused(f"{name}: empty file, no header")
    # the shared record rules: a stray quote cannot swallow the rows after it
    header, records, wrong = row_records(name, text.encode("utf-8"))
    columns = check_header(name, header)
    rows: list[dict[str, str]] = []
    lines: list[int] = []
    bad: list[BadPerson] = [BadPerson(b.line, b.raw, b.reason) for b in wrong]
    first_line: dict[str, int] = {}
    for line, raw, fields in records:
        if len(fields) != len(columns):
            bad.append(BadPerson(line, raw, f"expected {len(columns)} fields, found {len(fields)}"))
            continue
        row = {c: v.strip() for c, v in zip(columns, fields, strict=True)}
        rid = row["record_id"]
        if not rid:
            bad.append(BadPerson(line, raw, "record_id is empty"))
            continue
        if rid in first_line:
            bad.append(BadPerson(line, raw, f"record_id {rid!r} repeats line {first_line[rid]}"))
            continue
        first_line[rid] = line
        rows.append(row)
        lines.append(line)
    bad.sort(key=lambda b: b.line)
    return PeopleRead(name, sha, len(data), columns, rows, lines, bad, notes)
