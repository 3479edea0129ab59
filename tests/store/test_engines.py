"""The store interface: ``--db`` URIs, picking an engine, ``thrv export``'s Parquet folder,
and ``thrv status`` read through Ibis on any engine (no Spark here: see test_engine_equality)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

import duckdb
import ibis
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.conftest import ROOT, sample_file
from thrv.cli import app
from thrv.ingest import ingest
from thrv.store.database import Store
from thrv.store.engines import (
    EngineError,
    IbisStore,
    ParquetStore,
    ReadStore,
    Target,
    connect,
    parse_target,
)
from thrv.store.export import export_parquet
from thrv.store.status import quarantined_rows, store_status

runner = CliRunner()


# -- URIs ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("thrv.duckdb", Target("duckdb", "thrv.duckdb")),
        ("/data/force.duckdb", Target("duckdb", "/data/force.duckdb")),
        ("duckdb:///data/force.duckdb", Target("duckdb", "/data/force.duckdb")),
        ("duckdb://force.duckdb", Target("duckdb", "force.duckdb")),
        ("parquet:///data/thrv%20store", Target("parquet", "/data/thrv store")),
        ("spark://local[2]?path=/data/pq", Target("spark", "/data/pq", "local[2]")),
        ("spark://local[*]?path=/data/pq", Target("spark", "/data/pq", "local[*]")),
        ("spark://10.0.0.5:7077?path=hdfs:///thrv", Target("spark", "hdfs:///thrv", "spark://10.0.0.5:7077")),
        ("spark://yarn?database=thrv", Target("spark", "", "yarn", "thrv")),
        ("spark://?database=police", Target("spark", "", "", "police")),
        (
            "spark://local[2]?path=/pq&spark.executor.memory=4g",
            Target("spark", "/pq", "local[2]", "", {"spark.executor.memory": "4g"}),
        ),
    ],
)
def test_db_values_name_an_engine(text: str, expected: Target) -> None:
    assert parse_target(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("parquet:/data/pq", "'//' after the scheme"),
        ("parquet://", "no path"),
        ("parquet:///x?y=1", "take no options"),
        ("spark://local[2]?path=/a&database=b", "not both"),
        ("spark://local[2]?paht=/a", "unknown option"),
        ("mysql://db/thrv", "unknown engine"),
    ],
)
def test_bad_db_values_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(EngineError, match=re.escape(message)):
        parse_target(text)


folders = st.lists(st.text("abcxyz019 -_.&%+", min_size=1, max_size=8).filter(lambda s: s.strip(". ") == s and s),
                   min_size=1, max_size=4)


@given(parts=folders, cores=st.integers(1, 64))
def test_uris_give_back_the_folder_they_name(parts: list[str], cores: int) -> None:
    folder = "/" + "/".join(parts)
    encoded = "/" + "/".join(p.replace("%", "%25").replace(" ", "%20") for p in parts)
    assert parse_target("parquet://" + encoded) == Target("parquet", folder)
    assert parse_target("duckdb://" + encoded) == Target("duckdb", folder)
    spark = parse_target(f"spark://local[{cores}]?path={encoded.replace('&', '%26')}")
    assert (spark.engine, spark.master, spark.path) == ("spark", f"local[{cores}]", folder)
    assert parse_target(folder) == Target("duckdb", folder)  # a plain path is a DuckDB file


# -- picking an engine -----------------------------------------------------------------------
def test_connect_picks_the_engine_and_refuses_writes_to_read_only_ones(sample_store: Path, engine_parquet: Path) -> None:
    with connect(sample_store) as a, connect(f"duckdb://{sample_store}") as b:
        assert isinstance(a, Store) and isinstance(b, Store) and a.engine == b.engine == "duckdb"
        assert a.read_only
        assert connect(a) is a  # an open store is used as it is
    with connect(f"parquet://{engine_parquet}") as p:
        assert isinstance(p, ParquetStore) and isinstance(p, ReadStore)
        assert {"crimes", "outcomes", "calls", "ref_lsoa", "ingest_log", "quarantine"} <= set(p.tables())
    backend = ibis.duckdb.connect()
    backend.create_table("crimes", pd.DataFrame({"force": ["x"]}))
    with connect(backend) as s:
        assert isinstance(s, IbisStore) and s.tables() == ["crimes"] and s.ibis() is backend
    with pytest.raises(EngineError, match="read-only"):
        connect(f"parquet://{engine_parquet}", read_only=False)
    with pytest.raises(EngineError, match="no such store"):
        connect(engine_parquet / "missing.duckdb")
    with pytest.raises(EngineError, match="no such folder"):
        connect(f"parquet://{engine_parquet}/missing")
    with pytest.raises(EngineError, match="SparkSession or an Ibis connection"):
        connect(42)


# -- export ----------------------------------------------------------------------------------
def test_export_writes_every_table_partitioned_by_force_in_month_order(engine_db: Path, engine_parquet: Path) -> None:
    con = duckdb.connect(str(engine_db), read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()]
        manifest = json.loads((engine_parquet / "_thrv.json").read_text())
        assert sorted(manifest["tables"]) == sorted(tables)
        for table in tables:
            rows = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
            assert manifest["tables"][table]["rows"] == rows, table
            cols = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
            expected = ["force"] if rows and "force" in cols else []
            assert manifest["tables"][table]["partitioned_by"] == expected, table
        # a folder per force, each file holding only its force, typed inside the file, with
        # the rows in month order (so row-group statistics let a reader skip months)
        files = sorted((engine_parquet / "crimes").rglob("*.parquet"))
        held = [r[0] for r in con.execute("SELECT DISTINCT force FROM crimes ORDER BY 1").fetchall()]
        assert sorted(unquote(p.parent.name.removeprefix("force=")) for p in files) == held
        for path in files:
            force = unquote(path.parent.name.removeprefix("force="))
            months = [r[1] for r in con.execute(f"SELECT force, month FROM read_parquet('{path}')").fetchall()]
            assert {r[0] for r in con.execute(f"SELECT DISTINCT force FROM read_parquet('{path}')").fetchall()} == {force}
            assert months == sorted(months)
            assert len(months) == con.execute("SELECT count(*) FROM crimes WHERE force = ?", [force]).fetchall()[0][0]
        # the empty table keeps its columns and types
        empty = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{engine_parquet}/measures/*.parquet')").fetchall()
        assert [(r[0], r[1]) for r in empty] == [(r[0], r[1]) for r in con.execute("DESCRIBE measures").fetchall()]
    finally:
        con.close()


def test_export_splits_several_forces_into_their_own_folders(shared_data: Path, tmp_path: Path) -> None:
    """Two real forces' months (data.police.uk, 2025-10 and 2025-11): a folder each, month order inside."""
    with Store(tmp_path / "two.duckdb") as store:
        files = [shared_data / "police_uk" / "all_forces" / m / f"{m}-{f}-street.csv.gz" for m in ("2025-11", "2025-10")
                 for f in ("city-of-london", "cleveland")]
        assert ingest(store, files).ok
        result = export_parquet(store, tmp_path / "pq")
        crimes = next(t for t in result.tables if t.name == "crimes")
        assert crimes.partitioned_by == ("force",) and crimes.files == 2
        for force in ("City of London Police", "Cleveland Police"):
            path = tmp_path / "pq" / "crimes" / f"force={force.replace(' ', '%20')}" / "data_0.parquet"
            back = store.con.execute(f"SELECT force, month FROM read_parquet('{path}')").fetchall()
            assert {f for f, _ in back} == {force}
            assert [m for _, m in back] == sorted(m for _, m in back)
            assert len(back) == store.con.execute("SELECT count(*) FROM crimes WHERE force = ?", [force]).fetchall()[0][0]
            assert {m.isoformat() for _, m in back} == {"2025-10-01", "2025-11-01"}


