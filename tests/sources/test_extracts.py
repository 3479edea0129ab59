"""Force extracts (calls, incidents, recorded crimes, surveys): typed, checked, derived, quarantined.

Small hand-written files whose every derived value is worked out by hand in the test, so a
wrong rule shows up as a wrong number rather than a plausible one. No force publishes these
records: the fixtures are invented and say so; the simulator's output is tested in
tests/demand.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thrv.ingest import FileRead, ingest, read_file
from thrv.sources.csvtext import FileRefused
from thrv.sources.files import SourceFile
from thrv.sources.mapping import MappingError, load_mapping, parse_mapping
from thrv.sources.registry import all_kinds
from thrv.store.database import Store

UTC = dt.UTC


def _read(name: str, text: str, **kwargs: object) -> FileRead:
    data = textwrap.dedent(text).lstrip().encode("utf-8")
    return read_file(SourceFile(name, lambda: data), **kwargs)  # type: ignore[arg-type]


def _reasons(read: FileRead) -> dict[int, str]:
    return {b.line: b.reason for b in read.bad}


def _rows(read: FileRead) -> list[dict[str, object]]:
    return read.table.to_pylist()


# -- calls -------------------------------------------------------------------------------

CALLS = """
    call_id,line,offered_at,answered_at,abandoned,force
    C1,999,2024-07-01 10:00:00,2024-07-01 10:00:05,,Cambridgeshire Constabulary
    C2,999,2024-07-01 10:01:00,2024-07-01 10:01:10,,Cambridgeshire Constabulary
    C3,999,2024-07-01 10:02:00,2024-07-01 10:02:11,,Cambridgeshire Constabulary
    C4,999,2024-07-01 10:03:00,,,Cambridgeshire Constabulary
    C5,101,2024-07-01 10:04:00,2024-07-01 10:04:30,false,Cambridgeshire Constabulary
    C6,101,2024-07-01 10:05:00,2024-07-01 10:05:31,,Cambridgeshire Constabulary
    C7,101,2024-07-01 10:06:00,,true,Cambridgeshire Constabulary
    C8,online,2024-07-01 10:07:00,,,Cambridgeshire Constabulary
