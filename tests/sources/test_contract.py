"""The ingest contract, end to end through `thrv ingest`, for every damaged input known.

`thrv ingest` exits 1 (never a traceback) when some files are refused and 0 when all are
stored; each refused file is one line naming it (and its archive member); the files beside
it still load; rows read = stored + quarantined in every case, for force files and for
partner files alike. The inputs are real rows (the bundled sample, the real partner sample)
damaged in the ways that once ended a whole run.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.conftest import real_lines
from tests.sources.test_files import _patch_headers, _zip
from thrv.store.database import Store

ROOT = Path(__file__).resolve().parents[2]
PARTNER = ROOT / "data" / "partner-sample"
THRV = [sys.executable, "-c", "import sys; from thrv.cli import app; sys.argv[0] = 'thrv'; app()"]


def _street(n: int = 40, month: str = "2024-01") -> bytes:
    return "".join(real_lines(month, n=n)).encode("utf-8")


def _damaged_street() -> tuple[bytes, int]:
    """40 real rows: one opens a quote it never closes, one has a NaN longitude (2 quarantined)."""
    lines = real_lines("2024-01", n=40)
    lines[4] = lines[4].replace(",", ',"', 1)  # a stray opening quote in the second field
    fields = lines[8].split(",")
    fields[4] = "NaN"  # Longitude
    lines[8] = ",".join(fields)
    return "".join(lines).encode("utf-8"), 40


def _bad_inputs(folder: Path) -> list[str]:
    """Write every known damaged input; return the names the refusals must give."""
    names: list[str] = []
    for month in ("2024-13", "2024-00", "0000-01", "2999-12"):  # impossible and future months
        path = folder / f"{month}-cambridgeshire-street.csv"
        path.write_bytes(_street(5))
        names.append(str(path))
    gz = bytearray(gzip.compress(_street(200)))
    gz[len(gz) // 2 : len(gz) // 2 + 16] = b"\x00" * 16
    (folder / "2024-02-cambridgeshire-street.csv.gz").write_bytes(bytes(gz))
    names.append(str(folder / "2024-02-cambridgeshire-street.csv.gz"))
    member = "2024-03/2024-03-cambridgeshire-street.csv"
    crc = _zip(folder / "crc.zip", {member: _street(100, "2024-03")}, zipfile.ZIP_STORED)
    data = bytearray(crc.read_bytes())
    at = data.find(b"Falls within") + 200
    data[at] = ord("X") if data[at] != ord("X") else ord("Y")
    crc.write_bytes(bytes(data))
    names.append(f"{crc}!{member}")
    locked = _zip(folder / "locked.zip", {member: _street(20, "2024-03")})
    _patch_headers(locked, 6, 8, 0x1, mask=True)
    names.append(f"{locked}!{member}")
    deflate64 = _zip(folder / "windows.zip", {member: _street(20, "2024-03")})
    _patch_headers(deflate64, 8, 10, 9)
    names.append(f"{deflate64}!{member}")
    corrupt = _zip(folder / "corrupt.zip", {member: _street(300, "2024-03")})
    data = bytearray(corrupt.read_bytes())
    start = data.find(b"street.csv") + len(b"street.csv") + 40
    data[start : start + 64] = bytes(range(64))
    corrupt.write_bytes(bytes(data))
    names.append(f"{corrupt}!{member}")
    bomb = _zip(folder / "bomb.zip", {"2024-04-cambridgeshire-street.csv": b"a,b\n" + b"1,2\n" * (4 << 20)})
    names.append(f"{bomb}!2024-04-cambridgeshire-street.csv")
    (folder / "broken.zip").write_bytes(b"PK\x03\x04garbage")
    names.append(str(folder / "broken.zip"))
    twice = real_lines("2024-05", n=5)
    twice[0] = twice[0].rstrip("\r\n") + ",Crime_ID\n"  # "Crime ID" and "Crime_ID" are one column
    (folder / "2024-05-cambridgeshire-street.csv").write_text("".join(twice), encoding="utf-8")
    names.append(str(folder / "2024-05-cambridgeshire-street.csv"))
    return names


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*THRV, *args], capture_output=True, text=True, timeout=300, env=env)


def _log_reconciles(db: Path) -> tuple[int, int, int]:
    with Store(db, read_only=True) as store:
        read, stored, quarantined = (int(v) for v in store.con.execute(
            "SELECT sum(rows_read), sum(rows_stored), sum(rows_quarantined) FROM ingest_log WHERE status <> 'refused'"
        ).fetchall()[0])
        assert read == stored + quarantined
        assert store.count("quarantine") == quarantined
        return read, stored, quarantined


def test_every_damaged_input_is_one_line_the_rest_loads_and_the_exit_code_is_1(tmp_path: Path) -> None:
    folder = tmp_path / "inputs"
    folder.mkdir()
    refused = _bad_inputs(folder)
    good, rows = _damaged_street()
    (folder / "2024-01-cambridgeshire-street.csv").write_bytes(good)
    db = tmp_path / "contract.duckdb"
    result = _run("ingest", str(folder), "--db", str(db))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("refused: ")]
    assert len(lines) == len(refused)
    for name in refused:  # one line each, naming the file (and member)
        assert sum(line.startswith(f"refused: {name}: ") for line in lines) == 1, (name, lines)
    assert f"{len(refused) + 1} file(s): 1 stored, 0 already in the store, {len(refused)} refused" in result.stdout
    assert f"rows read {rows} = stored {rows - 2} + quarantined 2" in result.stdout
    assert "DOES NOT RECONCILE" not in result.stdout
    assert _log_reconciles(db) == (rows, rows - 2, 2)
    with Store(db, read_only=True) as store:
        assert store.count("crimes") == rows - 2
        reasons = store.df("SELECT line, reason FROM quarantine ORDER BY line")
        assert reasons["line"].tolist() == [5, 9]  # the stray quote stays on its own line
        logged = store.df("SELECT file FROM ingest_log WHERE status = 'refused'")["file"].tolist()
        assert sorted(logged) == sorted(refused)
    # all stored (or already stored): exit 0
    again = _run("ingest", str(folder / "2024-01-cambridgeshire-street.csv"), "--db", str(db))
    assert again.returncode == 0 and "Traceback" not in again.stderr


def _measures(path: Path, extra: str = "") -> Path:
    """The real Defra fly-tipping file (district rows), perhaps with lines added."""
    text = (PARTNER / "defra_flytipping_incidents_cambridgeshire.csv").read_text(encoding="utf-8")
    path.write_text(text.rstrip("\n") + "\n" + extra, encoding="utf-8")
    return path


def test_partner_files_keep_the_same_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import secrets

    env = {**os.environ, "THRV_PROJECT_KEY": secrets.token_hex(32), "THRV_VAULT_KEY": secrets.token_hex(32)}
    env.pop("THRV_KEY_FILE", None)
    folder = tmp_path / "partner"
    folder.mkdir()
    rows = (PARTNER / "defra_flytipping_incidents_cambridgeshire.csv").read_text(encoding="utf-8").splitlines()
    width = rows[0].count(",") + 1
    cambridge = next(r for r in rows if ",E07000008," in r)
    # a stray quote, then a financial year not yet begun: both quarantined, the rest stored
    stray = '"' + cambridge
    future = "2998-99" + cambridge[cambridge.index(","):]
    measures = _measures(folder / "defra_flytipping_incidents_damaged.csv", f"{stray}\n{future}\n")
    people = folder / "people.csv"
    people.write_text(
        "record_id,forename,surname,date_of_birth,postcode,address\n"
        'R1,Ann,Lee,1980-01-02,CB1 2AB,"1 High St\n'  # a quote never closed: its own bad line
        "R2,Bob,Hale,1970-03-04,CB2 3CD,2 Low Rd\n"
        "R3,Cy,Moss,1990-05-06,CB3 4EF,3 Mill Ln\n", encoding="utf-8")
    broken = folder / "fms_lad_month_broken.csv.gz"
    data = bytearray((PARTNER / "fms_lad_month_all_categories_cambridgeshire.csv.gz").read_bytes())
    data[len(data) // 2 : len(data) // 2 + 16] = b"\x00" * 16
    broken.write_bytes(bytes(data))
    (folder / "broken.zip").write_bytes(b"PK\x03\x04garbage")
    db = tmp_path / "partner.duckdb"
    result = _run("ingest", str(folder), "--db", str(db), "--partner", "council",
                  "--mapping", str(PARTNER / "mapping.toml"), env=env)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("refused: ")]
    assert len(lines) == 2
    assert any(line.startswith(f"refused: {broken}: broken gzip data") for line in lines)
    assert any(line.startswith(f"refused: {folder / 'broken.zip'}: ") for line in lines)
    assert "4 file(s): 2 stored, 0 already in the store, 2 refused" in result.stdout
    assert "DOES NOT RECONCILE" not in result.stdout
    read, stored, quarantined = _log_reconciles(db)
    with Store(db, read_only=True) as store:
        log = store.df("SELECT file, rows_read, rows_stored, rows_quarantined FROM ingest_log "
                       "WHERE status = 'stored' ORDER BY file")
        by_file = {Path(f).name: (r, s, q) for f, r, s, q in log.itertuples(index=False)}
        assert by_file["people.csv"] == (3, 2, 1)  # the open quote did not swallow R2 and R3
        lines_in = sum(1 for line in measures.read_text(encoding="utf-8").splitlines()[1:] if line.strip())
        r, s, q = by_file[measures.name]
        assert r == lines_in and r == s + q
        reasons = store.df("SELECT line, reason FROM quarantine WHERE file = ? ORDER BY line",
                           [str(measures)])
        assert reasons["line"].tolist()[-2:] == [lines_in, lines_in + 1]
        stray_reason, future_reason = reasons["reason"].tolist()[-2:]
        assert "quote" in stray_reason or f"expected {width}" in stray_reason
        assert "after the current month" in future_reason
    assert read == stored + quarantined


def test_partner_replacements_keep_the_log_true(store: Store, tmp_path: Path) -> None:
    from thrv.partner_ingest import ingest_partner
    from thrv.sources.partner_mapping import parse_partner_mapping

    mapping = parse_partner_mapping({"measures": [{"dataset": "d", "area": "code", "period": "year",
                                                   "values": {"n": "count of things"}}]}, "m.toml")
    old = tmp_path / "m2019.csv"
    old.write_text("code,year,n\nE07000008,2019,5\nE07000008,2020,6\nE07000008,2021,7\n", encoding="utf-8")
    part = tmp_path / "m2020.csv"
    part.write_text("code,year,n\nE07000008,2020,60\n", encoding="utf-8")
    rest = tmp_path / "m2021.csv"
    rest.write_text("code,year,n\nE07000008,2019,50\nE07000008,2021,70\n", encoding="utf-8")
    ingest_partner(store, [old], "p", mapping=mapping)
    ingest_partner(store, [part], "p", mapping=mapping)
    [(status, current)] = store.con.execute(
        "SELECT status, rows_current FROM ingest_log WHERE file = ?", [str(old)]).fetchall()
    assert (status, current) == ("stored", 2)  # what remains of it, not what it once stored
    ingest_partner(store, [rest], "p", mapping=mapping)
    [(status, current)] = store.con.execute(
        "SELECT status, rows_current FROM ingest_log WHERE file = ?", [str(old)]).fetchall()
    assert (status, current) == ("superseded", 0)
    totals = store.con.execute("SELECT sum(rows_current) FROM ingest_log WHERE status <> 'refused'").fetchall()[0][0]
    assert totals == store.count("partner_measures") == 3


def test_a_partner_incident_dated_after_the_current_month_is_quarantined(store: Store, tmp_path: Path) -> None:
    from thrv.partner_ingest import ingest_partner
    from thrv.sources.partner_mapping import parse_partner_mapping

    mapping = parse_partner_mapping({"incidents": [{"dataset": "fires", "id": "id", "date": "date", "area": "code",
                                                    "level": "district", "category": "type"}]}, "m.toml")
    path = tmp_path / "fires.csv"
    path.write_text("id,date,code,type\n1,2024-05-01,E07000008,fire\n2,2024-07-31,E07000008,fire\n"
                    "3,2024-08-01,E07000008,fire\n", encoding="utf-8")
    [outcome] = ingest_partner(store, [path], "fire", mapping=mapping, today=dt.date(2024, 7, 15)).files
    assert (outcome.rows_read, outcome.rows_stored, outcome.rows_quarantined) == (3, 2, 1)
    [reason] = store.df("SELECT reason FROM quarantine")["reason"].tolist()
    assert "after the current month (2024-07)" in reason


def test_json_report_of_a_refused_partner_file(tmp_path: Path) -> None:
    """--json lists the refused file with its one-line message; exit 1."""
    from thrv.cli import app

    path = tmp_path / "broken.zip"
    path.write_bytes(b"PK\x03\x04garbage")
    result = CliRunner().invoke(app, ["ingest", str(path), "--db", str(tmp_path / "j.duckdb"), "--partner", "council",
                                      "--json"])
    assert result.exit_code == 1, result.output
    files = json.loads(result.stdout)["files"]
    assert [f["status"] for f in files] == ["refused"] and "\n" not in files[0]["message"]


def _mangle(data: st.DataObject, raw: bytearray) -> bytes:
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        action = data.draw(st.sampled_from(["replace", "delete", "insert"]))
        byte = data.draw(st.sampled_from([0x2C, 0x22, 0x0A, 0x0D, 0xE9, 0xFF, 0x41, 0x00, 0x3A]))
        if action == "replace":
            raw[pos] = byte
        elif action == "delete":
            del raw[pos]
        else:
            raw.insert(pos, byte)
    return bytes(raw)


def _physical_records(data: bytes) -> int:
    """Non-blank lines after the header: the records a person counts when no quote is in play."""
    return sum(1 for line in data.splitlines()[1:] if line.strip(b" \t\r\x00"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_mangled_real_partner_files_are_refused_in_one_line_or_every_line_counted(data: st.DataObject) -> None:
    """Byte damage to real partner rows (Defra measures, person records): no other exception."""
    from thrv.sources.csvtext import FileRefused
    from thrv.sources.partner_mapping import load_partner_mapping
    from thrv.sources.partner_measures import read_measures
    from thrv.sources.partner_people import read_people

    section = next(s for s in load_partner_mapping(PARTNER / "mapping.toml").measures if s.dataset == "defra_flytipping")
    defra = "\n".join((PARTNER / "defra_flytipping_incidents_cambridgeshire.csv").read_text(encoding="utf-8")
                      .splitlines()[:12]).encode("utf-8")
    people = (b"record_id,forename,surname,date_of_birth,postcode,address\n"
              + b"".join(b"R%d,Ann,Lee,1980-01-%02d,CB1 2AB,%d High St\n" % (i, i, i) for i in range(1, 11)))
    which = data.draw(st.sampled_from(["measures", "people"]))
    raw = _mangle(data, bytearray(defra if which == "measures" else people))
    refusal = ""
    try:
        if which == "measures":
            read = read_measures("m.csv", raw, "p", section, today=dt.date(2026, 12, 1))
            good, bad, width = read.lines_stored, read.bad, len(section.values)
            stored_lines = sorted(set(read.table["source_line"].tolist()))
            assert len(read.table) == good * width  # one row per value column of every stored line
        else:
            people_read = read_people("m.csv", raw)
            good, bad, stored_lines = len(people_read.rows), people_read.bad, people_read.lines
    except FileRefused as exc:
        refusal = str(exc)
    if refusal:
        assert refusal.startswith("m.csv: ") and "\n" not in refusal
        return
    bad_lines = [b.line for b in bad]
    assert len(stored_lines) == good and not set(stored_lines) & set(bad_lines)
    assert len(set(bad_lines)) == len(bad_lines) and all(b.reason for b in bad)
    if b'"' not in raw and b"\r" not in raw:  # each line is one record: the count is independent
        assert good + len(bad) == _physical_records(raw)


def test_ctrl_c_just_after_a_commit_still_counts_that_file(store: Store, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The interrupt line must match the store: a file committed before Ctrl-C is counted as stored."""
    import thrv.ingest as ingest_module
    import thrv.partner_ingest as partner_module
    from thrv.ingest import IngestInterrupted, ingest
    from thrv.sources.partner_mapping import parse_partner_mapping

    path = tmp_path / "2024-01-cambridgeshire-street.csv"
    path.write_bytes(_street(30))
    discard = ingest_module._discard

    def interrupted(prepared: Any) -> None:  # after the file's transaction has committed
        discard(prepared)
        raise KeyboardInterrupt

    monkeypatch.setattr(ingest_module, "_discard", interrupted)
    with pytest.raises(IngestInterrupted) as info:
        ingest(store, [path])
    [outcome] = info.value.report.files
    assert (outcome.status, outcome.rows_read, outcome.rows_stored) == ("stored", 30, 30)
    assert store.count("crimes") == 30
    monkeypatch.undo()

    measures = tmp_path / "m.csv"
    measures.write_text("code,year,n\nE07000008,2019,5\nE07000008,2020,6\n", encoding="utf-8")
    mapping = parse_partner_mapping({"measures": [{"dataset": "d", "area": "code", "period": "year",
                                                   "values": {"n": "count of things"}}]}, "m.toml")
    write = partner_module.partner_tables.write_partner_file

    def write_then_interrupt(*args: Any, **kwargs: Any) -> tuple[int, int]:
        write(*args, **kwargs)  # committed
        raise KeyboardInterrupt

    monkeypatch.setattr(partner_module.partner_tables, "write_partner_file", write_then_interrupt)
    with pytest.raises(IngestInterrupted) as info:
        partner_module.ingest_partner(store, [measures], "p", mapping=mapping)
    [outcome] = info.value.report.files
    assert (outcome.status, outcome.rows_read, outcome.rows_stored) == ("stored", 2, 2)
