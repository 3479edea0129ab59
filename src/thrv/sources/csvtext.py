"""From raw bytes to CSV records that remember their line number and original text.

Every record read is either handed on (with its physical line number and the exact text
it came from) or reported as bad with a reason; nothing is dropped on the way. Lines that
are not UTF-8, that have the wrong number of fields, or that open a quote they never close
are reported one by one rather than failing the whole file: one mistyped character in a
7,000-row extract should not cost the other 6,999 rows.

Two readers share these rules:

- :func:`scan_lines` finds the lines of a well-formed file with numpy (where each starts,
  how many fields it has) so that the store's engine can parse it (DuckDB's CSV reader) and
  every record still has its line. It declines any file it cannot vouch for, saying why.
- :func:`read_records` is the careful reader for everything else: Arrow's C++ CSV parser for
  files whose quotes balance on every line, and a line-by-line Python reader for files with
  values spanning lines, stray quotes or bare carriage returns.

"A record" is what a person looking at the file would count: one line, unless a quoted
value really does continue on the next lines (the record then closes with exactly the
header's number of fields). A quote that opens and never closes makes its own line a bad
record; the next line is read as a new record, so one stray quote cannot swallow the rest
of a file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.csv as pv

from thrv.sources.files import ZIP_MAGIC
from thrv.sources.kinds import normalise_heading

_NL, _CR, _COMMA, _QUOTE = 10, 13, 44, 34

#: most physical lines one quoted value may span before its opening quote is taken as stray
MAX_LINES_PER_RECORD = 200



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
    #: why this file was read by the careful reader rather than the engine ("" if not said)
    careful: str = ""

    @property
    def n_good(self) -> int:
        return len(self.lines)

    @property
    def rows_read(self) -> int:
        return self.n_good + len(self.bad)


def strip_bom(data: bytes) -> bytes:
    return data[3:] if data.startswith(b"\xef\xbb\xbf") else data


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


def _first_line(data: bytes) -> bytes:
    end = len(data)
    for sep in (b"\n", b"\r"):
        at = data.find(sep)
        if at != -1:
            end = min(end, at)
    return data[:end]


def parse_header(name: str, data: bytes) -> list[str]:
    """The column names on line 1, refusing a file whose header cannot be trusted."""
    data = strip_bom(data)
    if not data or data.isspace():
        raise FileRefused(f"{name}: file is empty (no header and no rows)")
    _check_not_binary(name, data)
    line = _first_line(data)
    failure = _utf8_failure(line)
    if failure:
        raise FileRefused(f"{name}: line 1: {failure}")
    try:
        header = next(csv.reader([line.decode("utf-8")]))
    except (csv.Error, StopIteration) as exc:
        raise FileRefused(f"{name}: line 1: not a CSV header ({exc})") from exc
    header = [h.strip() for h in header]
    if len(header) < 2:
        raise FileRefused(
            f"{name}: line 1: not a CSV header (found {len(header)} column); "
            "expected comma-separated column names"
        )
    seen: dict[str, str] = {}
    for heading in header:
        key = normalise_heading(heading)
        if key in seen:
            same = f"{heading!r} appears twice" if seen[key] == heading else f"{seen[key]!r} and {heading!r} are the same column"
            raise FileRefused(
                f"{name}: line 1: a column name appears twice in the header ({same} once case, "
                "spaces and underscores are ignored); remove or rename one"
            )
        seen[key] = heading
    return header


def _is_blank_text(text: str) -> bool:
    """A line holding one empty (or whitespace) value, e.g. `   ` or `""`, is not a record."""
    try:
        fields = next(csv.reader([text]), [])
    except csv.Error:
        return False
    return len(fields) <= 1 and not "".join(fields).strip()


def _fields_message(width: int, found: int) -> str:
    return f"expected {width} fields as in the header, found {found}"


# -- the engine's way in: lines found with numpy -------------------------------------------


@dataclass
class LineScan:
    """The lines of a well-formed CSV, so an engine can parse it and keep every line number.

    Every physical line holds at most one record (no value spans lines), so the n-th record
    the engine returns is on ``good_lines[n]``. ``engine_skips`` are the lines the engine's
    reader must reject (wrong field count, blank but not empty); the store checks that it
    rejects exactly those and returns exactly ``n_good`` records.
    """

    header: list[str]
    data: bytes
    good_lines: np.ndarray
    bad: list[BadRow]
    engine_skips: np.ndarray
    #: fields (by position) in which some value has a space at its start or end: the engine
    #: trims those (trimming every value of every file would double the cost of the checks)
    trim: frozenset[int]
    crlf: bool
    _bounds: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def n_good(self) -> int:
        return len(self.good_lines)

    @property
    def rows_read(self) -> int:
        return self.n_good + len(self.bad)

    @property
    def identity(self) -> bool:
        """Record n is on line n + 2 (no blank or bad line before any record)."""
        n = self.n_good
        return n == 0 or int(self.good_lines[-1]) == n + 1

    def raw(self, line: int) -> str:
        """The text of one physical line (1 = the header), without its line end."""
        if self._bounds is None:
            self._bounds = _line_bounds(self.data, self.crlf)
        starts, ends = self._bounds
        i = line - 1
        return self.data[int(starts[i]) : int(ends[i])].decode("utf-8", errors="backslashreplace")


def _line_bounds(data: bytes, crlf: bool, newlines: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) byte offsets of every physical line, the end before its LF or CRLF."""
    arr = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(arr == _NL) if newlines is None else newlines
    if len(ends) == 0 or ends[-1] != len(arr) - 1:
        ends = np.append(ends, len(arr))  # last line without a newline
    starts = np.concatenate(([0], ends[:-1] + 1))
    if crlf:  # the text of a line stops before its carriage return
        has_cr = (ends > starts) & (arr[np.maximum(ends - 1, 0)] == _CR)
        ends = ends - has_cr.astype(ends.dtype)
    return starts, ends


