"""Damaged real files through the whole ingest: one bad input never ends the run.

Every case below was found by mangling real data.police.uk files; each once ended the run
with a traceback, stored bad values, or miscounted rows. Now each gives a one-line message
naming the file, the rest of the run continues, and rows read = stored + quarantined.
"""

from __future__ import annotations

import datetime as dt
import gzip
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import real_lines, sample_bytes, sample_file
from thrv.ingest import FileRead, IngestReport, ingest, read_file
from thrv.sources.csvtext import FileRefused
from thrv.sources.files import SourceFile, load
from thrv.sources.reader import plan_file
from thrv.store.database import Store
from thrv.store.scratch import check_plan

TODAY = dt.date(2026, 1, 15)


def _read(name: str, text: str | bytes, **kwargs: object) -> FileRead:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return read_file(SourceFile(name, lambda: data), today=TODAY, **kwargs)  # type: ignore[arg-type]


def _reconciles(report: IngestReport) -> bool:
    return all(f.reconciles for f in report.files)


def _good_csv(tmp: Path, month: str = "2024-02") -> Path:
    path = tmp / f"{month}-cambridgeshire-street.csv"
    path.write_bytes(sample_bytes(month))
    return path


# -- file names ---------------------------------------------------------------------------


@pytest.mark.parametrize("month", ["2024-13", "2024-00", "0000-01"])
def test_a_file_name_month_that_does_not_exist_is_refused_and_the_run_goes_on(
    store: Store, tmp_path: Path, month: str
) -> None:
    stop_search = tmp_path / f"{month}-cambridgeshire-stop-and-search.csv"
    stop_search.write_bytes(sample_bytes("2024-01", "stop-and-search"))
    street = tmp_path / f"{month}-cambridgeshire-street.csv"
    street.write_text("".join(real_lines(n=10)))
    report = ingest(store, [stop_search, street, _good_csv(tmp_path)], today=TODAY)
    assert [f.status for f in report.files] == ["refused", "refused", "stored"]
    for outcome in report.files[:2]:
        assert f"the file name gives month {month}, which is not a month" in outcome.message
        assert "\n" not in outcome.message
    assert store.count("crimes") == 6499 and store.count("stop_search") == 0
    assert _reconciles(report)


