"""From raw bytes to CSV records that remember their line number and original text.

Every record read is either handed on (with its physical line number and the exact text
it came from) or reported as bad with a reason; nothing is dropped on the way. Lines that
are not UTF-8, or that have the wrong number of fields, are reported one by one rather
than failing the whole file: one mistyped character in a 7,000-row extract should not cost
the other 6,999 rows.

Speed: lines are found and their fields counted with numpy, and the good lines are parsed by
Arrow's C++ CSV reader, so a record costs well under a microsecond of Python. Files whose
quoted values span lines (free-text fields in some force extracts) take a slower pure-Python
path with the same results.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.csv as pv

from thrv.sources.files import ZIP_MAGIC

_NL, _CR, _COMMA, _QUOTE = 10, 13, 44, 34


class FileRefused(Exception):
    """The file as a whole cannot be read (not a CSV, empty, wrong columns). Nothing is stored."""


@dataclass(frozen=True)
class BadRow:
    """A row read but not stored: where it was, what it said, and why it was refused."""

    line: int
    raw: str
    reason: str


@dataclass
class CsvRecords:
    """The records of one CSV after the header, in file order, as text columns."""

    header: list[str]
    columns: list[pa.Array]
    lines: np.ndarray
    bad: list[BadRow]
    raw_of: Callable[[int], str]

    @property
    def n_good(self) -> int:
        return len(self.lines)

    @property
    def rows_read(self) -> int:
        return self.n_good + len(self.bad)


def _check_not_binary(name: str, data: bytes) -> None:
    if data.startswith(ZIP_MAGIC):
        raise FileRefused(
            f"{name}: not a CSV file (it is a zip container, e.g. an Excel .xlsx workbook); "
            "save it as CSV (UTF-8)"
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRefused(f"{name}: text is UTF-16, not UTF-8; save it as CSV (UTF-8)")
    if b"\x00" in data[:8192]:
        raise FileRefused(f"{name}: not a CSV file (it contains binary data)")


def _utf8_failure(chunk: bytes) -> str | None:
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = chunk[exc.start : exc.start + 1].hex().upper()
        return f"not UTF-8 text (byte 0x{byte} at column {exc.start + 1}); save the file as CSV (UTF-8)"
    return None


def _parse_header(name: str, line: bytes) -> list[str]:
    failure = _utf8_failure(line)
    if failure:
        raise FileRefused(f"{name}: line 1: {failure}")
    try:
        header = next(csv.reader([line.decode("utf-8").rstrip("\r\n")]))
    except (csv.Error, StopIteration) as exc:
        raise FileRefused(f"{name}: line 1: not a CSV header ({exc})") from exc
    header = [h.strip() for h in header]
    if len(header) < 2:
        raise FileRefused(
            f"{name}: line 1: not a CSV header (found {len(header)} column); "
            "expected comma-separated column names"
        )
    if len({h.lower() for h in header}) != len(header):
        raise FileRefused(f"{name}: line 1: a column name appears twice in the header")
    return header


def read_records(name: str, data: bytes) -> CsvRecords:
    """Parse CSV bytes into text columns; bad rows are kept with their reason, never dropped."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        raise FileRefused(f"{name}: file is empty (no header and no rows)")
    _check_not_binary(name, data)

    arr = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(arr == _NL)
    if len(ends) == 0 or ends[-1] != len(arr) - 1:
        ends = np.append(ends, len(arr))  # last line without a newline
    starts = np.concatenate(([0], ends[:-1] + 1))
    header = _parse_header(name, data[starts[0] : ends[0]])
    width = len(header)

    def raw(i: int) -> str:
        return data[starts[i] : ends[i]].decode("utf-8", errors="backslashreplace").rstrip("\r\n")

    # a carriage return not followed by a newline is a line break to Arrow but not here
    cr = np.flatnonzero(arr == _CR)
    if len(cr) and np.any(arr[np.minimum(cr + 1, len(arr) - 1)][cr + 1 < len(arr)] != _NL):
        return _read_records_slowly(name, data, header)
    # a quoted value spanning lines leaves a line with an odd number of quotes
    quote_positions = np.flatnonzero(arr == _QUOTE)
    if len(quote_positions):
        per_line = np.bincount(np.searchsorted(ends, quote_positions), minlength=len(ends))
        if np.any(per_line % 2 == 1):
            return _read_records_slowly(name, data, header)

    bad: list[BadRow] = []
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        data, arr = _blank_undecodable_lines(data, arr, starts, ends, bad)

    lengths = ends - starts
    last_byte = arr[np.maximum(ends - 1, 0)]
    empty = (lengths == 0) | ((lengths == 1) & (last_byte == _CR))
    nonempty = np.flatnonzero(~empty)  # what Arrow numbers its rows by (header = 1)
    invalid: list[int] = []

    def on_invalid(row: pv.InvalidRow) -> str:
        i = int(nonempty[row.number - 1])
        invalid.append(i)
        if row.actual_columns > 1 or not _is_blank_text(row.text):
            reason = f"expected {width} fields as in the header, found {row.actual_columns}"
            bad.append(BadRow(i + 1, raw(i), reason))
        return "skip"

    columns = _arrow_parse(data, header, on_invalid)
    keep = np.setdiff1d(nonempty[1:], np.array(invalid, dtype=np.int64), assume_unique=True)
    bad.sort(key=lambda b: b.line)
    return CsvRecords(header, columns, keep + 1, bad, lambda j: raw(int(keep[j])))