"""


def test_calls_answer_times_and_grade_of_service_by_hand() -> None:
    read = _read("calls.csv", CALLS)
    assert read.kind.table == "calls"
    assert read.rows_stored == 8
    assert not read.bad
    rows = {r["call_id"]: r for r in _rows(read)}
    # 5 s, 10 s (exactly 10 counts as within), 11 s; C4 never answered -> abandoned
    assert [rows[c]["answer_seconds"] for c in ("C1", "C2", "C3", "C4")] == [5.0, 10.0, 11.0, None]
    assert [rows[c]["answered_within_10s"] for c in ("C1", "C2", "C3", "C4")] == [True, True, False, False]
    assert rows["C4"]["abandoned"] is True
    assert rows["C1"]["abandoned"] is False
    # 101: 30 s is within 30, 31 s is not; an abandoned call is not within
    assert [rows[c]["answered_within_30s"] for c in ("C5", "C6", "C7")] == [True, False, False]
    # grade of service does not apply to online contacts; they are not "abandoned"
    assert rows["C8"]["answered_within_10s"] is None
    assert rows["C8"]["abandoned"] is False
    # 999 within 10 s = 2 of 4 offered; 101 within 30 s = 1 of 3 offered; 999 abandoned 1 of 4
    gos_999 = sum(r["answered_within_10s"] for r in _rows(read) if r["line"] == "999") / 4
    assert gos_999 == 0.5
    assert rows["C1"]["month"] == dt.date(2024, 7, 1)
    assert rows["C1"]["hour"] == 10
    assert rows["C1"]["weekday"] == 0
    assert rows["C1"]["generated"] is False


def test_call_times_are_uk_local_and_the_month_is_the_local_month() -> None:
    # 23:30 UTC on 31 March 2024 is 00:30 BST on 1 April: an April call, hour 0, Monday
    read = _read(
        "calls.csv",
        """
        call_id,line,offered_at,answered_at,force
        C1,999,2024-03-31T23:30:00+00:00,2024-03-31T23:30:04+00:00,Cambridgeshire Constabulary
        C2,999,2024-03-31 23:30:00,2024-03-31 23:30:04,Cambridgeshire Constabulary
        """,
    )
    first, second = _rows(read)
    assert first["offered_at"] == dt.datetime(2024, 3, 31, 23, 30, tzinfo=UTC)
    assert (first["month"], first["hour"], first["weekday"]) == (dt.date(2024, 4, 1), 0, 0)
    # a time without an offset is UK local time: 23:30 BST = 22:30 UTC, still March
    assert second["offered_at"] == dt.datetime(2024, 3, 31, 22, 30, tzinfo=UTC)
    assert second["month"] == dt.date(2024, 3, 1)


def test_calls_quarantine_impossible_rows_with_reasons() -> None:
    read = _read(
        "calls.csv",
        """
        call_id,line,offered_at,answered_at,abandoned,force
        C1,999,2024-07-01 10:00:00,2024-07-01 09:59:00,,Cambridgeshire Constabulary
        C2,pigeon,2024-07-01 10:00:00,,,Cambridgeshire Constabulary
        C3,999,2024-07-01 10:00:00,2024-07-01 10:00:03,true,Cambridgeshire Constabulary
        C4,999,2024-07-01 10:00:00,2024-07-03 10:00:03,,Cambridgeshire Constabulary
        C5,999,yesterday,,,Cambridgeshire Constabulary
        C6,999,2024-07-01 10:00:00,2024-07-01 10:00:03,,Cambridgeshire Constabulary
        C6,999,2024-07-01 10:00:00,2024-07-01 10:00:03,,Cambridgeshire Constabulary
        C6,999,2024-07-01 10:00:00,2024-07-01 10:00:09,,Cambridgeshire Constabulary
        """,
    )
    assert read.rows_read == 8
    assert read.rows_stored == 1
    assert read.rows_read == read.rows_stored + len(read.bad)
    assert _reasons(read) == {
        2: "answered_at '2024-07-01 09:59:00' is before offered_at",
        3: "line 'pigeon' is not 999, 101, online or other (map your force's codes with [calls.values.line])",
        4: "abandoned is true but the call has an answered_at time",
        5: "answered_at '2024-07-03 10:00:03' is more than 24 hours after offered_at",
        6: "bad offered_at 'yesterday' (expected an ISO 8601 date and time)",
        8: "duplicate row: identical to line 7",
        9: "call_id 'C6' is also on line 7 with different values (an identifier must be unique within a file)",
    }
    assert read.bad[0].raw == "C1,999,2024-07-01 10:00:00,2024-07-01 09:59:00,,Cambridgeshire Constabulary"


def test_uk_day_first_dates_are_read() -> None:
    read = _read(
        "calls.csv",
        """
        call_id,line,offered_at,answered_at,force
        C1,999,03/07/2024 14:05,3/7/2024 14:05:09,Cambridgeshire Constabulary
        """,
    )
    [row] = _rows(read)
    assert row["offered_at"] == dt.datetime(2024, 7, 3, 13, 5, tzinfo=UTC)  # 14:05 BST
    assert row["answer_seconds"] == 9.0


def test_force_comes_from_the_file_else_from_force_option() -> None:
    text = """
        call_id,line,offered_at,answered_at
        C1,999,2024-07-01 10:00:00,2024-07-01 10:00:05
    """
    with pytest.raises(FileRefused, match=r"cannot tell which force.*pass --force"):
        _read("calls.csv", text)
    [row] = _rows(_read("calls.csv", text, force_name="cambridgeshire"))
    assert row["force"] == "Cambridgeshire Constabulary"  # published name, as data.police.uk
    read = _read(
        "calls.csv",
        """
        call_id,line,offered_at,answered_at,force
        C1,999,2024-07-01 10:00:00,2024-07-01 10:00:05,
        C2,999,2024-07-01 10:00:00,2024-07-01 10:00:05,Cambridgeshire
        """,
    )
    assert _reasons(read) == {2: "missing force (give a force column or pass --force)"}
    assert _rows(read)[0]["force"] == "Cambridgeshire Constabulary"


# -- incidents ---------------------------------------------------------------------------

INCIDENTS = """
    incident_id,created_at,grade,opening_category,closing_category,district,lsoa_code,first_arrival_at,force
    I1,2024-07-01 10:00:00,Grade 1,Concern for welfare,Crime,,E01017966,2024-07-01 10:17:00,Cambridgeshire Constabulary
    I2,2024-07-01 11:00:00,prompt,ASB,,Fenland,,2024-07-01 12:30:30,Cambridgeshire Constabulary
    I3,2024-07-01 12:00:00,resolved without deployment,Lost dog,,,,,Cambridgeshire Constabulary
    I4,2024-10-27 00:50:00+01:00,immediate,RTC,road traffic,,,2024-10-27 01:05:00+00:00,Cambridgeshire Constabulary
