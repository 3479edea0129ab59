"""Turn parsed text records into typed, checked canonical rows, or quarantine them with a reason.

All checks are vectorised with pyarrow so validation costs a fraction of the parse. A row
fails on its first problem; the reason names the column and the offending value so an
analyst can fix the source. The checks, in the order they are applied, are listed in
docs/ingest.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from thrv.sources.csvtext import BadRow, CsvRecords
from thrv.sources.kinds import Column, Kind, normalise_heading

#: A generous box around the United Kingdom (Great Britain, Northern Ireland, Scilly,
#: Shetland). Points outside it are certainly wrong, e.g. swapped or zeroed coordinates.
UK_LATITUDE = (49.8, 61.0)
UK_LONGITUDE = (-8.8, 2.0)

_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_INTEGER = r"^[+-]?\d+$"
_MONTH = r"^(19[89]\d|2\d\d\d)-(0[1-9]|1[0-2])$"
_DATE = r"^(19[89]\d|2\d\d\d)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
_TIMESTAMP_FORMATS_TZ = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z")
_TIMESTAMP_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M")
LOCAL_TIMEZONE = "Europe/London"


@dataclass
class Validated:
    """Typed rows that passed every check, and the rows that did not."""

    table: pa.Table
    bad: list[BadRow]
    #: kept rows whose identifier another, different row also carries
    shared_ids: int = 0


class _Reasons:
    """First reason per row; later problems on a row that already failed are not reported."""

    def __init__(self, n: int) -> None:
        self.values: pa.Array = pa.nulls(n, pa.string())

    def add(self, failed: pa.Array, message: pa.Array | str | Callable[[], pa.Array]) -> None:
        """Record ``message`` for rows that failed; a callable message is built only if any did."""
        failed = pc.fill_null(failed, False)
        if not pc.any(failed).as_py():
            return
        if callable(message):
            message = message()
        take = pc.and_(failed, pc.is_null(self.values))
        self.values = pc.if_else(take, message, self.values)


def _message(prefix: str, values: pa.Array, suffix: str) -> pa.Array:
    """"prefix 'value' suffix" for each row, vectorised."""
    shown = pc.fill_null(values, "")
    return pc.binary_join_element_wise(pa.scalar(f"{prefix} '"), shown, pa.scalar(f"'{suffix}"), "")


def _clean(values: pa.Array) -> pa.Array:
    trimmed = pc.utf8_trim_whitespace(values)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def _parse_timestamps(values: pa.Array) -> pa.Array:
    """ISO 8601 timestamps to UTC; a value without an offset is taken as UK local time.

    Formats are tried in turn, each only while some values remain unparsed.
    """
    utc = pa.timestamp("s", tz="UTC")
    result = pa.nulls(len(values), utc)
    stripped = pc.replace_substring_regex(values, r"\.\d+", "")  # drop fractional seconds
    attempts = [(fmt, True) for fmt in _TIMESTAMP_FORMATS_TZ] + [(fmt, False) for fmt in _TIMESTAMP_FORMATS]
    for text in (values, stripped):
        for fmt, has_offset in attempts:
            missing = pc.and_(pc.is_valid(values), pc.is_null(result))
            if not pc.any(missing).as_py():
                return result
            parsed = pc.strptime(text, format=fmt, unit="s", error_is_null=True)
            if not has_offset:
                parsed = pc.assume_timezone(parsed, LOCAL_TIMEZONE, ambiguous="earliest", nonexistent="latest")
            result = pc.coalesce(result, parsed.cast(utc))
    return result


def _typed(column: Column, values: pa.Array, reasons: _Reasons) -> pa.Array:
    """Convert one cleaned text column to its type, recording a reason for each bad value."""
    present = pc.is_valid(values)
    heading = column.source
    if column.required:
        reasons.add(pc.invert(present), f"missing {heading}")
    kind = column.type
    if kind == "text":
        return values
    if kind == "month":
        # a file holds a handful of distinct months: check those, then map back
        distinct = pc.unique(values).drop_null()
        ok_distinct = pc.match_substring_regex(distinct, _MONTH)
        ok = pc.is_in(values, distinct.filter(ok_distinct))
        reasons.add(pc.and_(present, pc.invert(ok)), lambda: _message(f"bad {heading}", values, " (expected YYYY-MM)"))
        good = pc.if_else(ok, values, pa.scalar(None, pa.string()))
        joined = pc.binary_join_element_wise(good, pa.scalar("-01"), "")
        return pc.strptime(joined, format="%Y-%m-%d", unit="s").cast(pa.date32())
    if kind == "date":
        ok = pc.match_substring_regex(values, _DATE)
        parsed = pc.strptime(pc.if_else(ok, values, pa.scalar(None, pa.string())), format="%Y-%m-%d", unit="s", error_is_null=True)
        bad = pc.and_(present, pc.is_null(parsed))
        reasons.add(bad, lambda: _message(f"bad {heading}", values, " (expected YYYY-MM-DD)"))
        return parsed.cast(pa.date32())
    if kind in {"longitude", "latitude", "float"}:
        try:  # the common case: every value is a plain number
            return pc.cast(values, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        ok = pc.match_substring_regex(values, _NUMBER)
        reasons.add(pc.and_(present, pc.invert(ok)), lambda: _message(f"{heading}", values, " is not a number"))
        return pc.if_else(ok, values, pa.scalar(None, pa.string())).cast(pa.float64())
    if kind == "int":
        ok = pc.match_substring_regex(values, _INTEGER)
        reasons.add(pc.and_(present, pc.invert(ok)), lambda: _message(f"{heading}", values, " is not a whole number"))
        return pc.if_else(ok, values, pa.scalar(None, pa.string())).cast(pa.int64())
    if kind == "bool":
        lowered = pc.utf8_lower(values)
        is_true = pc.is_in(lowered, pa.array(sorted(_TRUE)))
        is_false = pc.is_in(lowered, pa.array(sorted(_FALSE)))
        bad = pc.and_(present, pc.invert(pc.or_(is_true, is_false)))
        reasons.add(bad, lambda: _message(f"{heading}", values, " is not true/false"))
        return pc.if_else(is_true, True, pc.if_else(is_false, False, pa.scalar(None, pa.bool_())))
    if kind == "timestamp":
        parsed = _parse_timestamps(values)
        bad = pc.and_(present, pc.is_null(parsed))
        reasons.add(bad, lambda: _message(f"bad {heading}", values, " (expected an ISO 8601 date and time)"))
        return parsed
    raise ValueError(f"unknown column type {kind!r} for {column.name}")


def _check_coordinates(columns: dict[str, pa.Array], reasons: _Reasons) -> None:
    if "latitude" not in columns or "longitude" not in columns:
        return
    lat, lon = columns["latitude"], columns["longitude"]
    one_missing = pc.xor(pc.is_null(lat), pc.is_null(lon))
    reasons.add(one_missing, "only one of latitude and longitude is given")
    outside = pc.or_(
        pc.or_(pc.less(lat, UK_LATITUDE[0]), pc.greater(lat, UK_LATITUDE[1])),
        pc.or_(pc.less(lon, UK_LONGITUDE[0]), pc.greater(lon, UK_LONGITUDE[1])),
    )

    def message() -> pa.Array:
        shown = pc.binary_join_element_wise(
            pc.cast(pc.fill_null(lat, float("nan")), pa.string()),
            pc.cast(pc.fill_null(lon, float("nan")), pa.string()),
            ", ",
        )
        return pc.binary_join_element_wise(
            pa.scalar("coordinates outside the UK (latitude, longitude = "), shown, pa.scalar(")"), ""
        )

    reasons.add(outside, message)


def _check_duplicates(kind: Kind, columns: dict[str, pa.Array], lines: np.ndarray, reasons: _Reasons) -> int:
    """Quarantine rows identical to an earlier row that carries the kind's identifier.

    Returns how many kept rows share an identifier with another, different row: data.police.uk
    does publish such rows (one crime, two locations or outcomes), so they are kept and noted.
    """
    if not kind.duplicate_id or len(lines) == 0:
        return 0
    # one text key per row from every column; nulls spelled out so they compare equal
    parts = [pc.fill_null(pc.cast(columns[c.name], pa.string()), "\x00") for c in kind.columns]
    key = pc.binary_join_element_wise(*parts, "\x1f")
    keyed = pa.table({"key": key, "_line": pa.array(lines)})
    # only rows that passed every other check can be the first of a key
    usable = pc.and_(pc.is_valid(columns[kind.duplicate_id]), pc.is_null(reasons.values))
    if len(pc.unique(key.filter(usable))) == pc.sum(usable).as_py():
        return _shared_ids(kind, columns, reasons)
    first = keyed.filter(usable).group_by("key", use_threads=False).aggregate([("_line", "min")])
    joined = keyed.join(first, "key", join_type="left outer", use_threads=False).sort_by("_line")
    first_line = joined["_line_min"].combine_chunks()
    repeat = pc.and_(pc.is_valid(first_line), pc.not_equal(first_line, joined["_line"].combine_chunks()))
    repeat = pc.and_(repeat, usable)
    message = pc.binary_join_element_wise(
        pa.scalar("duplicate row: identical to line "), pc.cast(first_line, pa.string()), ""
    )
    reasons.add(repeat, message)
    return _shared_ids(kind, columns, reasons)


def _shared_ids(kind: Kind, columns: dict[str, pa.Array], reasons: _Reasons) -> int:
    assert kind.duplicate_id
    ids = columns[kind.duplicate_id].filter(pc.is_null(reasons.values)).drop_null()
    return len(ids) - len(pc.unique(ids))


def validate(
    records: CsvRecords,
    kind: Kind,
    constants: dict[str, object] | None = None,
    extra_checks: Sequence[Callable[[dict[str, pa.Array], _Reasons], None]] = (),
) -> Validated:
    """Type and check every record; return the good rows as a table and the rest as bad rows.

    ``constants`` fills columns the file does not carry (e.g. the force of a stop and search
    file, taken from its name).
    """
    n = records.n_good
    positions = {normalise_heading(h): i for i, h in enumerate(records.header)}
    reasons = _Reasons(n)
    typed: dict[str, pa.Array] = {}
    for column in kind.columns:
        index = positions.get(normalise_heading(column.source))
        text = pa.nulls(n, pa.string()) if index is None else _clean(records.columns[index])
        typed[column.name] = _typed(column, text, reasons)
    _check_coordinates(typed, reasons)
    for check in extra_checks:
        check(typed, reasons)
    shared_ids = _check_duplicates(kind, typed, records.lines, reasons)
    for name, value in (constants or {}).items():
        typed[name] = pa.array([value] * n) if not isinstance(value, pa.Array) else value
    typed["source_line"] = pa.array(records.lines, pa.int32())

    failed_mask = pc.is_valid(reasons.values)
    bad = list(records.bad)
    if pc.any(failed_mask).as_py():
        failed_idx = pc.indices_nonzero(failed_mask).to_pylist()
        reason_list = reasons.values.to_pylist()
        bad.extend(
            BadRow(int(records.lines[i]), records.raw_of(i), str(reason_list[i])) for i in failed_idx
        )
        bad.sort(key=lambda b: b.line)
        keep = pc.invert(failed_mask)
        table = pa.table(typed).filter(keep)
    else:
        table = pa.table(typed)
    return Validated(table=table, bad=bad, shared_ids=shared_ids)