def test_export_by_force_and_month_makes_a_folder_per_month_with_the_same_rows(engine_db: Path, tmp_path: Path) -> None:
    target = tmp_path / "fm"
    result = runner.invoke(app, ["export", "--db", str(engine_db), "--to", f"parquet://{target}", "--partition-by", "force,month"])
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(engine_db), read_only=True)
    try:
        files = sorted((target / "crimes").rglob("*.parquet"))
        held = con.execute("SELECT count(DISTINCT (force, month)) FROM crimes").fetchall()[0][0]
        assert len({p.parent for p in files}) == held
        for path in files[:3]:
            force = unquote(path.parent.parent.name.removeprefix("force="))
            month = path.parent.name.removeprefix("month=")
            inside = con.execute(f"SELECT DISTINCT force, CAST(month AS VARCHAR) FROM read_parquet('{path}')").fetchall()
            assert inside == [(force, month)]
    finally:
        con.close()
    with Store(engine_db, read_only=True) as store, ParquetStore(target) as pq:
        for table in ("crimes", "outcomes"):
            a = store.ibis().table(table).to_pandas()
            b = pq.ibis().table(table).to_pandas()
            keys = list(a.columns)
            pd.testing.assert_frame_equal(
                a.sort_values(keys, kind="stable").reset_index(drop=True),
                b[a.columns].sort_values(keys, kind="stable").reset_index(drop=True), check_dtype=False)
    bad = runner.invoke(app, ["export", "--db", str(engine_db), "--to", f"parquet://{tmp_path / 'x'}", "--partition-by", "lsoa"])
    assert bad.exit_code == 2 and "can partition by force and/or month, not lsoa" in bad.output