"""


def test_incidents_response_minutes_categories_and_districts_by_hand() -> None:
    read = _read("incidents.csv", INCIDENTS)
    assert not read.bad
    rows = {r["incident_id"]: r for r in _rows(read)}
    i1, i2, i3, i4 = (rows[k] for k in ("I1", "I2", "I3", "I4"))
    assert (i1["grade"], i1["opening_category"], i1["category"]) == ("immediate", "concern_for_welfare", "crime")
    assert (i1["is_crime"], i1["recategorised"], i1["category_group"]) == (True, True, "crime")
    assert i1["response_minutes"] == 17.0
    assert (i1["district_code"], i1["district_name"]) == ("E07000008", "Cambridge")  # from the LSOA
    assert (i2["category"], i2["is_crime"], i2["response_minutes"]) == ("asb", False, 90.5)
    assert i2["district_name"] == "Fenland"  # from the district named
    assert (i3["category"], i3["category_group"], i3["is_crime"]) == ("Lost dog", "unmapped", None)
    assert i3["response_minutes"] is None
    assert i3["attended"] is False
    # across the clocks going back: 00:50 BST = 23:50 UTC; 01:05 GMT = 01:05 UTC -> 75 minutes
    assert i4["response_minutes"] == 75.0
    assert i4["category_group"] == "transport"
    assert any("'Lost dog'" in n for n in read.notes)


def test_incidents_quarantine_unknown_grades_and_arrivals_before_creation() -> None:
    read = _read(
        "incidents.csv",
        """
        incident_id,created_at,grade,opening_category,first_arrival_at,force
        I1,2024-07-01 12:00:00,G9,crime,,Cambridgeshire Constabulary
        I2,2024-07-01 12:00:00,immediate,crime,2024-07-01 11:00:00,Cambridgeshire Constabulary
        I3,2024-07-01 12:00:00,immediate,crime,2024-08-11 11:00:00,Cambridgeshire Constabulary
        I4,2024-07-01 12:00:00,immediate,,2024-07-01 12:10:00,Cambridgeshire Constabulary
        """,
    )
    assert read.rows_stored == 0
    assert _reasons(read) == {
        2: "grade 'G9' is not immediate, prompt, scheduled or resolved_without_deployment (map your force's grades with [incidents.values.grade])",
        3: "first_arrival_at '2024-07-01 11:00:00' is before created_at",
        4: "first_arrival_at '2024-08-11 11:00:00' is more than 31 days after created_at",
        5: "missing opening_category",
    }


# -- recorded crimes ---------------------------------------------------------------------


def test_force_crimes_offence_codes_flags_and_outcomes() -> None:
    read = _read(
        "force_crimes.csv",
        """
        crime_id,offence_code,recorded_at,committed_from,lsoa_code,victim_id,suspect_id,domestic_abuse,hate,outcome_type,outcome_date,force
        K1,008N,2024-07-01 10:00,2024-06-30,E01017966,V1,S1,true,,Outcome 1,2024-08-01,Cambridgeshire
        K2,28E,2024-07-02 10:00,2024-07-01,E01017966,V2,,,,18,2024-07-05,Cambridgeshire
        K3,999Z,2024-07-02 10:00,,,,,,,,,Cambridgeshire
        K4,44,2024-07-02 10:00,2024-07-03,,,,,,,,Cambridgeshire
        K5,44,2024-07-02 10:00,,,,,,,,2024-07-01,Cambridgeshire
        K6,46,2024-07-02 10:00,,,,,,,Charged/summonsed,,Cambridgeshire
        """,
    )
    rows = {r["crime_id"]: r for r in _rows(read)}
    assert (rows["K1"]["offence_code"], rows["K1"]["crime_type"]) == ("8N", "Violence and sexual offences")
    assert (rows["K1"]["outcome_code"], rows["K1"]["outcome_group"], rows["K1"]["days_to_outcome"]) == ("1", "charged_summonsed", 31.0)
    assert (rows["K2"]["crime_type"], rows["K2"]["outcome_group"], rows["K2"]["days_to_outcome"]) == ("Burglary", "no_suspect", 3.0)
    assert rows["K1"]["domestic_abuse"] is True
    assert rows["K2"]["domestic_abuse"] is False
    assert rows["K3"]["crime_type"] is None
    assert rows["K3"]["outcome_group"] == "open"
    assert rows["K6"]["outcome_group"] == "charged_summonsed"
    assert rows["K6"]["outcome_code"] is None
    assert _reasons(read) == {
        5: "committed_from '2024-07-03' is after recorded_at",
        6: "outcome_date '2024-07-01' is before the crime was recorded",
    }
    assert any("999Z" in n for n in read.notes)


# -- surveys -----------------------------------------------------------------------------


def test_survey_answers_are_scored_on_their_scales() -> None:
    read = _read(
        "survey_responses.csv",
        """
        response_id,survey,responded_at,area,question,answer,scale,force
        R1,victim satisfaction,2024-07-03,Peterborough,whole experience,Very satisfied,,Cambridgeshire
        R2,victim_satisfaction,03/07/2024,Peterborough,ease of contact,4,satisfaction_7,Cambridgeshire
        R3,public confidence,2024-07-03 10:00,E07000008,good job,Fair,,Cambridgeshire
        R4,public confidence,2024-07-03,E07000008,good job,Don't know,,Cambridgeshire
        R5,public confidence,2024-07-03,E07000008,good job,3,,Cambridgeshire
        R6,public confidence,2024-07-03,E07000008,good job,meh,,Cambridgeshire
        R7,gossip,2024-07-03,E07000008,good job,Good,,Cambridgeshire
        R8,public confidence,2024-07-03,E07000008,confidence,Tend to agree,,Cambridgeshire
        """,
    )
    rows = {r["response_id"]: r for r in _rows(read)}
    assert (rows["R1"]["question"], rows["R1"]["answer_score"], rows["R1"]["positive"]) == ("whole_experience", 2, True)
    assert (rows["R2"]["answer_score"], rows["R2"]["positive"]) == (4, False)  # neither: not satisfied
    assert (rows["R3"]["positive"], rows["R3"]["scored"]) == (False, True)
    assert (rows["R4"]["positive"], rows["R4"]["scored"]) == (None, False)  # kept, not in the base
    assert rows["R8"]["positive"] is True
    assert rows["R1"]["month"] == dt.date(2024, 7, 1)
    assert rows["R2"]["responded_at"] == dt.date(2024, 7, 3)
    assert rows["R3"]["district_name"] == "Cambridge"
    reasons = _reasons(read)
    assert set(reasons) == {6, 7, 8}
    assert reasons[6] == "answer '3' is a number, so the file needs a scale column saying which scale"
    assert reasons[8].startswith("survey 'gossip' is not victim_satisfaction or public_confidence")


# -- column mapping ----------------------------------------------------------------------

FORCE_CALLS = """
    Call Ref,Call Type,Presented Time,Answer Time,Force
    A1,EMERG,2024-07-01 10:00:00,2024-07-01 10:00:07,Cambridgeshire
    A2,NON-EMERG,2024-07-01 10:00:00,2024-07-01 10:01:07,Cambridgeshire
