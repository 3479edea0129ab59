"""Column mapping files: a force's own headings (and codes) for thrv's canonical columns.

Every force's system exports differently ("Call Ref", "CallRef", "Incident URN"...), so the
extract readers take a small TOML file instead of asking analysts to rename columns by hand
each month (a step that silently goes wrong). One section per kind of extract::

    [calls]
    call_id = "Call Ref"              # canonical column = the heading in the force's file
    offered_at = "Presented Time"
    files = ["*CallStats*.csv"]       # optional: file-name patterns that are this kind

    [calls.values.line]               # optional: the force's codes for a column's values
    "EMERG" = "999"
    "NON-EMERG" = "101"

The mapping renames headings before the kind of a file is decided, so a mapped file is
checked, typed and quarantined exactly like a file with canonical headings.
docs/schema.md ("Column mapping") is the reference.
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thrv.sources.kinds import Kind, normalise_heading

#: keys of a kind's section that are not column names
RESERVED = {"files", "values"}


class MappingError(ValueError):
    """A mapping file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class KindMapping:
    """One kind's part of a mapping file, checked against the kind's columns."""

    #: canonical column name -> the force's heading
    columns: dict[str, str] = field(default_factory=dict)
    #: canonical column name -> {force value (normalised) -> canonical value}
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    #: file-name patterns (fnmatch, case-insensitive) that declare this kind
    files: tuple[str, ...] = ()

    def matches_file(self, basename: str) -> bool:
        return any(fnmatch.fnmatch(basename.lower(), pattern.lower()) for pattern in self.files)


def normalise_value(text: str) -> str:
    """How a mapped value is compared: case, spaces, hyphens and underscores ignored."""
    return " ".join(text.replace("’", "'").strip().lower().replace("_", " ").replace("-", " ").split())


def load_mapping(path: str | Path, kinds: tuple[Kind, ...] | None = None) -> dict[str, KindMapping]:
    """Read and check a mapping file: ``{kind name: KindMapping}``.

    Unknown kinds, unknown canonical columns and malformed entries are errors that name the
    file and key, so a typo is found when the mapping is loaded rather than months later as
    a column that is quietly empty.
    """
    from thrv.sources.registry import all_kinds

    kinds = kinds or all_kinds()
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MappingError(f"{path}: cannot read the column mapping ({exc})") from exc
    return parse_mapping(doc, str(path), kinds)


def parse_mapping(doc: dict[str, Any], source: str, kinds: tuple[Kind, ...]) -> dict[str, KindMapping]:
    """Check a mapping already parsed from TOML (see :func:`load_mapping`)."""
    by_name: dict[str, Kind] = {}
    for each in kinds:
        by_name.setdefault(each.name, each)
        by_name.setdefault(each.table, each)
    out: dict[str, KindMapping] = {}
    for section, body in doc.items():
        kind = by_name.get(section)
        if kind is None:
            raise MappingError(
                f"{source}: [{section}] is not a kind of file; use one of {', '.join(sorted(k.name for k in kinds))}"
            )
        if not isinstance(body, dict):
            raise MappingError(f"{source}: [{section}] must be a table of column = heading")
        known = {c.name for c in kind.columns}
        columns: dict[str, str] = {}
        for key, value in body.items():
            if key in RESERVED:
                continue
            if key not in known:
                raise MappingError(
                    f"{source}: [{section}] {key!r} is not a column of {kind.title}; "
                    f"its columns are {', '.join(c.name for c in kind.columns)}"
                )
            if not isinstance(value, str) or not value.strip():
                raise MappingError(f"{source}: [{section}] {key} must be the heading in your file, as text")
            columns[key] = value.strip()
        headings = [normalise_heading(h) for h in columns.values()]
        if len(set(headings)) != len(headings):
            raise MappingError(f"{source}: [{section}] maps two columns to the same heading")
        files = body.get("files", [])
        if isinstance(files, str):
            files = [files]
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise MappingError(f"{source}: [{section}] files must be a list of file-name patterns")
        values: dict[str, dict[str, str]] = {}
        for column, table in (body.get("values") or {}).items():
            if column not in known:
                raise MappingError(f"{source}: [{section}.values] {column!r} is not a column of {kind.title}")
            if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
                raise MappingError(f"{source}: [{section}.values.{column}] must map your values to thrv's, as text")
            values[column] = {normalise_value(str(k)): v for k, v in table.items()}
        out[kind.name] = KindMapping(columns=columns, values=values, files=tuple(files))
    return out


def rename_header(header: list[str], kind: Kind, mapping: KindMapping | None) -> list[str]:
    """The header with the force's headings replaced by the kind's canonical headings.

    A heading the mapping does not mention is kept, so files that already use canonical
    names need no mapping. When a mapped column would collide with an unmapped heading of
    the same canonical name, the unmapped one is set aside (renamed) so the mapping wins.
    """
    if mapping is None or not mapping.columns:
        return list(header)
    canonical = {c.name: c.source for c in kind.columns}
    wanted = {normalise_heading(theirs): canonical[name] for name, theirs in mapping.columns.items()}
    targets = {normalise_heading(t) for t in wanted.values()}
    out = []
    for heading in header:
        key = normalise_heading(heading)
        if key in wanted:
            out.append(wanted[key])
        elif key in targets:
            out.append(f"{heading} (replaced by mapping)")
        else:
            out.append(heading)
    return out


def describe_missing(missing: list[str], kind: Kind, mapping: KindMapping | None) -> list[str]:
    """Missing headings for an error message, saying which heading a mapping expected."""
    if mapping is None:
        return [repr(m) for m in missing]
    by_source = {c.source: c.name for c in kind.columns}
    out = []
    for heading in missing:
        theirs = mapping.columns.get(by_source.get(heading, ""))
        out.append(f"{heading!r} (mapped from {theirs!r}, not in the file)" if theirs else repr(heading))
    return out