def test_parquet_store_has_the_same_tables_columns_and_types(engine_db: Path, engine_parquet: Path) -> None:
    with Store(engine_db, read_only=True) as store, ParquetStore(engine_parquet) as pq:
        assert pq.tables() == store.tables()
        a, b = store.ibis(), pq.ibis()
        for table in store.tables():
            # Parquet keeps the types; NOT NULL is the DuckDB table's constraint, not the data's
            types = [{n: t.copy(nullable=True) for n, t in s.items()} for s in (a.table(table).schema(), b.table(table).schema())]
            assert types[1] == types[0], table


def test_export_never_leaves_a_partial_folder(engine_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "pq"
    target.mkdir()
    (target / "keep.txt").write_text("an earlier export")
    result = runner.invoke(app, ["export", "--db", str(engine_db), "--to", f"parquet://{target}"])
    assert result.exit_code == 2 and "--replace" in result.output
    assert (target / "keep.txt").exists()

    import thrv.store.export as export

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    with Store(engine_db, read_only=True) as store:
        monkeypatch.setattr(export.json, "dumps", broken)  # fails after every table is written
        with pytest.raises(OSError, match="disk full"):
            export_parquet(store, target, replace=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pq"] and (target / "keep.txt").exists()


def test_export_command_then_status_on_parquet_matches_the_duckdb_file(engine_db: Path, tmp_path: Path) -> None:
    target = tmp_path / "copy"
    result = runner.invoke(app, ["export", "--db", str(engine_db), "--to", f"parquet://{target}"])
    assert result.exit_code == 0, result.output
    assert re.search(r"crimes: [\d,]+ rows in 1 file\(s\), by force\n", result.output)
    duck = runner.invoke(app, ["status", "--db", str(engine_db)])
    pq = runner.invoke(app, ["status", "--db", f"parquet://{target}"])
    assert duck.exit_code == pq.exit_code == 0
    assert duck.output.splitlines()[1:] == pq.output.splitlines()[1:]  # all but the title naming the store
    bad = runner.invoke(app, ["export", "--db", f"parquet://{target}", "--to", f"parquet://{tmp_path / 'again'}"])
    assert bad.exit_code == 2 and "already parquet" in bad.output


# -- status through Ibis ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def gap_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real months 2024-01 and 2024-03 only (a gap in February), and one broken row."""
    folder = tmp_path_factory.mktemp("gap")
    lines = sample_file("2024-03").read_bytes()
    import gzip

    text = gzip.decompress(lines).decode("utf-8").splitlines(keepends=True)
    broken = text[0] + "".join(text[1:200]) + "not,a,valid,row\n"
    (folder / "2024-03-cambridgeshire-street.csv").write_text(broken, encoding="utf-8")
    db = folder / "gap.duckdb"
    with Store(db) as store:
        ingest(store, [sample_file("2024-01"), folder / "2024-03-cambridgeshire-street.csv"])
    return db


def test_status_counts_and_gaps_match_an_independent_count(gap_store: Path, tmp_path: Path) -> None:
    with Store(gap_store, read_only=True) as store:
        st = store_status(store)
        raw = store.df("SELECT force, month FROM crimes")
        quarantined = store.df("SELECT * FROM quarantine")
        export_parquet(store, tmp_path / "pq")
    crimes = st.tables.set_index("table").loc["crimes"]
    assert crimes["rows"] == len(raw) and crimes["forces"] == raw["force"].nunique()
    assert crimes["first_month"] == raw["month"].min().date() and crimes["last_month"] == raw["month"].max().date()
    cov = st.coverage[st.coverage["table"] == "crimes"].iloc[0]
    assert (cov["months"], cov["missing_months"], cov["rows"]) == (2, "2024-02", len(raw))
    assert st.quarantine["rows"].sum() == len(quarantined) > 0
    assert st.reconciled
    with ParquetStore(tmp_path / "pq") as pq:
        other = store_status(pq)
        rows, total = quarantined_rows(pq, limit=1)
    for name in ("tables", "coverage", "quarantine", "files"):
        pd.testing.assert_frame_equal(getattr(other, name), getattr(st, name), check_dtype=False, obj=name)
    assert total == len(quarantined) and list(rows.columns) == ["file", "line", "reason", "raw"]
    assert rows.iloc[0]["raw"] == quarantined.sort_values(["ingest_id", "line"]).iloc[0]["raw"]


def test_quarantine_command_reads_any_engine(gap_store: Path, tmp_path: Path) -> None:
    with Store(gap_store, read_only=True) as store:
        export_parquet(store, tmp_path / "pq")
    a = runner.invoke(app, ["quarantine", "--db", str(gap_store)])
    b = runner.invoke(app, ["quarantine", "--db", f"parquet://{tmp_path / 'pq'}", "--csv", str(tmp_path / "q.csv")])
    assert a.exit_code == b.exit_code == 0
    assert "not,a,valid,row" in a.output
    assert pd.read_csv(tmp_path / "q.csv")["raw"].tolist() == ["not,a,valid,row"]


# -- the architecture ------------------------------------------------------------------------
def test_only_the_store_package_talks_to_an_engine() -> None:
    """No analysis, output or command module imports an engine or sends it raw SQL."""
    engine_use = re.compile(r"^\s*(import|from)\s+(duckdb|pyspark)\b|\.raw_sql\(|\.sql\(|\bstore\.(df|arrow|con)\b", re.M)
    offenders = []
    for path in sorted((ROOT / "src" / "thrv").rglob("*.py")):
        rel = path.relative_to(ROOT / "src" / "thrv")
        if rel.parts[0] == "store":
            continue
        if engine_use.search(path.read_text(encoding="utf-8")):
            offenders.append(str(rel))
    assert offenders == []


def test_the_python_api_takes_a_uri_or_an_ibis_connection(gap_store: Path, tmp_path: Path) -> None:
    import thrv

    with Store(gap_store, read_only=True) as store:
        export_parquet(store, tmp_path / "pq")
    expected = thrv.pack(str(gap_store), "2024-03")
    from_parquet = thrv.pack(f"parquet://{tmp_path / 'pq'}", "2024-03")
    backend = ibis.duckdb.connect(str(gap_store), read_only=True)
    try:
        from_ibis = thrv.pack(backend, "2024-03")
    finally:
        backend.disconnect()
    assert len(expected) > 20
    pd.testing.assert_frame_equal(from_parquet, expected)
    pd.testing.assert_frame_equal(from_ibis, expected)
