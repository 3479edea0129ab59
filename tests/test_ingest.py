"""Ingest end to end: nothing lost, nothing doubled, failures leave the store as it was."""

from __future__ import annotations

import gzip
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SAMPLE, real_lines, sample_bytes, sample_file
from thrv.ingest import ingest
from thrv.store import writer
from thrv.store.database import Store


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new store's file, copied per example (creating one loads the reference tables)."""
    path = tmp_path_factory.mktemp("empty") / "empty.duckdb"
    Store(path).close()
    return path


def _counts(store: Store) -> dict[str, int]:
    return {t: store.count(t) for t in ("crimes", "outcomes", "stop_search", "quarantine", "ingest_log")}


def _csv_rows(path: Path) -> int:
    """Data rows in a CSV counted independently (pandas), for reconciliation."""
    return len(pd.read_csv(path, dtype=str, keep_default_na=False))


def test_sample_ingest_reconciles_with_an_independent_count(store: Store) -> None:
    report = ingest(store, [SAMPLE])
    assert report.ok
    files = sorted(SAMPLE.rglob("*.csv.gz"))
    assert len(report.files) == len(files) == 48
    expected = {"street": 0, "outcomes": 0, "stop-and-search": 0}
    for path in files:
        kind = next(k for k in expected if path.name.endswith(f"-{k}.csv.gz"))
        expected[kind] += _csv_rows(path)
    assert store.count("crimes") == expected["street"] == 167_962
    assert store.count("outcomes") == expected["outcomes"] == 68_619
    assert store.count("stop_search") == expected["stop-and-search"] == 2_855
    log = store.df("SELECT * FROM ingest_log")
    assert (log["rows_read"] == log["rows_stored"] + log["rows_quarantined"]).all()
    assert log["sha256"].str.len().eq(64).all()
    assert report.total("rows_read") == report.total("rows_stored") + report.total("rows_quarantined")
    # every stored row says where it came from
    where = store.df("SELECT count(*) AS n FROM crimes WHERE source_file IS NULL OR source_line < 2")
    assert where["n"].iloc[0] == 0


def test_reingest_changes_nothing(store: Store) -> None:
    ingest(store, [SAMPLE / "cambridgeshire" / "2024-01"])
    before = _counts(store)
    report = ingest(store, [SAMPLE / "cambridgeshire" / "2024-01"])
    assert [f.status for f in report.files] == ["skipped"] * 3
    assert _counts(store) == before
    # same content gzipped or not is the same file
    plain = store.path + ".plain-2024-01-cambridgeshire-street.csv"
    Path(plain).write_bytes(sample_bytes("2024-01"))
    assert ingest(store, [plain]).files[0].status == "skipped"
    assert _counts(store) == before


def test_the_same_content_twice_in_one_run_is_stored_once(store: Store, tmp_path: Path) -> None:
    # the read-ahead looks at the log before the first copy is committed; the second copy
    # must still be skipped, naming the first
    data = sample_bytes("2024-01")
    first, second = tmp_path / "a" / "2024-01-cambridgeshire-street.csv", tmp_path / "b" / "2024-01-cambridgeshire-street.csv.gz"
    first.parent.mkdir()
    second.parent.mkdir()
    first.write_bytes(data)
    second.write_bytes(gzip.compress(data))
    report = ingest(store, [tmp_path])
    assert [f.status for f in report.files] == ["stored", "skipped"]
    assert report.files[1].message == f"already ingested as {report.files[0].name}"
    rows = store.count("crimes")
    assert rows == report.files[0].rows_stored > 0
    assert store.df("SELECT count(*) AS n FROM ingest_log WHERE status = 'stored'")["n"].iloc[0] == 1