def _utf8(data: bytes) -> bool:
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def scan_lines(name: str, data: bytes) -> LineScan | str:
    """Lines and field counts of a CSV the engine can parse exactly, or why it cannot.

    The engine reads a file only when every line is one record: text is UTF-8, line
    endings are all LF or all CRLF, and quotes balance on every line. Anything else goes to
    :func:`read_records`, and the reason returned here says why. A few vectorised passes
    over the bytes (line ends, commas, quotes) give every line's field count, so lines with
    the wrong number are known before the engine reads the file.
    """
    data = strip_bom(data)
    header = parse_header(name, data)
    if not _utf8(data):
        return "a line is not UTF-8"
    arr = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(arr == _NL)
    crlf = False
    if b"\r" in data:
        returns = np.flatnonzero(arr == _CR)
        if len(returns) > len(newlines) or np.any(arr[np.minimum(returns + 1, len(arr) - 1)] != _NL) or returns[-1] == len(arr) - 1:
            return "a carriage return is not followed by a line feed"
        if len(returns) != len(newlines):
            return "line endings are mixed (LF and CRLF)"
        crlf = True
    starts, ends = _line_bounds(data, crlf, newlines)
    quotes = np.flatnonzero(arr == _QUOTE) if b'"' in data else np.empty(0, dtype=np.int64)
    if len(quotes):
        per_line = np.diff(np.searchsorted(quotes, ends), prepend=0)
        if np.any(per_line % 2 == 1):
            return "a quoted value spans lines or a quote is not closed"
    commas = np.flatnonzero(arr == _COMMA)
    if len(quotes) and len(commas):
        # a comma after an odd number of quotes (quotes balance on every line) is inside a value
        commas = commas[np.searchsorted(quotes, commas) % 2 == 0]
    # commas before each line's end, less those before the line before it (cheap: one
    # binary search per line, not per comma)
    upto = np.searchsorted(commas, ends)
    first = np.concatenate(([0], upto[:-1]))
    fields = upto - first + 1
    width = len(header)
    length = ends - starts
    records = np.flatnonzero(length > 0)
    records = records[records >= 1]  # line 1 is the header
    wrong = records[fields[records] != width]
    good = records[fields[records] == width] + 1
    bad: list[BadRow] = []
    for i in wrong.tolist():
        text = data[int(starts[i]) : int(ends[i])].decode("utf-8")
        if not _is_blank_text(text):
            bad.append(BadRow(i + 1, text, _fields_message(width, int(fields[i]))))
    trim = _fields_to_trim(data, arr, starts, ends, commas, first)
    return LineScan(header, data, good.astype(np.int64), bad, wrong + 1, trim, crlf, (starts, ends))


def _spaces(values: np.ndarray) -> np.ndarray:
    return (values == 32) | (values == 9) | (values == 11) | (values == 12)