"""


def test_a_mapping_file_renames_headings_and_codes(tmp_path: Path) -> None:
    path = tmp_path / "mapping.toml"
    path.write_text(
        textwrap.dedent(
            """
            [calls]
            call_id = "Call Ref"
            line = "Call Type"
            offered_at = "Presented Time"
            answered_at = "Answer Time"

            [calls.values.line]
            EMERG = "999"
            "non emerg" = "101"
            """
        )
    )
    mapping = load_mapping(path)
    with pytest.raises(FileRefused, match=r"not a known kind.*needs a column mapping"):
        _read("export.csv", FORCE_CALLS)
    read = _read("export.csv", FORCE_CALLS, mapping=mapping)
    assert read.kind.name == "calls"
    assert not read.bad
    assert [(r["call_id"], r["line"], r["answer_seconds"]) for r in _rows(read)] == [("A1", "999", 7.0), ("A2", "101", 67.0)]


def test_a_mapped_heading_missing_from_the_file_is_named() -> None:
    mapping = parse_mapping({"calls": {"offered_at": "Time Offered", "files": ["*callstats*"]}}, "m.toml", all_kinds())
    with pytest.raises(FileRefused, match=r"lacks column\(s\): 'offered_at' \(mapped from 'Time Offered', not in the file\)"):
        _read("CallStats July.csv", "call_id,line,answered_at\nA,999,2024-07-01 10:00:00\n", mapping=mapping)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"cals": {"call_id": "Ref"}}, r"\[cals\] is not a kind of file"),
        ({"calls": {"caller": "Ref"}}, r"'caller' is not a column of force calls extract"),
        ({"calls": {"call_id": 3}}, r"call_id must be the heading in your file"),
        ({"calls": {"call_id": "Ref", "line": "ref"}}, "maps two columns to the same heading"),
        ({"calls": {"values": {"colour": {"a": "b"}}}}, r"'colour' is not a column"),
    ],
)
def test_mapping_mistakes_are_reported_when_loaded(doc: dict[str, object], message: str) -> None:
    with pytest.raises(MappingError, match=message):
        parse_mapping(doc, "m.toml", all_kinds())


# -- in the store ------------------------------------------------------------------------


def test_a_corrected_extract_replaces_rows_by_id_and_reingest_is_a_no_op(store: Store, tmp_path: Path) -> None:
    first = tmp_path / "a" / "calls.csv"
    first.parent.mkdir()
    first.write_text(textwrap.dedent(CALLS).lstrip())
    assert ingest(store, [first]).ok
    assert store.count("calls") == 8
    corrected = tmp_path / "b" / "calls.csv"
    corrected.parent.mkdir()
    corrected.write_text(
        "call_id,line,offered_at,answered_at,force\n"
        "C3,999,2024-07-01 10:02:00,2024-07-01 10:02:04,Cambridgeshire Constabulary\n"
        "C9,101,2024-07-02 09:00:00,2024-07-02 09:00:20,Cambridgeshire Constabulary\n"
    )
    report = ingest(store, [corrected, first])
    assert report.files[0].rows_replaced == 1
    assert report.files[1].status == "skipped"
    assert store.count("calls") == 9
    got = store.df("SELECT answer_seconds, answered_within_10s FROM calls WHERE call_id = 'C3'")
    assert got.iloc[0].tolist() == [4.0, True]
    log = store.df("SELECT rows_read, rows_stored, rows_quarantined FROM ingest_log WHERE status <> 'refused'")
    assert (log["rows_read"] == log["rows_stored"] + log["rows_quarantined"]).all()


_CELLS = st.sampled_from(["", "999", "2024-13-01 10:00", "abc", "2024-07-01 09:00:00", "true", '"', "x,y", "C1"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(damage=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 5), _CELLS), max_size=8))
def test_property_damaged_extracts_reconcile(damage: list[tuple[int, int, str]]) -> None:
    lines = textwrap.dedent(CALLS).strip().splitlines()
    body = [line.split(",") for line in lines[1:]]
    for row, column, value in damage:
        body[row][column] = value
    text = "\n".join([lines[0], *(",".join(r) for r in body)]) + "\n"
    read = read_file(SourceFile("calls.csv", lambda: text.encode()))
    # the reference count of records: what a person counts, one per non-blank line (no value
    # here spans lines, so a stray quote must not join lines as Python's csv module would)
    records = [line for line in text.splitlines() if line.strip() not in ("", '""')]
    assert read.rows_read == read.rows_stored + len(read.bad) == len(records) - 1
    assert all(b.reason for b in read.bad)
    assert read.table.column("call_id").null_count == 0
    assert len(set(read.table.column("call_id").to_pylist())) == read.rows_stored


def test_schema_doc_lists_every_extract_column() -> None:
    """docs/schema.md documents every column (read and derived) of every force extract."""
    from tests.conftest import ROOT
    from thrv.sources.extracts import EXTRACT_KINDS

    doc = (ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    for kind in EXTRACT_KINDS:
        start = doc.index(f"### `{kind.table}`")
        end = doc.find("\n### ", start + 1)
        section = doc[start : end if end > 0 else None]
        for column in (*kind.columns, *kind.added):
            assert f"| `{column.name}` |" in section, (kind.table, column.name)
