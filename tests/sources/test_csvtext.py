"""CSV parsing: every record keeps its line and raw text; bad lines are reported, not dropped."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import real_lines, sample_bytes
from thrv.sources.csvtext import FileRefused, read_records


def _parse(text: str | bytes):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return read_records("test.csv", data)


def test_real_file_every_line_is_a_record_with_its_line_number_and_text() -> None:
    data = sample_bytes("2024-01")
    lines = data.decode("utf-8").splitlines()
    records = _parse(data)
    assert records.header[0] == "Crime ID"
    assert records.n_good == len(lines) - 1 == 6116  # PROVENANCE: 6,116 rows
    assert not records.bad
    assert list(records.lines[:3]) == [2, 3, 4]
    assert records.raw_of(0) == lines[1]
    assert records.raw_of(records.n_good - 1) == lines[-1]
    # values agree with the standard library's CSV reader on every row
    expected = list(csv.reader(io.StringIO(data.decode("utf-8"))))[1:]
    for col in range(len(records.header)):
        assert records.columns[col].to_pylist() == [row[col] for row in expected]


def test_quoted_comma_in_a_real_lsoa_name() -> None:
    # a real row: LSOA name "Bournemouth, Christchurch and Poole 033C" is quoted
    data = sample_bytes("2025-10")
    records = _parse(data)
    names = records.columns[records.header.index("LSOA name")].to_pylist()
    assert "Bournemouth, Christchurch and Poole 033C" in names
    assert not records.bad


def test_blank_and_whitespace_lines_are_not_rows() -> None:
    lines = real_lines(n=3)
    text = lines[0] + lines[1] + "\n" + "   \n" + lines[2] + "\r\n" + lines[3]
    records = _parse(text)
    assert records.n_good == 3
    assert not records.bad
    assert list(records.lines) == [2, 5, 7]


def test_wrong_number_of_fields_is_quarantined_with_line_and_reason() -> None:
    lines = real_lines(n=3)
    short = lines[2].rstrip("\n").rsplit(",", 2)[0] + "\n"
    records = _parse(lines[0] + lines[1] + short + lines[3])
    assert records.n_good == 2
    [bad] = records.bad
    assert bad.line == 3
    assert bad.raw == short.rstrip("\n")
    assert "expected 12 fields as in the header, found 10" in bad.reason
    assert records.rows_read == 3


def test_non_utf8_line_is_quarantined_and_the_rest_kept() -> None:
    lines = [line.encode("utf-8") for line in real_lines(n=4)]
    lines[3] = lines[3].replace(b"On or near", b"On or n\xe9ar")  # cp1252 e-acute
    records = _parse(b"".join(lines))
    assert records.n_good == 3
    [bad] = records.bad
    assert bad.line == 4
    assert "not UTF-8" in bad.reason and "0xE9" in bad.reason
    assert "\\xe9" in bad.raw


def test_non_utf8_header_refuses_the_file() -> None:
    with pytest.raises(FileRefused, match="line 1: not UTF-8"):
        _parse(b"Crime ID,Mont\xe9\n1,2\n")


def test_byte_order_mark_and_crlf_are_accepted() -> None:
    lines = real_lines(n=2)
    text = "\ufeff" + "".join(line.rstrip("\n") + "\r\n" for line in lines)
    records = _parse(text)
    assert records.header[0] == "Crime ID"
    assert records.n_good == 2
    assert records.columns[-1].to_pylist() == ["", ""]  # Context, no stray \r


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "file is empty"),
        (b"  \n\n", "file is empty"),
        (b"PK\x03\x04\x14\x00\x06\x00", "zip container"),
        (b"\xff\xfeC\x00r\x00", "UTF-16"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
        (b"just one column\nvalue\n", "not a CSV header"),
        (b"a,b,A\n1,2,3\n", "appears twice"),
    ],
)
def test_files_that_are_not_csv_are_refused_with_a_clear_message(data: bytes, message: str) -> None:
    with pytest.raises(FileRefused, match=message) as info:
        _parse(data)
    assert str(info.value).startswith("test.csv: ")
    assert "\n" not in str(info.value)


def test_values_spanning_lines_take_the_slow_path_with_the_same_guarantees() -> None:
    text = 'a,b,c\n1,"two\nlines",3\n4,5\n6,7,8\n'
    records = _parse(text)
    assert records.n_good == 2
    assert records.columns[1].to_pylist() == ["two\nlines", "7"]
    assert list(records.lines) == [2, 5]
    [bad] = records.bad
    assert bad.line == 4 and "found 2" in bad.reason


_cell = st.text(alphabet=st.sampled_from(list('ab ,"\xe9-1.')), max_size=6)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(rows=st.lists(st.lists(_cell, min_size=1, max_size=5), max_size=12), crlf=st.booleans())
def test_property_every_record_is_counted_once(rows: list[list[str]], crlf: bool) -> None:
    """Whatever the rows, good + bad = the non-blank records the csv module sees."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(["h1", "h2", "h3"])
    writer.writerows(rows)
    text = buffer.getvalue()
    records = _parse(text)
    expected = [r for r in csv.reader(io.StringIO(text)) if r and not (len(r) == 1 and not r[0].strip())][1:]
    assert records.rows_read == len(expected)
    assert records.n_good == sum(1 for r in expected if len(r) == 3)
    good_rows = [r for r in expected if len(r) == 3]
    for col in range(3):
        assert records.columns[col].to_pylist() == [r[col] for r in good_rows]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.data())
def test_property_mangled_real_bytes_never_crash(data: st.DataObject) -> None:
    """Random byte damage to real rows: either a clear refusal or every record accounted for."""
    raw = bytearray("".join(real_lines(n=15)).encode("utf-8"))
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        action = data.draw(st.sampled_from(["replace", "delete", "insert"]))
        byte = data.draw(st.sampled_from([0x2C, 0x22, 0x0A, 0x0D, 0xE9, 0xFF, 0x41, 0x00]))
        if action == "replace":
            raw[pos] = byte
        elif action == "delete":
            del raw[pos]
        else:
            raw.insert(pos, byte)
    try:
        records = _parse(bytes(raw))
    except FileRefused as exc:
        message = str(exc)
        records = None
    if records is None:
        assert message.startswith("test.csv: ")
        return
    assert records.rows_read == records.n_good + len(records.bad)
    assert all(b.reason and b.line >= 2 for b in records.bad)
    assert len(set(records.lines.tolist()) & {b.line for b in records.bad}) == 0