def _fields_to_trim(
    data: bytes, arr: np.ndarray, starts: np.ndarray, ends: np.ndarray, commas: np.ndarray, first: np.ndarray
) -> frozenset[int]:
    """Positions of the fields in which some value starts or ends with a space, tab or NBSP.

    ``commas`` are the separators (outside quotes), ``first[i]`` the index of line i's first;
    a value starts at a line start or after a separator and ends before one or at the line
    end (a quoted value is looked into). Which field a space is in is worked out only for
    the few values that have one.
    """
    n = len(arr)
    if n == 0:
        return frozenset()
    nbsp = b"\xc2\xa0" in data

    quoted = b'"' in data

    def at(positions: np.ndarray, step: int) -> np.ndarray:
        """The byte a value starts (step 1) or ends (step -1) with, looking into quotes."""
        positions = np.minimum(positions, n - 1) if step == 1 else np.maximum(positions, 0)
        if quoted:
            inside = np.minimum(positions + 1, n - 1) if step == 1 else np.maximum(positions - 1, 0)
            positions = np.where(arr[positions] == _QUOTE, inside, positions)
        return positions

    line_of_begin = np.arange(len(starts))
    comma_begin = at(commas + 1, 1)
    comma_end = at(commas - 1, -1)
    begin = at(starts, 1)
    end = at(ends - 1, -1)

    def spaced(positions: np.ndarray, step: int) -> np.ndarray:
        hit = _spaces(arr[positions])
        if nbsp:
            lead, other = (0xC2, 0xA0) if step == 1 else (0xA0, 0xC2)
            hit |= (arr[positions] == lead) & (arr[np.clip(positions + step, 0, n - 1)] == other)
        return hit

    found: set[int] = set()
    # a line's first value is field 0; its last is the field after its last comma
    if spaced(begin, 1).any():
        found.add(0)
    last_spaced = np.flatnonzero(spaced(end, -1) & (ends > starts))
    if len(last_spaced):
        found.update((np.searchsorted(commas, ends[last_spaced]) - first[line_of_begin[last_spaced]]).tolist())
    for positions, step, offset in ((comma_begin, 1, 1), (comma_end, -1, 0)):
        hits = np.flatnonzero(spaced(positions, step))
        if len(hits):
            line = np.searchsorted(ends, commas[hits])
            found.update((hits - first[line] + offset).tolist())
    return frozenset(int(f) for f in found)


# -- the careful reader --------------------------------------------------------------------


def read_records(name: str, data: bytes) -> CsvRecords:
    """Parse CSV bytes into text columns; bad rows are kept with their reason, never dropped."""
    data = strip_bom(data)
    header = parse_header(name, data)
    width = len(header)

    arr = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(arr == _NL)
    if len(ends) == 0 or ends[-1] != len(arr) - 1:
        ends = np.append(ends, len(arr))  # last line without a newline
    starts = np.concatenate(([0], ends[:-1] + 1))

    def raw(i: int) -> str:
        return data[starts[i] : ends[i]].decode("utf-8", errors="backslashreplace").rstrip("\r\n")

    # a carriage return not followed by a newline is a line break to a person (and to Excel)
    cr = np.flatnonzero(arr == _CR)
    if len(cr) and np.any(arr[np.minimum(cr + 1, len(arr) - 1)][cr + 1 < len(arr)] != _NL):
        return _read_records_slowly(name, data, header, "a carriage return is not followed by a line feed")
    # a quoted value spanning lines, or a stray quote, leaves a line with an odd number of quotes
    quote_positions = np.flatnonzero(arr == _QUOTE)
    if len(quote_positions):
        per_line = np.bincount(np.searchsorted(ends, quote_positions), minlength=len(ends))
        if np.any(per_line % 2 == 1):
            return _read_records_slowly(name, data, header, "a quoted value spans lines or a quote is not closed")

    bad: list[BadRow] = []
    careful = ""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        data, arr = _blank_undecodable_lines(data, arr, starts, ends, bad)
        careful = "a line is not UTF-8"

    lengths = ends - starts
    last_byte = arr[np.maximum(ends - 1, 0)]
    empty = (lengths == 0) | ((lengths == 1) & (last_byte == _CR))
    nonempty = np.flatnonzero(~empty)  # what Arrow numbers its rows by (header = 1)
    invalid: list[int] = []

    def on_invalid(row: pv.InvalidRow) -> str:
        i = int(nonempty[row.number - 1])
        invalid.append(i)
        if row.actual_columns > 1 or not _is_blank_text(row.text):
            bad.append(BadRow(i + 1, raw(i), _fields_message(width, row.actual_columns)))
        return "skip"

    columns = _arrow_parse(data, header, on_invalid)
    keep = np.setdiff1d(nonempty[1:], np.array(invalid, dtype=np.int64), assume_unique=True)
    bad.sort(key=lambda b: b.line)
    return CsvRecords(header, columns, keep + 1, bad, lambda j: raw(int(keep[j])), careful)


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


