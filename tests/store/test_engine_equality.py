"""Same figures on every engine: the DuckDB file, its Parquet export read by DuckDB, and the
same Parquet read by Spark (local, 2 cores).

Each engine runs the pack (through the command line at the dashboard's levels: the
interface contract is that ``pack.csv`` is byte-for-byte the same, and the month model the
API serves is that pack's), every indicator's monthly figures at the LSOA grain, the assessment, the demand profile, a forecast and
the dashboard's read path (its catalogue of months, its store status and the month model it
serves) once per test run; every figure is then compared. Spark is started once and the
fixture is small, because a Spark job costs about a second even on a few rows.

Without Spark, every query those analyses send is also compiled for Spark's SQL dialect and
checked for what Spark refuses (a generator such as ``explode`` nested in an expression).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pytest
import sqlglot
from sqlglot import exp
from typer.testing import CliRunner

from thrv.assess import build_assessment
from thrv.cli import app
from thrv.demand import build_demand, build_forecast
from thrv.indicators.aggregate import distinct_values, monthly_figures
from thrv.indicators.definitions import expand, load_indicators
from thrv.store.engines import SparkStore, connect
from thrv.store.status import store_status
from thrv.web.builds import LEVELS, Builds, build_month, read_catalogue

MONTH = "2025-12"
FIRST, LAST = dt.date(2024, 1, 1), dt.date(2025, 12, 1)
#: values that say when something ran, not what it found
VOLATILE = {"generated_at", "taken_at", "seconds", "elapsed_seconds"}

spark_case = pytest.param("spark", marks=pytest.mark.spark)
OTHER_ENGINES = ["parquet", spark_case]


def _differences(a: Any, b: Any, where: str = "") -> Iterator[str]:
    """Every place two JSON-like values differ (NaN equals NaN; floats within 1e-12 relative)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            yield f"{where}: keys {sorted(set(a) ^ set(b))}"
        for k in sorted(set(a) & set(b), key=str):
            if k not in VOLATILE:
                yield from _differences(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            yield f"{where}: {len(a)} items vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            yield from _differences(x, y, f"{where}[{i}]")
    elif isinstance(a, float | int) and isinstance(b, float | int) and (isinstance(a, float) or isinstance(b, float)):
        fa, fb = float(a), float(b)
        if not (fa == fb or (math.isnan(fa) and math.isnan(fb)) or math.isclose(fa, fb, rel_tol=1e-12, abs_tol=1e-12)):
            yield f"{where}: {a!r} vs {b!r}"
    elif a != b:
        yield f"{where}: {a!r} vs {b!r}"


def assert_same(a: Any, b: Any) -> None:
    diffs = list(_differences(a, b))
    assert not diffs, f"{len(diffs)} differences, e.g. " + "; ".join(diffs[:8])


def _plain(value: Any) -> Any:
    """A model as the JSON written to disk (dates, numpy numbers and NaN as the files hold them)."""
    return json.loads(json.dumps(value, default=str, allow_nan=True))


def _recording(method: Callable[..., Any], seen: list[str]) -> Callable[..., Any]:
    """``method`` (a backend's execute or to_pyarrow) that first compiles its query for Spark."""

    def run(self: Any, expr: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(spark_sql(expr))
        return method(self, expr, *args, **kwargs)

    return run


def _analyses(target: str, out: Path) -> dict[str, Any]:
    """Everything the equality tests compare, computed from one engine's store.

    On DuckDB every query sent is also compiled for Spark's dialect and kept (``spark_sql``).
    """
    import ibis.backends.duckdb as duck

    seen: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        if not target.startswith(("parquet:", "spark:")):
            for name in ("execute", "to_pyarrow"):
                patch.setattr(duck.Backend, name, _recording(getattr(duck.Backend, name), seen))
        runs = _run_all(target, out)
    runs["spark_sql"] = seen
    return runs


def _run_all(target: str, out: Path) -> dict[str, Any]:
    runner = CliRunner()
    # the dashboard's levels, so one pack per engine serves the command line and the API; xlsx is the
    # cheapest format to draw (pack.json and pack.csv are always written)
    result = runner.invoke(app, ["pack", "--db", target, "--month", MONTH, "--out", str(out), "--format", "xlsx",
                                 "--levels", ",".join(LEVELS)])
    assert result.exit_code == 0, result.output
    with connect(target) as store:
        status = store_status(store)
        con = store.ibis()
        templates = load_indicators(None)
        values_of = {(t.table, t.for_each): distinct_values(con, t.table, t.for_each) for t in templates if t.for_each}
        # the LSOA grain (the pack above aggregates by district): every figure, every month
        figures = monthly_figures(con, expand(templates, values_of), dt.date(2021, 12, 1), LAST)
        runs = {
            "lsoa_grain": {t: _sorted(w) for t, w in figures.wide.items()}
            | {"coverage": _sorted(figures.coverage), "values": _sorted(figures.values)},
            "pack_csv": (out / "pack.csv").read_bytes(),
            "pack_json": json.loads((out / "pack.json").read_text()),
            "assessment": _plain(build_assessment(store, FIRST, LAST)),
            "demand": _plain(build_demand(store)),
            "forecast": _plain(build_forecast(store, horizon=6, area="Fenland", series=("crimes", "calls"), with_arima=False)),
            "status": {name: getattr(status, name).astype(str).to_dict("records") for name in ("tables", "coverage", "quarantine", "files")},
        }
    catalogue = read_catalogue(target, 1, "now")
    runs["catalogue"] = {"months": catalogue.months, "forces": catalogue.forces, "force_months": catalogue.force_months}
    runs["dashboard_status"] = Builds._read_status(target)
    if not target.startswith(("parquet:", "spark:")):  # the API's month model is the pack's
        assert_same(_plain(build_month(target, MONTH)), runs["pack_json"])
    return runs


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in ("table", "indicator", "force", "lsoa_code", "district_code", "month", "value") if c in frame]
    return frame.sort_values(keys, kind="stable", na_position="last").reset_index(drop=True)


@pytest.mark.parametrize("engine", OTHER_ENGINES)
def test_pack_csv_is_byte_for_byte_the_same(engine: str, engine_runs: Callable[[str], dict[str, Any]]) -> None:
    reference, other = engine_runs("duckdb"), engine_runs(engine)
    assert len(reference["pack_csv"].splitlines()) > 500  # every indicator at force, area and district
    assert other["pack_csv"] == reference["pack_csv"]
    assert_same(other["pack_json"], reference["pack_json"])


@pytest.mark.parametrize("engine", OTHER_ENGINES)
def test_assessment_demand_and_forecast_are_the_same(engine: str, engine_runs: Callable[[str], dict[str, Any]]) -> None:
    reference, other = engine_runs("duckdb"), engine_runs(engine)
    assert reference["assessment"]["priorities"] and reference["forecast"]["forecasts"] and reference["demand"]["streams"]
    assert reference["assessment"]["vulnerability"]["repeat_victims"]["people"] > 0  # the identifier lists were split
    for name in ("assessment", "demand", "forecast"):
        assert_same(other[name], reference[name])


@pytest.mark.parametrize("engine", OTHER_ENGINES)
def test_the_dashboard_reads_the_same_catalogue_status_and_months(engine: str, engine_runs: Callable[[str], dict[str, Any]]) -> None:
    reference, other = engine_runs("duckdb"), engine_runs(engine)
    assert reference["catalogue"]["months"][-1] == MONTH
    for name in ("catalogue", "dashboard_status", "status"):
        assert_same(other[name], reference[name])


@pytest.mark.parametrize("engine", OTHER_ENGINES)
def test_monthly_figures_at_the_lsoa_grain_are_the_same(engine: str, engine_runs: Callable[[str], dict[str, Any]]) -> None:
    reference, other = engine_runs("duckdb")["lsoa_grain"], engine_runs(engine)["lsoa_grain"]
    assert set(other) == set(reference) and len(reference["crimes"]) > 10_000
    for name, frame in reference.items():
        pd.testing.assert_frame_equal(other[name], frame, check_dtype=False, obj=name)


@pytest.mark.spark
def test_spark_reads_a_session_catalogue_and_hadoop_paths(spark_session: Any, engine_parquet: Path, engine_db: Path) -> None:
    """A SparkSession handed over by the caller (its tables in its catalogue), and a path
    listed through Hadoop's file system (how hdfs:// or s3a:// folders are found)."""
    with connect(engine_db) as duck:
        expected = store_status(duck).tables
    session = spark_session.newSession()
    for name in ("crimes", "ingest_log", "quarantine"):
        session.read.parquet(str(engine_parquet / name)).createOrReplaceTempView(name)
    with connect(session) as store:
        assert store.engine == "spark" and {"crimes", "ingest_log"} <= set(store.tables())
        got = store_status(store).tables
    assert got.to_dict("records") == expected[expected["table"] == "crimes"].to_dict("records")
    with connect(f"spark://local[2]?path=file://{engine_parquet}") as remote:
        assert isinstance(remote, SparkStore) and remote.tables() == sorted(duck_tables(engine_db))
        t = remote.ibis().table("crimes")
        assert int(t.count().execute()) == int(expected.set_index("table").loc["crimes", "rows"])


def duck_tables(db: Path) -> list[str]:
    with connect(db) as store:
        return list(store.tables())


# -- compile-only: every query of every analysis, in Spark's dialect ---------------------------
def spark_sql(expr: Any) -> str:
    getattr(ibis, "pyspark")  # noqa: B009  (loading the backend registers the dialect's options)
    return str(ibis.to_sql(expr, dialect="pyspark"))


GENERATORS = (exp.Explode, exp.Posexplode, exp.Inline)


def nested_generators(sql: str) -> list[str]:
    """Generators (explode, ...) that Spark would refuse: anywhere but a projection's own item."""
    bad = []
    for node in sqlglot.parse_one(sql, read="spark").find_all(*GENERATORS):
        parent = node.parent
        if isinstance(parent, exp.Alias):
            parent = parent.parent
        if not isinstance(parent, exp.Select):
            bad.append(node.sql(dialect="spark"))
    return bad


def test_the_generator_check_catches_what_spark_refuses() -> None:
    t = ibis.table({"crime_id": "string", "victim_id": "string"}, name="force_crimes")
    nested = t.select(person=t.victim_id.split(";").unnest().strip())
    own = t.select(person=t.victim_id.split(";").unnest()).mutate(person=ibis._.person.strip())
    assert nested_generators(spark_sql(nested))
    assert not nested_generators(spark_sql(own))


def test_every_query_of_every_analysis_compiles_for_spark(engine_runs: Callable[[str], dict[str, Any]]) -> None:
    seen = engine_runs("duckdb")["spark_sql"]  # pack, assessment, demand, forecast, status, dashboard
    assert len(seen) > 100
    refused = {sql[:80]: bad for sql in seen if (bad := nested_generators(sql))}
    assert refused == {}