def test_a_corrected_month_replaces_that_month_for_that_force(store: Store, tmp_path: Path) -> None:
    ingest(store, [sample_file("2024-01"), sample_file("2024-02")])
    lines = real_lines("2024-01", n=6116)
    corrected = tmp_path / "2024-01-cambridgeshire-street.csv"
    # a later download: one crime fewer and outcomes updated
    corrected.write_text("".join(lines[:-1]).replace("Under investigation", "Unable to prosecute suspect"))
    report = ingest(store, [corrected])
    [outcome] = report.files
    assert outcome.status == "stored"
    assert outcome.rows_replaced == 6116
    assert any("replaced the rows of" in n for n in outcome.notes)
    by_month = store.df("SELECT strftime(month, '%Y-%m') AS m, count(*) AS n FROM crimes GROUP BY 1 ORDER BY 1")
    assert by_month.set_index("m")["n"].to_dict() == {"2024-01": 6115, "2024-02": 6499}
    log = store.df("SELECT file, status, superseded_by FROM ingest_log ORDER BY ingest_id")
    assert log["status"].tolist() == ["superseded", "stored", "stored"]
    assert log.iloc[0]["superseded_by"] == 3
    # re-ingesting the old version is skipped unless asked for
    again = ingest(store, [sample_file("2024-01")])
    assert again.files[0].status == "skipped" and "superseded" in again.files[0].message
    restored = ingest(store, [sample_file("2024-01")], reload=True)
    assert restored.files[0].rows_stored == 6116
    assert store.count("crimes") == 6116 + 6499


def test_real_earlier_vintage_replaces_cleanly(store: Store, shared_data: Path) -> None:
    """The 2024-06 download of Jan 2024 has the same rows but older outcomes (PROVENANCE)."""
    ingest(store, [sample_file("2024-01")])
    early = shared_data / "police_uk/cambridgeshire/street_earlier_vintage_2024-06/2024-01-cambridgeshire-street.csv.gz"
    report = ingest(store, [early])
    assert report.files[0].rows_replaced == 6116
    outcomes = store.df(
        "SELECT last_outcome_category AS c, count(*) AS n FROM crimes GROUP BY 1"
    ).set_index("c")["n"]
    assert outcomes["Under investigation"] == 512  # PROVENANCE: 512 in the early download
    assert store.count("crimes") == 6116