@dataclass
class _Collected:
    rows: list[list[str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    raws: list[str] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)


def _stray_quote(width: int) -> str:
    return (
        "a quote opens a value that does not close on this line (nor into one record of "
        f"{width} fields on the lines after it); the next line is read as a new record"
    )


def _read_records_slowly(name: str, data: bytes, header: list[str], why: str) -> CsvRecords:
    """Line-by-line reader for files with values spanning lines, stray quotes or bare CRs.

    Physical lines end at LF, CRLF or a bare CR. A line whose quotes balance is one record.
    A line with an odd number of quotes starts a value that may continue: the lines after it
    are joined until the quotes balance (at most ``MAX_LINES_PER_RECORD``), and kept as one
    record only if that gives exactly the header's number of fields and no two of the lines
    hold a whole row's separators each (two such lines are two rows to a person). Otherwise
    the line is a bad record on its own and the next line is read afresh.
    """
    physical = data.splitlines(keepends=True)
    texts: list[str] = []
    undecodable: dict[int, str] = {}
    for number, chunk in enumerate(physical, start=1):
        failure = _utf8_failure(chunk)
        if failure:
            undecodable[number] = failure
        texts.append(chunk.decode("utf-8", errors="backslashreplace"))
    width = len(header)
    out = _Collected()

    def keep(first: int, last: int, record: list[str], text: str) -> None:
        failure = next((undecodable[n] for n in range(first, last + 1) if n in undecodable), None)
        if failure:
            out.bad.append(BadRow(first, text, failure))
        elif len(record) != width:
            out.bad.append(BadRow(first, text, _fields_message(width, len(record))))
        else:
            out.rows.append(record)
            out.lines.append(first)
            out.raws.append(text)

    i = 1
    n = len(texts)
    while i < n:
        line = texts[i].rstrip("\r\n")
        number = i + 1
        if not line.strip() or _is_blank_text(line):
            i += 1
            continue
        if line.count('"') % 2 == 0:
            try:
                record = next(csv.reader([line], strict=False))
            except csv.Error as exc:
                out.bad.append(BadRow(number, line, f"not valid CSV ({exc})"))
            else:
                keep(number, number, record, line)
            i += 1
            continue
        j, quotes = i, line.count('"')
        # a line with a whole row's separators, followed by another, is two rows to a person,
        # whatever a quote between them says (a real value spanning lines leaves a line short)
        whole = line.count(",") >= width - 1
        while quotes % 2 and j + 1 < n and j - i + 1 < MAX_LINES_PER_RECORD:
            if whole and texts[j + 1].count(",") >= width - 1:
                break
            j += 1
            quotes += texts[j].count('"')
        if quotes % 2 == 0:
            text = "".join(texts[i : j + 1]).rstrip("\r\n")
            try:
                rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
            except csv.Error:
                rows = []
            if len(rows) == 1 and len(rows[0]) == width:
                keep(number, j + 1, rows[0], text)
                i = j + 1
                continue
        out.bad.append(BadRow(number, line, undecodable.get(number) or _stray_quote(width)))
        i += 1
    columns = [pa.array([row[c] for row in out.rows], pa.string()) for c in range(width)]
    return CsvRecords(header, columns, np.array(out.lines, dtype=np.int64), out.bad, out.raws.__getitem__, why)


def row_records(name: str, data: bytes) -> tuple[list[str], list[tuple[int, str, list[str]]], list[BadRow]]:
    """(header, [(line, raw text, fields)], bad rows) for readers that go row by row.

    The same records :func:`read_records` finds (a stray quote cannot swallow the lines
    after it; a wrong number of fields is a bad row), as Python lists.
    """
    records = read_records(name, data)
    values = [column.to_pylist() for column in records.columns]
    rows = [
        (int(line), records.raw_of(j), [str(v) for v in fields])
        for j, (line, fields) in enumerate(zip(records.lines.tolist(), zip(*values, strict=True), strict=True))
    ] if values else []
    return records.header, rows, list(records.bad)