def _is_blank_text(text: str) -> bool:
    """A line holding one empty (or whitespace) value, e.g. `   ` or `""`, is not a record."""
    try:
        fields = next(csv.reader([text]), [])
    except csv.Error:
        return False
    return len(fields) <= 1 and not "".join(fields).strip()


def _blank_undecodable_lines(
    data: bytes, arr: np.ndarray, starts: np.ndarray, ends: np.ndarray, bad: list[BadRow]
) -> tuple[bytes, np.ndarray]:
    """Quarantine lines that are not UTF-8 and blank them so the parse can go on."""
    cleaned = bytearray(data)
    for i in range(1, len(starts)):
        chunk = data[starts[i] : ends[i]]
        if chunk.isascii():
            continue
        failure = _utf8_failure(chunk)
        if failure:
            bad.append(BadRow(i + 1, chunk.decode("utf-8", errors="backslashreplace").rstrip("\r"), failure))
            cleaned[starts[i] : ends[i]] = b" " * (ends[i] - starts[i])
    # blanked lines hold only spaces: Arrow reports them as invalid and they are skipped quietly
    out = bytes(cleaned)
    return out, np.frombuffer(out, dtype=np.uint8)


def _arrow_parse(data: bytes, header: list[str], on_invalid: Callable[[pv.InvalidRow], str]) -> list[pa.Array]:
    """Text columns from Arrow's CSV reader (single-threaded, so invalid rows carry a number)."""
    names = [f"c{i}" for i in range(len(header))]
    table = pv.read_csv(
        pa.py_buffer(data),
        read_options=pv.ReadOptions(column_names=names, skip_rows=1, block_size=1 << 26, use_threads=False),
        parse_options=pv.ParseOptions(newlines_in_values=False, invalid_row_handler=on_invalid),
        convert_options=pv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    return [table.column(i).combine_chunks() for i in range(len(names))]


def _read_records_slowly(name: str, data: bytes, header: list[str]) -> CsvRecords:
    """Pure-Python path for files whose quoted values contain line breaks."""
    physical = io.BytesIO(data).readlines()
    lines: list[str] = []
    undecodable: dict[int, str] = {}
    for number, chunk in enumerate(physical, start=1):
        failure = _utf8_failure(chunk)
        if failure:
            undecodable[number] = failure
        lines.append(chunk.decode("utf-8", errors="backslashreplace"))
    reader = csv.reader(iter(lines), strict=False)
    next(reader)
    width = len(header)
    rows: list[list[str]] = []
    good_lines: list[int] = []
    raws: list[str] = []
    bad: list[BadRow] = []
    start = reader.line_num
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            end = reader.line_num
            bad.append(BadRow(start + 1, "".join(lines[start:end]).rstrip("\r\n"), f"not valid CSV ({exc})"))
            start = end
            continue
        end = reader.line_num
        first = start + 1
        text = "".join(lines[start:end]).rstrip("\r\n")
        start = end
        if not record or (len(record) == 1 and not record[0].strip()):
            continue
        failure = next((undecodable[n] for n in range(first, end + 1) if n in undecodable), None)
        if failure:
            bad.append(BadRow(first, text, failure))
        elif len(record) != width:
            bad.append(BadRow(first, text, f"expected {width} fields as in the header, found {len(record)}"))
        else:
            rows.append(record)
            good_lines.append(first)
            raws.append(text)
    columns = [pa.array([row[i] for row in rows], pa.string()) for i in range(width)]
    return CsvRecords(header, columns, np.array(good_lines, dtype=np.int64), bad, raws.__getitem__)