def test_a_failure_half_way_leaves_the_store_as_it_was(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    ingest(store, [sample_file("2024-01")])
    before = _counts(store)

    def disk_error(*args: object) -> None:
        raise OSError(28, "No space left on device")

    # fail after the rows are inserted, while writing quarantine: the rows must be rolled back
    monkeypatch.setattr(writer, "_insert_quarantine", disk_error)
    bad = Path(store.path).with_name("2024-02-cambridgeshire-street.csv")
    bad.write_text("".join(real_lines("2024-02", n=50)) + "x,2024-13,a,b,,,,,,Burglary,,\n")
    with pytest.raises(OSError, match="No space left"):
        ingest(store, [bad])
    assert _counts(store) == before
    # and a replacement that fails keeps the old month
    monkeypatch.setattr(writer, "_replace", disk_error)
    corrected = Path(store.path).with_name("2024-01-cambridgeshire-street.csv")
    corrected.write_text("".join(real_lines("2024-01", n=100)))
    with pytest.raises(OSError, match="No space left"):
        ingest(store, [corrected])
    assert _counts(store) == before


@pytest.mark.slow
@pytest.mark.parametrize("batch_rows", [None, 40_000])
def test_a_killed_ingest_leaves_every_file_whole(tmp_path: Path, batch_rows: int | None) -> None:
    """SIGKILL part-way through: every file is either fully in the store or not at all
    (in batches too: a killed batch is absent as a whole, and the re-run stores it)."""
    db = tmp_path / "killed.duckdb"
    code = (
        "import sys; from thrv.store.database import Store; from thrv.ingest import ingest; "
        f"s = Store({str(db)!r}); print('ready', flush=True); ingest(s, [{str(SAMPLE)!r}], batch_rows={batch_rows!r})"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()
    time.sleep(1.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with Store(db) as store:
        log = store.df("SELECT ingest_id, kind, rows_stored FROM ingest_log WHERE status = 'stored'")
        for table in ("crimes", "outcomes", "stop_search"):
            held = store.df(f"SELECT ingest_id, count(*) AS n FROM {table} GROUP BY 1")
            merged = held.merge(log, on="ingest_id", how="left")
            assert merged["rows_stored"].notna().all(), f"{table}: rows without a log entry"
            assert (merged["n"] == merged["rows_stored"]).all(), f"{table}: partial file in the store"
        done = len(log)
        report = ingest(store, [SAMPLE])  # finishing the job loads the rest, doubles nothing
        assert sum(f.status == "skipped" for f in report.files) == done
        assert store.count("crimes") == 167_962


def test_refused_file_stores_nothing_and_is_logged(store: Store, tmp_path: Path) -> None:
    wrong = tmp_path / "2024-01-cambridgeshire-street.csv"
    wrong.write_text("Crime ID,Month,Colour\n1,2024-01,red\n")
    report = ingest(store, [wrong, sample_file("2024-02")])
    assert not report.ok
    assert [f.status for f in report.files] == ["refused", "stored"]
    assert "lacks column(s): 'Reported by', 'Falls within'" in report.files[0].message
    assert store.count("crimes") == 6499
    log = store.df("SELECT status, message FROM ingest_log ORDER BY ingest_id")
    assert log["status"].tolist() == ["refused", "stored"]
    ingest(store, [wrong])
    assert store.count("ingest_log") == 2  # the same refusal is not logged twice


def test_quarantined_rows_keep_file_line_raw_and_reason(store: Store, tmp_path: Path) -> None:
    lines = real_lines("2024-03", n=10)
    broken = lines[4].replace("2024-03", "2024-3", 1)
    path = tmp_path / "2024-03-cambridgeshire-street.csv"
    path.write_text("".join(lines[:4]) + broken + "".join(lines[5:]))
    report = ingest(store, [path])
    assert report.files[0].rows_quarantined == 1
    q = store.df("SELECT * FROM quarantine")
    assert q.iloc[0]["file"] == str(path)
    assert q.iloc[0]["line"] == 5
    assert q.iloc[0]["raw"] == broken.rstrip("\r\n")
    assert q.iloc[0]["reason"] == "bad Month '2024-3' (expected YYYY-MM)"
    assert store.count("crimes") == 9


_DAMAGE = st.lists(
    st.tuples(
        st.integers(1, 30),
        st.sampled_from(["Month", "Latitude", "Longitude", "Falls within", "Crime type", "fields", "bytes", "dup"]),
        st.sampled_from(["", "2024-13", "abc", "99.5", "-0", "\xe9", '"', "x,y"]),
    ),
    max_size=8,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(damage=_DAMAGE)
def test_property_mangled_real_rows_reconcile_in_the_store(
    tmp_path: Path, empty_store: Path, damage: list[tuple[int, str, str]]
) -> None:
    lines = real_lines("2024-04", n=30)
    header = lines[0].rstrip("\r\n").split(",")
    body = [line.rstrip("\r\n") for line in lines[1:]]
    for index, column, value in damage:
        fields = body[index - 1].split(",")
        if column == "fields":
            fields.append(value)
        elif column == "bytes":
            body[index - 1] = body[index - 1] + value
            continue
        elif column == "dup":
            body.append(body[index - 1])
            continue
        elif column in header and len(fields) == len(header):
            fields[header.index(column)] = value
        body[index - 1] = ",".join(fields)
    data = ("\n".join([lines[0].rstrip("\r\n"), *body]) + "\n").encode("utf-8")
    if any(v == "\xe9" for _, _, v in damage):
        data = data.replace("\xe9".encode(), b"\xe9")  # raw Latin-1 byte: not UTF-8
    run = uuid.uuid4().hex
    path = tmp_path / run / "2024-04-cambridgeshire-street.csv"
    path.parent.mkdir()
    path.write_bytes(data)
    # the reference count of records: what a person sees, one per non-blank line after the
    # header (a stray quote does not join lines: the real rows hold no line breaks in values)
    text = data.decode("utf-8", errors="replace")
    records = [line for line in text.split("\n") if line.strip() not in ("", '""')]
    db = tmp_path / run / "store.duckdb"
    shutil.copy(empty_store, db)
    with Store(db) as store:
        report = ingest(store, [path])
        [outcome] = report.files
        assert outcome.status == "stored"
        assert outcome.reconciles
        assert outcome.rows_read == len(records) - 1
        assert store.count("crimes") == outcome.rows_stored
        assert store.count("quarantine") == outcome.rows_quarantined
        stored = duckdb.sql("SELECT 1").fetchall()  # the engine is still usable
        assert stored == [(1,)]


def test_gzip_csv_named_plain_and_plain_named_gz(store: Store, tmp_path: Path) -> None:
    plain_as_gz = tmp_path / "2024-05-cambridgeshire-street.csv.gz"
    plain_as_gz.write_bytes(gzip.decompress(sample_file("2024-05").read_bytes()))
    report = ingest(store, [plain_as_gz])
    assert report.files[0].rows_stored == 7580


# -- the command: messages, exit codes, Ctrl-C, a store in use -----------------------------


THRV = [sys.executable, "-c", "import sys; from thrv.cli import app; sys.argv[0] = 'thrv'; app()"]


def _thrv(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*THRV, *args], capture_output=True, text=True, timeout=timeout, check=False)


def test_the_command_prints_notes_and_exits_1_when_a_file_is_refused(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from thrv.cli import app

    db = tmp_path / "cli.duckdb"
    broken = tmp_path / "2024-13-cambridgeshire-street.csv"
    broken.write_text("".join(real_lines(n=5)))
    runner = CliRunner()
    first = runner.invoke(app, ["ingest", str(SAMPLE / "cambridgeshire" / "2024-01"), str(broken), "--db", str(db)])
    assert first.exit_code == 1
    assert f"refused: {broken}: the file name gives month 2024-13, which is not a month" in first.output
    assert "note (1 files)" not in first.output
    assert "identical outcome rows are kept" in first.output  # a note, without --json
    assert "4 file(s): 3 stored, 0 already in the store, 1 refused" in first.output
    again = runner.invoke(app, ["ingest", str(sample_file("2024-01")), "--db", str(db)])
    assert again.exit_code == 0
    assert f"already in the store: {sample_file('2024-01')}" in again.output
    corrected = tmp_path / "2024-01-cambridgeshire-street.csv"
    corrected.write_text("".join(real_lines("2024-01", n=100)))
    replaced = runner.invoke(app, ["ingest", str(corrected), "--db", str(db)])
    assert f"replaced: {corrected}: replaced the rows of {sample_file('2024-01')}" in replaced.output
    assert "6,116 older rows replaced" in replaced.output


@pytest.mark.slow
def test_ctrl_c_ends_with_one_line_and_a_rerun_resumes(tmp_path: Path, shared_data: Path) -> None:
    db = tmp_path / "interrupted.duckdb"
    Store(db).close()  # made beforehand: the write-ahead log then grows only with the files
    folder = shared_data / "police_uk" / "northumbria" / "street"
    proc = subprocess.Popen(
        [*THRV, "ingest", str(folder), "--db", str(db)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:  # wait until some files are stored
        time.sleep(0.5)
        if db.with_suffix(".duckdb.wal").exists() and db.with_suffix(".duckdb.wal").stat().st_size > 5_000_000:
            break
    proc.send_signal(signal.SIGINT)
    _out, errors = proc.communicate(timeout=120)
    assert proc.returncode == 130, errors
    [line] = errors.strip().splitlines()
    assert line.startswith("interrupted: ") and "Run the same command again to resume" in line
    assert "Traceback" not in errors
    stored = int(line.split("interrupted: ")[1].split(" of ")[0])
    with Store(db) as store:
        log = store.df("SELECT rows_stored FROM ingest_log WHERE status = 'stored'")
        assert len(log) == stored and store.count("crimes") == log["rows_stored"].sum()
        report = ingest(store, [folder])  # resumes: what was stored is skipped
        assert sum(f.status == "skipped" for f in report.files) == stored
        assert store.count("crimes") == 524_070


def test_a_store_held_by_another_process_is_a_one_line_refusal(tmp_path: Path) -> None:
    db = tmp_path / "held.duckdb"
    Store(db).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys, time; c = duckdb.connect({str(db)!r}); print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        result = _thrv("ingest", str(sample_file("2024-01")), "--db", str(db), "--wait", "1")
        assert time.monotonic() - started < 60
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "locked by another process" in error[0] and f"PID {holder.pid}" in error[0]
    # once it is free, the same command works
    assert _thrv("ingest", str(sample_file("2024-01")), "--db", str(db)).returncode == 0


def test_a_store_from_before_rows_current_is_brought_up_to_date(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    with Store(db) as store:
        ingest(store, [sample_file("2024-01"), sample_file("2024-01", "outcomes")])
        store.con.execute("ALTER TABLE ingest_log DROP COLUMN rows_current")
        store.con.execute("UPDATE ingest_log SET units = '[[\"stale\", \"1999-01\"]]'")
    with Store(db) as store:
        log = store.df("SELECT kind, rows_current, units FROM ingest_log ORDER BY ingest_id")
    assert log["rows_current"].tolist() == [6116, 5672]
    assert set(log["units"]) == {'[["Cambridgeshire Constabulary", "2024-01"]]'}


# -- batched transactions (opt-in) --------------------------------------------------------


def _contents(store: Store) -> dict[str, str]:
    """Every table's rows and the log, without the ids that number them: equal stores compare equal."""
    out = {}
    for table in ("crimes", "outcomes", "stop_search", "quarantine"):
        cols = [c for c in store.df(f"DESCRIBE {table}")["column_name"] if c not in ("ingest_id", "quarantine_id")]
        out[table] = store.df(f"SELECT {', '.join(cols)}, count(*) AS n FROM {table} GROUP BY ALL ORDER BY ALL").to_csv()
    out["log"] = store.df(
        "SELECT file, status, rows_read, rows_stored, rows_quarantined, rows_replaced, rows_current, units, message "
        "FROM ingest_log ORDER BY ingest_id"
    ).to_csv()
    return out


def _damaged_inputs(folder: Path, shared_data: Path) -> list[Path]:
    """Real files in an order that exercises every path inside a batch: replacement by a later
    version, the engine declining a file (a trailing empty extra field), quarantined rows,
    a refused file, the same content twice."""
    lines = real_lines("2024-02", n=300)
    declined = folder / "2024-02-cambridgeshire-street.csv"
    declined.write_text("".join(lines[:10]) + lines[10].rstrip("\r\n") + ",\r\n" + "".join(lines[11:]))
    bad = real_lines("2024-03", n=200)
    quarantined = folder / "2024-03-cambridgeshire-street.csv"
    quarantined.write_text("".join(bad) + bad[5].replace(",2024-03,", ",2024-13,") + bad[7])  # bad month, duplicate
    refused = folder / "2024-04-cambridgeshire-street.csv"
    refused.write_bytes(b"PK\x03\x04 not a csv")
    early = shared_data / "police_uk/cambridgeshire/street_earlier_vintage_2024-06/2024-01-cambridgeshire-street.csv.gz"
    return [
        sample_file("2024-01"), sample_file("2024-01", "outcomes"), sample_file("2024-02"), early, declined,
        sample_file("2024-02", "stop-and-search"), quarantined, refused, sample_file("2024-03", "outcomes"),
        sample_file("2024-02", "outcomes"), sample_file("2024-01", "outcomes"),
    ]


@pytest.mark.parametrize("batch_rows", [5_000, 10**9])
def test_batches_store_exactly_what_a_transaction_per_file_stores(
    tmp_path: Path, shared_data: Path, batch_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _damaged_inputs(tmp_path, shared_data)
    opened, broken = [], []
    begin, rollback = Store.begin_batch, Store.rollback_batch
    monkeypatch.setattr(Store, "begin_batch", lambda self: (opened.append(1), begin(self))[1])
    monkeypatch.setattr(Store, "rollback_batch", lambda self: (broken.append(self.in_batch), rollback(self))[1])
    with Store(tmp_path / "per-file.duckdb") as one, Store(tmp_path / "batched.duckdb") as batched:
        expected = ingest(one, paths)
        assert not opened
        got = ingest(batched, paths, batch_rows=batch_rows)
        # batches were opened, and the declined file rolled one back to be written alone
        assert 1 < len(opened) < len(paths) and broken.count(True) == 1
        assert _contents(batched) == _contents(one)
        summary = [(f.name, f.status, f.rows_read, f.rows_stored, f.rows_quarantined, f.rows_replaced) for f in got.files]
        assert summary == [
            (f.name, f.status, f.rows_read, f.rows_stored, f.rows_quarantined, f.rows_replaced) for f in expected.files
        ]
        statuses = [f.status for f in got.files]
        assert statuses.count("refused") == 1 and statuses[-1] == "skipped"  # the same content twice
        assert next(f for f in got.files if f.name.endswith(str(paths[4].name))).careful  # declined, read carefully
        assert got.total("rows_read") == got.total("rows_stored") + got.total("rows_quarantined")
        assert {b for f in got.files for b in f.examples if "2024-13" in b or "duplicate row" in b}
        assert store_reconciles(batched)
        assert ingest(batched, paths, batch_rows=batch_rows).total("rows_stored") == 0  # a re-run is a no-op


def store_reconciles(store: Store) -> bool:
    """Each stored file's rows in its table equal its log's rows_current, and read = stored + quarantined."""
    log = store.df("SELECT ingest_id, table_name, rows_read, rows_stored, rows_quarantined, rows_current FROM ingest_log "
                   "WHERE status IN ('stored', 'superseded')")
    held = pd.concat([store.df(f"SELECT '{t}' AS table_name, ingest_id, count(*) AS n FROM {t} GROUP BY ALL")
                      for t in ("crimes", "outcomes", "stop_search")])
    merged = log.merge(held, on=["table_name", "ingest_id"], how="left").fillna({"n": 0})
    quarantined = store.df("SELECT ingest_id, count(*) AS q FROM quarantine GROUP BY 1")
    merged = merged.merge(quarantined, on="ingest_id", how="left").fillna({"q": 0})
    return bool(
        (merged["rows_read"] == merged["rows_stored"] + merged["rows_quarantined"]).all()
        and (merged["n"] == merged["rows_current"]).all()
        and (merged["q"] == merged["rows_quarantined"]).all()
    )


def test_ctrl_c_in_a_batch_keeps_the_committed_batches_and_a_rerun_completes(store: Store) -> None:
    from thrv.ingest import IngestInterrupted

    files = [sample_file(m, k) for m in ("2024-01", "2024-02", "2024-03") for k in ("street", "outcomes")]

    def stop_at_the_fifth(_source: object, index: int, _total: int) -> None:
        if index == 4:
            raise KeyboardInterrupt

    # batches of >= 12,000 rows: files 1-3 (6,116 + 5,672 + 6,499 rows) commit as one; the
    # fourth is in the open batch when Ctrl-C comes before the fifth, and is rolled back
    with pytest.raises(IngestInterrupted) as info:
        ingest(store, files, batch_rows=12_000, on_file=stop_at_the_fifth)
    committed = info.value.report.files
    assert [f.status for f in committed] == ["stored"] * 3
    assert store.count("ingest_log") == 3
    assert store.count("crimes") + store.count("outcomes") == sum(f.rows_stored for f in committed)
    again = ingest(store, files, batch_rows=12_000)
    assert [f.status for f in again.files] == ["skipped"] * 3 + ["stored"] * 3
    assert store.count("crimes") == sum(_csv_rows(f) for f in files[::2])
    assert store.count("outcomes") == sum(_csv_rows(f) for f in files[1::2])
    assert store_reconciles(store)


# -- the monthly crime summary, kept by each file's transaction ------------------------------


def _summary_rows(store: Store) -> list[tuple[object, ...]]:
    return sorted(store.con.execute("SELECT * FROM crimes_monthly").fetchall(), key=repr)


def _rebuilt(store: Store) -> list[tuple[object, ...]]:
    """The summary built whole from the rows (in a transaction rolled back: the store is left as it was)."""
    from thrv.store import summary

    store.con.begin()
    try:
        summary.build(store.con)
        return _summary_rows(store)
    finally:
        store.con.rollback()


def test_the_summary_after_replacements_quarantine_and_a_reload_equals_a_whole_rebuild(
    tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from thrv.store import summary

    rebuilt: list[str] = []
    whole = summary._rebuild
    monkeypatch.setattr(summary, "_rebuild", lambda con, name, select: (rebuilt.append(name), whole(con, name, select))[1])
    paths = _damaged_inputs(tmp_path, shared_data)
    with Store(tmp_path / "summary.duckdb") as store:
        report = ingest(store, paths)
        assert report.total("rows_replaced") > 0 and report.total("rows_quarantined") > 0
        # built whole once, by the first street file; every later file counted its own rows only
        assert rebuilt == ["crimes_monthly"]
        got = _summary_rows(store)
        assert got == _rebuilt(store)
        assert sum(int(r[5]) for r in got) == store.count("crimes")
        # an older version made current again replaces the newer one's month
        assert ingest(store, [sample_file("2024-01")], reload=True).files[0].rows_replaced > 0
        assert _summary_rows(store) == _rebuilt(store)
        assert rebuilt == ["crimes_monthly"] * 3  # the two checks above, not the ingest
        # rows deleted by a writer that did not refresh the summary: the next file's refresh sees
        # the totals differ and summarises the whole table again
        store.con.execute("DELETE FROM crimes WHERE month = DATE '2024-02-01' AND crime_type = 'Drugs'")
        assert ingest(store, [sample_file("2024-05")]).files[0].status == "stored"
        assert rebuilt == ["crimes_monthly"] * 4
        assert _summary_rows(store) == _rebuilt(store)
        assert sum(int(r[5]) for r in _summary_rows(store)) == store.count("crimes")
        # a store whose summary was dropped: the next file builds it whole again, in its transaction
        store.con.execute("DROP TABLE crimes_monthly")
        assert ingest(store, [sample_file("2024-06")]).files[0].status == "stored"
        assert rebuilt == ["crimes_monthly"] * 6
        assert _summary_rows(store) == _rebuilt(store)


# -- thrv ingest --batch-rows -------------------------------------------------------------


def _store_contents(db: Path) -> dict[str, str]:
    """The store's tables, quarantine, log and crime summary, without the ids that number them."""
    with Store(db, read_only=True) as store:
        out = _contents(store)
        out["summary"] = store.df(
            "SELECT * EXCLUDE (newest_ingest_id) FROM crimes_monthly ORDER BY ALL").to_csv()
    return out


def test_the_command_with_batch_rows_stores_what_one_transaction_per_file_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from thrv.cli import app

    bad = real_lines("2024-03", n=300)
    quarantined = tmp_path / "in" / "2024-03-cambridgeshire-street.csv"  # a bad month and a duplicate row
    quarantined.parent.mkdir()
    quarantined.write_text("".join(bad) + bad[5].replace(",2024-03,", ",2024-13,") + bad[7])
    corrected = tmp_path / "in" / "2024-01-cambridgeshire-street.csv"  # replaces the sample's January
    corrected.write_text("".join(real_lines("2024-01", n=2000)))
    paths = [str(SAMPLE / "cambridgeshire" / m) for m in ("2024-01", "2024-02", "2024-03")] + [str(tmp_path / "in")]
    runner = CliRunner()
    opened: list[int] = []
    begin = Store.begin_batch
    monkeypatch.setattr(Store, "begin_batch", lambda self: (opened.append(1), begin(self))[1])
    one = runner.invoke(app, ["ingest", *paths, "--db", str(tmp_path / "one.duckdb")])
    assert not opened
    batched = runner.invoke(app, ["ingest", *paths, "--db", str(tmp_path / "batched.duckdb"), "--batch-rows", "10000"])
    assert one.exit_code == batched.exit_code == 0, batched.output
    assert 1 < len(opened) < 11  # 11 files in a few batches of >= 10,000 rows
    expected = _store_contents(tmp_path / "one.duckdb")
    assert _store_contents(tmp_path / "batched.duckdb") == expected
    assert "quarantined 2 of 302 rows" in batched.output and "older rows replaced" in batched.output
    summary_lines = [line for line in one.output.splitlines() if line.startswith(("rows read", "11 file(s)"))]
    assert len(summary_lines) == 2 and all(line in batched.output for line in summary_lines)
    with Store(tmp_path / "batched.duckdb", read_only=True) as store:
        assert store_reconciles(store)
    # a bad value is a usage error naming the option, before anything is read or created
    for value in ("0", "-5", "many"):
        wrong = runner.invoke(app, ["ingest", *paths, "--db", str(tmp_path / "wrong.duckdb"), "--batch-rows", value])
        assert wrong.exit_code == 2 and "--batch-rows" in wrong.output, wrong.output
        assert not (tmp_path / "wrong.duckdb").exists()
    assert "a batch holds at least 1 row, not 0" in " ".join(
        runner.invoke(app, ["ingest", *paths, "--db", str(tmp_path / "wrong.duckdb"), "--batch-rows", "0"]).output.split())
    partner = runner.invoke(app, ["ingest", *paths, "--db", str(tmp_path / "wrong.duckdb"), "--batch-rows", "5",
                                  "--partner", "council"])
    assert partner.exit_code == 2 and "not to --partner files" in partner.output


def test_a_line_the_engine_rejects_that_the_scan_passed_declines_to_the_careful_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no lines to skip the engine reads without a rejects table, so a line it would reject
    stops it: the file is read again carefully, with the same rows and quarantine."""
    import dataclasses

    from thrv.sources import reader

    lines = real_lines("2024-01", n=400)
    path = tmp_path / "2024-01-cambridgeshire-street.csv"
    path.write_text("".join(lines[:50]) + lines[50].rstrip("\r\n") + ",x,y\r\n" + "".join(lines[51:]))  # 14 fields
    with Store(tmp_path / "scanned.duckdb") as store:
        expected = ingest(store, [path]).files[0]
        assert expected.rows_quarantined == 1 and not expected.careful  # the scan told the engine to skip it
        want = _contents(store)
    real_scan = reader.scan_lines

    def scan_that_misses_it(name: str, data: bytes) -> object:
        scan = real_scan(name, data)
        assert not isinstance(scan, str) and len(scan.engine_skips) == 1
        keep = scan.good_lines.tolist() + scan.engine_skips.tolist()
        return dataclasses.replace(scan, good_lines=np.array(sorted(keep)), bad=[], engine_skips=scan.engine_skips[:0])

    monkeypatch.setattr(reader, "scan_lines", scan_that_misses_it)
    with Store(tmp_path / "missed.duckdb") as store:
        got = ingest(store, [path]).files[0]
        assert "the engine's CSV reader stopped" in got.careful
        assert (got.rows_read, got.rows_stored, got.rows_quarantined) == (
            expected.rows_read, expected.rows_stored, expected.rows_quarantined)
        got_contents = _contents(store)
        assert {t: got_contents[t] for t in want if t != "log"} == {t: want[t] for t in want if t != "log"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    logged=st.lists(st.lists(st.tuples(st.sampled_from(["Kent Police", "O'Brien \"Force\"", "Avon & Somerset", "Dyfed-Powys Heddlu", "ŵ"]),
                                       st.sampled_from(["2024-01", "2024-02", "2025-12"])), max_size=3), max_size=8),
    mine=st.lists(st.tuples(st.sampled_from(["Kent Police", "O'Brien \"Force\"", "ŵ"]), st.sampled_from(["2024-01", "2025-12"])),
                  min_size=1, max_size=2),
)
def test_the_files_a_file_may_replace_are_found_in_the_log_as_by_hand(logged: list[list[tuple[str, str]]],
                                                                        mine: list[tuple[str, str]]) -> None:
    """The engine's match of the log's units against a new file's, beside the plain Python one."""
    import json

    from thrv.sources.extracts import CALLS
    from thrv.sources.kinds import STREET

    street, extract = STREET, CALLS
    assert street.replace_by == "unit" and extract.replace_by == "id"
    con = duckdb.connect()
    con.execute("CREATE TABLE ingest_log (ingest_id INTEGER, table_name VARCHAR, status VARCHAR, rows_current BIGINT, units VARCHAR)")
    for i, units in enumerate(logged, start=1):
        con.execute("INSERT INTO ingest_log VALUES (?, ?, 'stored', 5, ?)", [i, street.table, json.dumps(units)])
        con.execute("INSERT INTO ingest_log VALUES (?, ?, 'stored', 5, ?)", [100 + i, extract.table, json.dumps(units)])
    con.execute("INSERT INTO ingest_log VALUES (90, ?, 'stored', NULL, NULL), (91, ?, 'superseded', 0, ?), (92, ?, 'stored', 5, '')",
                [street.table, street.table, json.dumps(mine), street.table])
    wanted = set(mine)
    assert writer._candidates(con, street, 999, mine) == [i for i, u in enumerate(logged, start=1) if wanted & set(u)]
    forces = {f for f, _m in mine}
    assert writer._candidates(con, extract, 999, mine) == [100 + i for i, u in enumerate(logged, start=1) if forces & {f for f, _m in u}]
    # a file is never its own candidate
    if logged and wanted & set(logged[0]):
        assert 1 not in writer._candidates(con, street, 1, mine)
