"""Reading whole files: kinds, typed columns, and a clear reason for every refused row or file."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import SAMPLE, real_lines, sample_bytes, sample_file
from thrv.ingest import FileRead, read_file
from thrv.sources.csvtext import FileRefused
from thrv.sources.files import SourceError, SourceFile, discover


def _source(name: str, text: str | bytes) -> SourceFile:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return SourceFile(name, lambda: data)


def _read(name: str, text: str | bytes, **kwargs: object) -> FileRead:
    return read_file(_source(name, text), **kwargs)  # type: ignore[arg-type]


def _reasons(read: FileRead) -> dict[int, str]:
    return {b.line: b.reason for b in read.bad}


# -- whole real files ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["street", "outcomes", "stop-and-search"])
def test_real_files_read_completely_and_match_pandas(kind: str) -> None:
    path = sample_file("2024-06", kind)
    read = read_file(SourceFile(str(path), path.read_bytes))
    expected = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert read.rows_read == read.rows_stored == len(expected)
    assert not read.bad
    assert read.table["source_line"].to_pylist() == list(range(2, len(expected) + 2))
    if kind == "street":
        assert read.kind.table == "crimes"
        assert read.table["crime_type"].to_pylist() == expected["Crime type"].tolist()
        lat = pd.to_numeric(expected["Latitude"].replace("", None))
        assert read.table["latitude"].to_pandas().equals(lat.astype(float))
        assert set(read.table["month"].to_pylist()) == {dt.date(2024, 6, 1)}
        assert read.units() == [("Cambridgeshire Constabulary", "2024-06")]
    if kind == "stop-and-search":
        assert read.kind.table == "stop_search"
        assert set(read.table["force"].to_pylist()) == {"Cambridgeshire Constabulary"}
        assert set(read.table["month"].to_pylist()) == {dt.date(2024, 6, 1)}
        first = expected["Date"].iloc[0]
        assert read.table["searched_at"][0].as_py() == dt.datetime.fromisoformat(first)


def test_kind_is_found_from_the_header_when_the_file_is_renamed() -> None:
    read = _read("my export.csv", "".join(real_lines(kind="outcomes", n=5)))
    assert read.kind.name == "outcomes" and read.rows_stored == 5


# -- files refused whole ------------------------------------------------------------------


def test_a_named_file_missing_columns_is_refused_naming_them() -> None:
    lines = real_lines(n=3)
    header = lines[0].replace("Crime type,", "")
    body = "".join(line.split(",", 1)[1] for line in lines[1:])
    with pytest.raises(FileRefused) as info:
        _read("2024-01-cambridgeshire-street.csv", header + body)
    message = str(info.value)
    assert message.startswith("2024-01-cambridgeshire-street.csv: ")
    assert "'Crime type'" in message


def test_a_file_of_unknown_columns_is_refused_naming_the_closest_kind() -> None:
    with pytest.raises(FileRefused, match=r"not a known kind.*closest is data.police.uk street-level crime.*'Falls within'") as info:
        _read("other.csv", "Crime ID,Month,Reported by,Colour\nx,2024-01,Y,red\n")
    assert "other.csv" in str(info.value)


def test_stop_and_search_from_an_unknown_force_needs_force_option() -> None:
    text = "".join(real_lines(kind="stop-and-search", n=3))
    with pytest.raises(FileRefused, match="cannot tell which force"):
        _read("2024-01-atlantis-stop-and-search.csv", text)
    with pytest.raises(FileRefused, match="cannot tell which force"):
        _read("searches.csv", text)
    read = _read("searches.csv", text, force_name="Cambridgeshire Constabulary")
    assert read.rows_stored == 3 and read.table["month"][0].as_py() == dt.date(2024, 1, 1)


# -- rows quarantined with file and line --------------------------------------------------


def _street_with(edits: dict[int, tuple[str, str]]) -> str:
    """Real street lines with column values replaced: {line index: (column, new value)}."""
    lines = real_lines(n=8)
    header = lines[0].rstrip("\n").split(",")
    out = [lines[0]]
    for i, line in enumerate(lines[1:], start=1):
        fields = next(iter(pd.read_csv(io.StringIO(lines[0] + line), dtype=str, keep_default_na=False).itertuples(index=False)))
        values = list(fields)
        if i in edits:
            column, value = edits[i]
            values[header.index(column)] = value
        out.append(",".join(f'"{v}"' if "," in v else v for v in values) + "\n")
    return "".join(out)


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("Month", "2024-13", "bad Month '2024-13' (expected YYYY-MM)"),
        ("Month", "Jan 2024", "bad Month 'Jan 2024'"),
        ("Month", "", "missing Month"),
        ("Latitude", "fifty-two", "Latitude 'fifty-two' is not a number"),
        ("Latitude", "0", "coordinates outside the UK (latitude, longitude = 0"),
        ("Longitude", "12.5", "coordinates outside the UK"),
        ("Latitude", "", "only one of latitude and longitude is given"),
        ("Falls within", "", "missing Falls within"),
        ("Crime type", " ", "missing Crime type"),
    ],
)
def test_bad_values_are_quarantined_with_line_and_reason(column: str, value: str, reason: str) -> None:
    read = _read("2024-01-cambridgeshire-street.csv", _street_with({3: (column, value)}))
    assert read.rows_read == 8
    assert read.rows_stored == 7
    assert list(_reasons(read)) == [4]  # data line 3 is file line 4
    assert reason in _reasons(read)[4]
    assert read.bad[0].raw.startswith(real_lines(n=3)[3].split(",")[0])


def test_swapped_coordinates_are_outside_the_uk() -> None:
    lines = real_lines(n=2)
    fields = lines[1].split(",")
    fields[4], fields[5] = fields[5], fields[4]
    read = _read("x-street.csv", lines[0] + ",".join(fields) + lines[2])
    assert "coordinates outside the UK" in read.bad[0].reason


def test_an_exact_duplicate_crime_is_quarantined_but_repeated_asb_rows_are_kept() -> None:
    lines = real_lines(n=400)
    crime = next(line for line in lines[1:] if not line.startswith(","))
    asb = next(line for line in lines[1:] if line.startswith(","))
    text = "".join(lines) + crime + asb
    read = _read("2024-01-cambridgeshire-street.csv", text)
    assert read.rows_read == 402
    [bad] = read.bad
    assert bad.line == 402
    assert bad.reason == f"duplicate row: identical to line {lines.index(crime) + 1}"
    assert read.rows_stored == 401  # the repeated ASB row is kept: ASB has no identifier


def test_same_crime_id_with_different_content_is_kept_and_noted() -> None:
    lines = real_lines(n=3)
    fields = lines[1].split(",")
    fields[10] = "Under investigation"
    read = _read("x-street.csv", "".join(lines) + ",".join(fields))
    assert read.rows_stored == 4 and not read.bad
    assert any("share a crime_id" in note for note in read.notes)


def test_bad_stop_and_search_date_and_flag() -> None:
    lines = real_lines(kind="stop-and-search", n=3)
    bad_date = lines[1].replace("2024-01-01T", "2024-01-41T", 1)
    bad_flag = lines[2].replace(",False", ",Maybe", 1)
    read = _read("2024-01-cambridgeshire-stop-and-search.csv", lines[0] + bad_date + bad_flag + lines[3])
    reasons = _reasons(read)
    assert "bad Date" in reasons[2]
    assert "is not true/false" in reasons[3]
    assert read.rows_stored == 1


def test_property_every_row_is_stored_or_quarantined_in_a_real_month() -> None:
    data = sample_bytes("2024-02")
    read = _read("2024-02-cambridgeshire-street.csv", data)
    assert read.rows_read == read.rows_stored + len(read.bad) == 6499


# -- finding files ------------------------------------------------------------------------


def test_discover_folders_recursively_and_zip_archives(tmp_path: Path) -> None:
    archive = tmp_path / "police.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for month in ("2024-01", "2024-02"):
            z.writestr(f"{month}/{month}-cambridgeshire-street.csv", gzip.decompress(sample_file(month).read_bytes()))
        z.writestr("README.txt", "not data")
    found = discover([archive, SAMPLE / "cambridgeshire" / "2024-03"])
    names = [f.name for f in found]
    assert names[0].endswith("police.zip!2024-01/2024-01-cambridgeshire-street.csv")
    assert len(names) == 2 + 3
    read = read_file(found[0])
    assert read.rows_stored == 6116
    assert found[0].basename == "2024-01-cambridgeshire-street.csv"


def test_gzip_is_detected_by_content_not_name() -> None:
    data = sample_file("2024-01").read_bytes()
    read = _read("2024-01-cambridgeshire-street.csv", data)  # gzip bytes, .csv name
    assert read.rows_stored == 6116


def test_a_missing_path_is_a_clear_error_before_anything_is_read(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file or folder"):
        discover([tmp_path / "nope"])
