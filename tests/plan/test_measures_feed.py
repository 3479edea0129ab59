"""The generic measures feed: recognised by its header, every row stored or quarantined, replaced by period."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thrv.ingest import ingest, read_data
from thrv.sources.csvtext import FileRefused
from thrv.sources.files import SourceFile
from thrv.sources.measures import MEASURES, force_of_area, parse_period
from thrv.store.database import Store

HEADER = "measure,area,period,value,numerator,denominator,n,comparator,comparator_value,unit,direction\n"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _read(text: str, name: str = "feed.csv") -> object:
    return read_data(SourceFile(name, lambda: text.encode()), text.encode())


def test_header_is_recognised_with_area_or_area_code(tmp_path: Path) -> None:
    for header in ("measure,area,period,value", "measure,area_code,period,value", "Measure, Area Code ,Period,Value,n"):
        read = _read(f"{header}\nspecials,{'E23000023' if 'code' in header.lower() else 'Cambridgeshire Constabulary'},2025-03,242{',' if header.endswith('n') else ''}\n")
        assert read.kind is MEASURES, header  # type: ignore[attr-defined]
        assert read.rows_stored == 1  # type: ignore[attr-defined]
        assert read.table["force"].to_pylist() == ["Cambridgeshire Constabulary"]  # type: ignore[attr-defined]


def test_a_file_with_neither_area_nor_area_code_is_refused() -> None:
    with pytest.raises(FileRefused, match="needs an 'area' or 'area_code' column"):
        _read("measure,place,period,value\nspecials,Cambs,2025-03,242\n", "x.csv")


BAD_ROWS = [
    ("hate,E23000023,2017-13,13,,,,,,count,", "bad period '2017-13'"),
    ("hate,E23000023,2017-07,13.5,,,,,,count,", "value '13.5' is a count and must be a whole number"),
    ("hate,E23000023,2017-08,-1,,,,,,count,", "is a count and must be a whole number of at least 0"),
    (",E23000023,2017-07,13,,,,,,count,", "missing measure"),
    ("hate,,2017-07,13,,,,,,count,", "missing area"),
    ("hate,E23000023,,13,,,,,,count,", "missing period"),
    ("calls,E23000023,2025-01,,5,,,,,%,", "numerator and denominator go together"),
    ("calls,E23000023,2025-02,,6,5,,,,%,", "numerator is more than the denominator"),
    ("calls,E23000023,2025-03,,0,0,,,,%,", "denominator '0' must be more than 0"),
    ("calls,E23000023,2025-04,50,9,10,,,,%,", "does not match 100 × numerator / denominator = 90"),
    ("calls,E23000023,2025-05,,,,,,,%,", "missing value"),
    ("safe,E23000023,2025-05,101,,,,,,%,", "is a percentage and must lie between 0 and 100"),
    ("safe,E23000023,2025-06,95,,,0,,,%,", "n '0' must be at least 1"),
    ("safe,E23000023,2025-07,ninety,,,,,,%,", "value 'ninety' is not a number"),
    ("safe,E23000023,2025-08,95,,,,,,%,sideways", "direction 'sideways' is not higher_is_better"),
]


def test_every_bad_row_is_quarantined_with_its_reason() -> None:
    good = "calls,E23000023,2025-06,92.1,921,1000,,,,%,higher_is_better\n"
    body = good + "".join(line + "\n" for line, _ in BAD_ROWS)
    read = _read(HEADER.replace("area,", "area_code,") + body)
    assert read.rows_read == 1 + len(BAD_ROWS) == read.rows_stored + len(read.bad)  # type: ignore[attr-defined]
    assert read.rows_stored == 1  # type: ignore[attr-defined]
    reasons = {b.line: b.reason for b in read.bad}  # type: ignore[attr-defined]
    raws = {b.line: b.raw for b in read.bad}  # type: ignore[attr-defined]
    for line, (raw, expected) in enumerate(BAD_ROWS, start=3):
        assert expected in reasons[line], (line, reasons[line])
        assert raws[line] == raw  # the line as written, to fix at source


def test_a_period_twice_in_a_file_keeps_the_first() -> None:
    text = HEADER + "hate,Cambridgeshire,2017-06,131,,,,,,count,\nhate,Cambridgeshire,Jun 2017,131,,,,,,count,\nhate,Cambridgeshire,2017-06,130,,,,,,count,\n"
    read = _read(text)
    assert read.rows_stored == 1 and len(read.bad) == 2  # type: ignore[attr-defined]
    reasons = [b.reason for b in read.bad]  # type: ignore[attr-defined]
    assert "also on line 2" in reasons[0] and "also on line 2" in reasons[1]


def test_idempotent_and_a_newer_version_replaces_the_period(store: Store, tmp_path: Path) -> None:
    first = _write(tmp_path, "v1.csv", HEADER + "overdue,Cambridgeshire Constabulary,2025-Q3,,66,400,,,,%,lower\n"
                   "overdue,Cambridgeshire Constabulary,2025-Q4,,60,403,,,,%,lower\n")
    assert ingest(store, [first]).files[0].rows_stored == 2
    again = ingest(store, [first])
    assert again.files[0].status == "skipped" and store.count("measures") == 2
    # the corrected Q4 (written as a financial quarter, the area by its code: the same
    # months, the same area) replaces the old Q4 only
    second = _write(tmp_path, "v2.csv", HEADER + "overdue,E23000023,2025/26 Q3,,56,403,,,,%,lower\n")
    outcome = ingest(store, [second]).files[0]
    assert outcome.rows_replaced == 1 and store.count("measures") == 2
    rows = store.con.execute("SELECT area_key, period_label, numerator FROM measures ORDER BY period_start").fetchall()
    assert rows == [("E23000023", "2025-Q3", 66.0), ("E23000023", "2025/26 Q3", 56.0)]
    # replace the rest of v1's rows: v1 becomes superseded
    third = _write(tmp_path, "v3.csv", HEADER + "overdue,cambridgeshire,2025-Q3,,65,400,,,,%,lower\n")
    outcome = ingest(store, [third]).files[0]
    assert outcome.rows_replaced == 1 and any("v1.csv" in n for n in outcome.notes)
    status = dict(store.con.execute("SELECT file, status FROM ingest_log").fetchall())
    assert status[str(first)] == "superseded" and status[str(second)] == "stored"
    # an area thrv does not know keeps its name as its identity
    other = _write(tmp_path, "v5.csv", HEADER + "overdue,Fenland CSP area,2025-Q3,,1,4,,,,%,lower\n")
    ingest(store, [other])
    keys = {r[0] for r in store.con.execute("SELECT DISTINCT area_key FROM measures").fetchall()}
    assert keys == {"E23000023", "Fenland CSP area"}


def test_one_transaction_per_file(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, "t.csv", HEADER + "hate,E23000023,2017-06,131,,,,,,count,\nhate,E23000023,2017-13,1,,,,,,count,\n")

    def fail(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("thrv.store.writer._insert_quarantine", fail)
    with pytest.raises(OSError, match="disk full"):
        ingest(store, [path])
    assert store.count("measures") == 0
    assert store.con.execute("SELECT count(*) FROM ingest_log").fetchall()[0][0] == 0


def test_percentages_with_n_get_their_numerator(tmp_path: Path) -> None:
    read = _read(HEADER + "safe,Cambridgeshire,2025-12,95.8,,,250,,,%,higher\n")
    row = read.table.to_pylist()[0]  # type: ignore[attr-defined]
    assert row["figure_type"] == "proportion" and row["numerator"] == 240 and row["denominator"] == 250
    assert row["value"] == 95.8  # the published figure is kept as published
    assert any("value × n / 100" in n for n in read.notes)  # type: ignore[attr-defined]


def test_derived_columns() -> None:
    read = _read(HEADER + "t,Peterborough,2024/25,,50,239,,England and Wales,25.9,%,lower_is_better\n")
    row = read.table.to_pylist()[0]  # type: ignore[attr-defined]
    assert row["force"] == "Cambridgeshire Constabulary"  # Peterborough is a district of the force
    assert (row["period_type"], row["period_start"], row["period_end"], row["month"]) == (
        "financial_year", dt.date(2024, 4, 1), dt.date(2025, 3, 31), dt.date(2025, 3, 1))
    assert row["value"] == pytest.approx(100 * 50 / 239)
    assert row["area_key"] == "E06000031"  # Peterborough's district code
    assert row["measure_key"] == "t|E06000031|2024-04-01|2025-03-31"


def test_force_of_area() -> None:
    assert force_of_area("E23000023") == "Cambridgeshire Constabulary"
    assert force_of_area("cambridgeshire") == "Cambridgeshire Constabulary"
    assert force_of_area("Northumbria Police") == "Northumbria Police"
    assert force_of_area("E07000008") == "Cambridgeshire Constabulary"  # Cambridge
    assert force_of_area("England and Wales") == ""


# -- periods --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "kind", "start", "end", "label"),
    [
        ("2025-03", "month", "2025-03-01", "2025-03-31", "2025-03"),
        ("Mar 2025", "month", "2025-03-01", "2025-03-31", "2025-03"),
        ("september 2024", "month", "2024-09-01", "2024-09-30", "2024-09"),
        ("2024-02", "month", "2024-02-01", "2024-02-29", "2024-02"),
        ("2025-Q1", "quarter", "2025-01-01", "2025-03-31", "2025-Q1"),
        ("Q4 2025", "quarter", "2025-10-01", "2025-12-31", "2025-Q4"),
        ("2024/25 Q4", "quarter", "2025-01-01", "2025-03-31", "2024/25 Q4"),
        ("Q1 2025/26", "quarter", "2025-04-01", "2025-06-30", "2025/26 Q1"),
        ("2024/25", "financial_year", "2024-04-01", "2025-03-31", "2024/25"),
        ("FY2024-25", "financial_year", "2024-04-01", "2025-03-31", "2024/25"),
        ("2024/2025", "financial_year", "2024-04-01", "2025-03-31", "2024/25"),
        ("1999/00", "financial_year", "1999-04-01", "2000-03-31", "1999/00"),
        ("2024-25", "financial_year", "2024-04-01", "2025-03-31", "2024/25"),
        ("2011-12", "month", "2011-12-01", "2011-12-31", "2011-12"),  # a month, not 2011/12
        ("2025", "year", "2025-01-01", "2025-12-31", "2025"),
        ("2025-03-31", "date", "2025-03-31", "2025-03-31", "2025-03-31"),
        ("31/03/2025", "date", "2025-03-31", "2025-03-31", "2025-03-31"),
    ],
)
def test_period_forms(text: str, kind: str, start: str, end: str, label: str) -> None:
    p = parse_period(text)
    assert p is not None
    assert (p.type, p.start.isoformat(), p.end.isoformat(), p.label) == (kind, start, end, label)


@pytest.mark.parametrize("text", ["", "2025-13", "2024/26", "Q5 2025", "31/02/2025", "next year", "2025-1", "1899"])
def test_not_periods(text: str) -> None:
    assert parse_period(text) is None


@given(st.integers(1980, 2999), st.integers(1, 12))
def test_months_round_trip(year: int, month: int) -> None:
    p = parse_period(f"{year:04d}-{month:02d}")
    assert p is not None and p.type == "month" and p.start == dt.date(year, month, 1)
    assert (p.end + dt.timedelta(days=1)).day == 1 and p.end.month == month
    assert parse_period(p.label) == p


@given(st.integers(1980, 2998), st.integers(1, 4))
def test_financial_quarters_lie_inside_their_year(year: int, q: int) -> None:
    fy = parse_period(f"{year}/{(year + 1) % 100:02d}")
    p = parse_period(f"{year}/{(year + 1) % 100:02d} Q{q}")
    assert fy is not None and p is not None
    assert fy.start <= p.start <= p.end <= fy.end
    assert (p.end.year * 12 + p.end.month) - (p.start.year * 12 + p.start.month) == 2
    calendar = parse_period(f"{p.start.year}-Q{(p.start.month - 1) // 3 + 1}")
    assert calendar is not None and (calendar.start, calendar.end) == (p.start, p.end)


@given(st.text(max_size=12))
def test_any_text_parses_or_is_refused(text: str) -> None:
    p = parse_period(text)
    assert p is None or p.start <= p.end


def test_the_generated_measures_load_cleanly_and_say_so(plan_store: Path) -> None:
    from thrv.store.status import store_status

    with Store(plan_store, read_only=True) as store:
        log = store.con.execute("SELECT rows_read, rows_stored, rows_quarantined FROM ingest_log WHERE kind = 'measures'").fetchall()
        assert log and log[0][0] == log[0][1] and log[0][2] == 0
        assert store.con.execute("SELECT count(*) FROM measures WHERE NOT generated").fetchall()[0][0] == 0
        notes = {r[0][:10] for r in store.con.execute("SELECT DISTINCT note FROM measures").fetchall()}
        assert notes == {"GENERATED:"}
        tables = store_status(store).tables.set_index("table")
        assert tables.loc["measures", "rows"] == tables.loc["measures", "generated_rows"] == log[0][1]


def test_every_measures_column_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "plan.md").read_text(encoding="utf-8")
    for column in MEASURES.columns:
        assert f"`{column.name}`" in doc, column.name
    for column in MEASURES.added:
        assert f"`{column.name}`" in doc, column.name


_cell = st.one_of(st.just(""), st.integers(-5, 500).map(str), st.floats(-5, 500, allow_nan=False).map(lambda v: f"{v:.2f}"), st.sampled_from(["x", "1e3", " 7 "]))
_period = st.one_of(st.sampled_from(["2025-03", "2025-Q1", "2024/25", "2025", "2025-03-31", "2025-13", "", "soon"]))


@settings(deadline=None, max_examples=60)  # the first example loads the area lookups
@given(st.lists(st.tuples(st.sampled_from(["a", "b", ""]), st.sampled_from(["E23000023", "", "Fenland"]), _period,
                          _cell, _cell, _cell, _cell, st.sampled_from(["", "%", "count", "hours"])), min_size=1, max_size=25))
def test_any_feed_reconciles_and_keeps_its_figures(rows: list[tuple[str, ...]]) -> None:
    text = "measure,area,period,value,numerator,denominator,n,unit\n" + "".join(",".join(r) + "\n" for r in rows)
    read = _read(text)
    assert read.rows_read == len(rows) == read.rows_stored + len(read.bad)  # type: ignore[attr-defined]
    assert all(b.reason for b in read.bad)  # type: ignore[attr-defined]
    for r in read.table.to_pylist():  # type: ignore[attr-defined]
        assert r["measure"] and r["area_key"] and r["period_start"] <= r["period_end"]
        if r["figure_type"] == "proportion":
            assert 0 <= r["numerator"] <= r["denominator"] and r["denominator"] > 0
            assert 0 <= r["value"] <= 100 + 1e-9
        elif r["figure_type"] == "count":
            assert r["value"] >= 0 and float(r["value"]).is_integer()
        else:
            assert r["value"] is not None
    keys = read.table["measure_key"].to_pylist()  # type: ignore[attr-defined]
    assert len(keys) == len(set(keys))  # one figure per measure, area and period