def test_a_file_name_month_in_the_future_is_refused(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "2999-12-cambridgeshire-stop-and-search.csv"
    path.write_bytes(sample_bytes("2024-01", "stop-and-search"))
    [outcome] = ingest(store, [path], today=TODAY).files
    assert outcome.status == "refused"
    assert "2999-12, which is after the current month (2026-01)" in outcome.message


def test_rows_of_a_month_after_the_current_one_are_quarantined() -> None:
    lines = real_lines("2024-01", n=5)
    future = lines[2].replace("2024-01", "2026-02", 1)
    read = _read("x-street.csv", lines[0] + lines[1] + future + "".join(lines[3:]))
    assert read.rows_read == 5 and read.rows_stored == 4
    assert read.bad[0].line == 3
    assert read.bad[0].reason == "Month '2026-02' is after the current month (2026-01)"
    # the current month itself is accepted
    assert _read("x-street.csv", lines[0] + lines[1].replace("2024-01", "2026-01", 1)).rows_stored == 1


def test_a_stop_and_search_time_in_a_future_month_is_quarantined() -> None:
    lines = real_lines("2024-01", "stop-and-search", n=3)
    future = lines[1].replace("2024-01-", "2027-06-", 1)
    read = _read("searches.csv", lines[0] + future + lines[2], force_name="Cambridgeshire Constabulary")
    assert read.rows_stored == 1
    assert read.bad[0].reason == "month 2027-06 is after the current month (2026-01)"


# -- values -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["NaN", "nan", "inf", "-Infinity", "1e400", "1_000"])
def test_coordinates_that_are_not_finite_numbers_are_quarantined(value: str) -> None:
    """Every value of the column parses as a float here, so a cast of the whole column succeeds."""
    lines = real_lines("2024-01", n=6)
    crimes = [line for line in lines[1:] if line.split(",")[4]]
    fields = crimes[0].split(",")
    fields[5] = value
    read = _read("x-street.csv", lines[0] + ",".join(fields) + "".join(crimes[1:]))
    [bad] = read.bad
    assert bad.reason == f"Latitude '{value}' is not a number"
    assert read.rows_stored == len(crimes) - 1


@pytest.mark.parametrize(
    ("first", "second"),
    [("Crime ID", "crime_id"), ("Crime type", "crime  type"), ("Month", "MONTH"), ("LSOA code", "lsoa_code ")],
)
def test_two_headers_that_are_the_same_column_refuse_the_file(first: str, second: str) -> None:
    lines = real_lines("2024-01", n=3)
    header = lines[0].rstrip("\r\n") + f",{second}\n"
    body = "".join(line.rstrip("\r\n") + ",x\n" for line in lines[1:])
    with pytest.raises(FileRefused) as info:
        _read("2024-01-cambridgeshire-street.csv", header + body)
    message = str(info.value)
    assert f"{first!r} and {second.strip()!r} are the same column" in message
    assert "\n" not in message


# -- stray quotes -------------------------------------------------------------------------


def test_a_stray_opening_quote_is_contained_to_its_own_line() -> None:
    """One quote that never closes once swallowed the rest of a file into one quarantined row."""
    lines = real_lines("2024-01", n=300)
    at = 5
    fields = lines[at].split(",")
    fields[6] = '"' + fields[6]  # Location: "On or near ... with no closing quote
    damaged = [*lines[:at], ",".join(fields), *lines[at + 1 :]]
    read = _read("2024-01-cambridgeshire-street.csv", "".join(damaged))
    assert read.rows_read == 300  # the records a person counts
    assert read.rows_stored == 299
    [bad] = read.bad
    assert bad.line == at + 1
    assert bad.raw == damaged[at].rstrip("\r\n")
    assert "does not close on this line" in bad.reason
    assert read.careful == "a quoted value spans lines or a quote is not closed"
    assert read.table["source_line"].to_pylist() == [n for n in range(2, 302) if n != at + 1]


def test_a_real_value_spanning_lines_is_still_one_record() -> None:
    lines = real_lines("2024-01", n=4)
    fields = lines[2].rstrip("\r\n").split(",")
    fields[6] = '"On or near\nPark Lane"'
    read = _read("x-street.csv", lines[0] + lines[1] + ",".join(fields) + "\n" + lines[3] + lines[4])
    assert read.rows_read == read.rows_stored == 4
    assert read.table["location"].to_pylist()[1] == "On or near\nPark Lane"
    assert read.table["source_line"].to_pylist() == [2, 3, 5, 6]


def test_two_stray_quotes_far_apart_do_not_pair_up() -> None:
    lines = real_lines("2024-01", n=60)
    damaged = list(lines)
    for at in (3, 40):
        fields = damaged[at].split(",")
        fields[6] = '"' + fields[6]
        damaged[at] = ",".join(fields)
    read = _read("x-street.csv", "".join(damaged))
    assert read.rows_read == 60 and read.rows_stored == 58
    assert [b.line for b in read.bad] == [4, 41]


def test_stray_quotes_on_adjacent_lines_do_not_make_one_record() -> None:
    """Found by the property test: a quote at the end of one row and another at the end of
    the next parse as one record of the right width, but a person sees two rows."""
    lines = [line.rstrip("\r\n") for line in real_lines("2024-01", n=4)]
    damaged = [lines[0], lines[1] + '"', lines[2] + ',"', lines[3], lines[4]]
    read = _read("x-street.csv", "\n".join(damaged) + "\n")
    assert read.rows_read == 4
    assert [b.line for b in read.bad] == [2, 3]
    assert read.rows_stored == 2


# -- replacements keep the log true ------------------------------------------------------


def test_a_partial_replacement_leaves_the_log_saying_what_remains(store: Store, tmp_path: Path) -> None:
    """One file of two months, then a file of one of them: the first file keeps one month."""
    jan = real_lines("2024-01", n=300)
    feb = real_lines("2024-02", n=150)
    both = tmp_path / "both-months-street.csv"
    both.write_text("".join(jan) + "".join(feb[1:]))
    ingest(store, [both], today=TODAY)
    corrected = tmp_path / "2024-02-cambridgeshire-street.csv"
    corrected.write_text("".join(feb[:101]))
    [outcome] = ingest(store, [corrected], today=TODAY).files
    assert outcome.rows_replaced == 150
    assert any(f"replaced 150 rows of {both} (300 of its rows remain)" in n for n in outcome.notes)
    log = store.df("SELECT file, status, rows_stored, rows_current, units FROM ingest_log ORDER BY ingest_id")
    first, second = log.iloc[0], log.iloc[1]
    assert (first["status"], first["rows_stored"], first["rows_current"]) == ("stored", 450, 300)
    assert first["units"] == '[["Cambridgeshire Constabulary", "2024-01"]]'
    assert (second["rows_stored"], second["rows_current"]) == (100, 100)
    # the log's current rows are the store's rows, file by file
    held = store.df("SELECT ingest_id, count(*) AS n FROM crimes GROUP BY 1 ORDER BY 1")["n"].tolist()
    assert held == log["rows_current"].tolist()


# -- folders with bad neighbours ----------------------------------------------------------


def test_a_bad_zip_beside_a_good_csv_does_not_stop_it(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "download"
    folder.mkdir()
    (folder / "a-broken.zip").write_bytes(b"PK\x03\x04 this is not an archive")
    good = _good_csv(folder)
    gz = folder / "b-2024-03-cambridgeshire-street.csv.gz"
    data = bytearray(gzip.compress(sample_bytes("2024-03")))
    data[len(data) // 2 : len(data) // 2 + 8] = b"\xff" * 8
    gz.write_bytes(bytes(data))
    report = ingest(store, [folder], today=TODAY)
    status = {Path(f.name.split("!")[0]).name: f.status for f in report.files}
    assert status == {"a-broken.zip": "refused", "2024-02-cambridgeshire-street.csv": "stored", gz.name: "refused"}
    assert store.count("crimes") == 6499
    assert not report.ok and _reconciles(report)
    assert good.exists()


def test_every_member_of_an_archive_with_a_repeated_name_is_ingested(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "twice.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("2024-01-cambridgeshire-street.csv", "".join(real_lines("2024-01", n=20)))
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("2024-01-cambridgeshire-street.csv", "".join(real_lines("2024-01", n=30)))
    report = ingest(store, [path], today=TODAY)
    assert [f.status for f in report.files] == ["stored", "stored"]
    assert [f.rows_read for f in report.files] == [20, 30]
    # the second is a later version of the same force-month: it replaces the first
    assert store.count("crimes") == 30 and report.files[1].rows_replaced == 20


# -- the engine and the careful reader agree ----------------------------------------------


def _both_ways(name: str, data: bytes) -> tuple[object, object]:
    source = SourceFile(name, lambda: data)
    plan = plan_file(source, load(source), today=TODAY)
    assert plan.scan is not None, plan.careful
    engine = check_plan(plan)
    careful = check_plan(plan.read_carefully("test"))
    return engine, careful


def test_a_row_with_one_field_too_many_but_empty_is_quarantined_by_both_paths() -> None:
    """DuckDB's reader accepts a trailing empty extra field; the scan does not, so the file
    is read again carefully and the row is quarantined as the careful reader says."""
    lines = real_lines("2024-01", n=4)
    extra = lines[2].rstrip("\r\n") + ",\r\n"
    read = _read("x-street.csv", lines[0] + lines[1] + extra + lines[3] + lines[4])
    assert [b.reason for b in read.bad] == ["expected 12 fields as in the header, found 13"]
    assert read.rows_stored == 3
    assert "disagree" in read.careful or "found" in read.careful


_DAMAGE = st.lists(
    st.tuples(
        st.integers(1, 40),
        st.sampled_from(["Month", "Latitude", "Longitude", "Crime ID", "Crime type", "LSOA code", "fields", "short", "dup", "blank"]),
        st.sampled_from(["", " ", "2024-13", "0000-01", "2026-07", "abc", "NaN", "inf", "99.5", "-0", " 52.1 ", "x,y", "a b", "\u00a0Burglary", "Burglary\t", " x, y "]),
    ),
    max_size=10,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damage=_DAMAGE, crlf=st.booleans())
def test_property_the_engine_and_the_careful_reader_store_the_same_rows(damage: list[tuple[int, str, str]], crlf: bool) -> None:
    """Mangled real rows, read by DuckDB's CSV reader and by the careful reader: the same
    rows stored with the same values and lines, the same rows quarantined for the same reasons."""
    lines = [line.rstrip("\r\n") for line in real_lines("2024-03", n=40)]
    header = lines[0].split(",")
    body = lines[1:]
    for index, column, value in damage:
        fields = body[index - 1].split(",")
        if column == "fields":
            fields.append(value.replace(",", ";"))
        elif column == "short":
            fields = fields[:-2]
        elif column == "dup":
            body.append(body[index - 1])
            continue
        elif column == "blank":
            body.insert(index - 1, value.replace(",", ""))
            continue
        elif len(fields) == len(header):
            fields[header.index(column)] = f'"{value}"' if "," in value else value
        body[index - 1] = ",".join(fields)
    eol = "\r\n" if crlf else "\n"
    data = (eol.join([lines[0], *body]) + eol).encode("utf-8")
    engine, careful = _both_ways("2024-03-cambridgeshire-street.csv", data)
    assert engine.table.to_pylist() == careful.table.to_pylist()  # type: ignore[attr-defined]
    assert engine.bad == careful.bad  # type: ignore[attr-defined]
    assert engine.rows_read == careful.rows_read == engine.table.num_rows + len(engine.bad)  # type: ignore[attr-defined]


def test_a_whole_real_file_is_the_same_both_ways() -> None:
    engine, careful = _both_ways("2024-01-cambridgeshire-street.csv", gzip.decompress(sample_file("2024-01").read_bytes()))
    assert engine.table.equals(careful.table)  # type: ignore[attr-defined]
    assert engine.rows_read == 6116 and not engine.bad  # type: ignore[attr-defined]


def test_a_file_the_engine_cannot_take_is_refused_and_the_next_still_loads(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb

    from thrv.store import writer

    def choke(*_args: object) -> None:
        raise duckdb.ConversionException("Conversion Error: something no check foresaw")

    monkeypatch.setattr(writer, "_rows_by_engine", choke)
    monkeypatch.setattr(writer, "_rows_by_sql", choke)
    bad = tmp_path / "2024-01-cambridgeshire-street.csv"
    bad.write_text("".join(real_lines("2024-01", n=10)))
    report = ingest(store, [bad], today=TODAY)
    monkeypatch.undo()
    report2 = ingest(store, [_good_csv(tmp_path)], today=TODAY)
    [outcome] = report.files
    assert outcome.status == "refused"
    assert outcome.message == f"{bad}: could not be stored (Conversion Error: something no check foresaw); nothing from it was stored"
    assert report2.files[0].status == "stored" and store.count("crimes") == 6499
