"""Fixtures for the engine tests: one small store, the same data in each engine.

The store is the bundled real sample (Cambridgeshire, data.police.uk) plus a small
GENERATED set of force extracts (calls, incidents, force crimes, survey responses at 5% of
Cambridgeshire's volumes, labelled generated on every row), so that every analysis has
something to read. It is exported once to Parquet; Spark reads that folder in one local
session per test run (starting Spark is the slow part).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import built_once, computed_once, copied
from thrv.demand.simulate import simulate
from thrv.ingest import ingest
from thrv.store.database import Store
from thrv.store.export import export_parquet

GENERATED_MONTHS = 30
GENERATED_SCALE = 0.05
#: the Spark driver's JVM: quick start for short runs (see spark_session)
JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


@pytest.fixture(scope="session")
def engine_db(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real sample plus a small generated extract set, in a DuckDB file (built once per test run)."""

    def build(folder: Path) -> None:
        db = folder / "engines.duckdb"
        shutil.copyfile(sample_store, db)
        generated = folder / "generated"
        simulate(generated, seed=5, months=GENERATED_MONTHS, end=dt.date(2025, 12, 1), scale=GENERATED_SCALE)
        with Store(db) as store:
            assert ingest(store, [generated]).ok

    return copied(built_once(tmp_path_factory, "engines", build) / "engines.duckdb", tmp_path_factory, "engines")


@pytest.fixture(scope="session")
def engine_parquet(engine_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``thrv export`` of the engine store (made once per test run; read only, so not copied)."""

    def build(folder: Path) -> None:
        with Store(engine_db, read_only=True) as store:
            export_parquet(store, folder / "store")

    return built_once(tmp_path_factory, "engines_parquet", build) / "store"


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    """One local Spark session (2 cores) for the whole test run, with thrv's settings.

    The driver's JVM is told to compile with its quick compiler only and to use the serial
    collector: a test run is a few minutes of many small jobs, over before the optimising
    compiler would pay for itself. These are JVM options, not Spark settings: the plans and
    results are those of thrv's own settings.
    """
    pytest.importorskip("pyspark", reason="the spark tests need pyspark: pip install -e '.[test]'")
    from thrv.store.engines import SparkStore

    # starts the session with thrv's defaults
    starter = SparkStore(master="local[2]", conf={"spark.driver.extraJavaOptions": JVM_OPTIONS})
    session = starter.session
    yield session
    session.stop()


@pytest.fixture(scope="session")
def engine_targets(engine_db: Path, engine_parquet: Path) -> dict[str, str]:
    return {
        "duckdb": str(engine_db),
        "parquet": f"parquet://{engine_parquet}",
        "spark": f"spark://local[2]?path={engine_parquet}",
    }


@pytest.fixture(scope="session")
def engine_runs(
    engine_targets: dict[str, str], tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Callable[[str], dict[str, Any]]:
    """engine -> its analyses, each engine computed once per test run when first asked for (by
    whichever worker asks first; the others read its results)."""
    cache: dict[str, dict[str, Any]] = {}

    def get(engine: str) -> dict[str, Any]:
        if engine not in cache:
            def compute() -> dict[str, Any]:
                if engine == "spark":
                    request.getfixturevalue("spark_session")  # one session, reused by every Spark store
                from tests.store.test_engine_equality import _analyses

                return _analyses(engine_targets[engine], tmp_path_factory.mktemp(f"pack_{engine}"))

            cache[engine] = computed_once(tmp_path_factory, f"engine_runs_{engine}", compute)
        return cache[engine]

    return get
