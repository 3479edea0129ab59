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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from thrv.demand.simulate import simulate
from thrv.ingest import ingest
from thrv.store.database import Store
from thrv.store.export import export_parquet

GENERATED_MONTHS = 30
GENERATED_SCALE = 0.05


@pytest.fixture(scope="session")
def engine_db(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real sample plus a small generated extract set, in a DuckDB file."""
    folder = tmp_path_factory.mktemp("engines")
    db = folder / "engines.duckdb"
    shutil.copyfile(sample_store, db)
    generated = folder / "generated"
    simulate(generated, seed=5, months=GENERATED_MONTHS, end=dt.date(2025, 12, 1), scale=GENERATED_SCALE)
    with Store(db) as store:
        assert ingest(store, [generated]).ok
    return db


@pytest.fixture(scope="session")
def engine_parquet(engine_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``thrv export`` of the engine store."""
    target = tmp_path_factory.mktemp("engines_parquet") / "store"
    with Store(engine_db, read_only=True) as store:
        export_parquet(store, target)
    return target


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    """One local Spark session (2 cores) for the whole test run, with thrv's settings."""
    pytest.importorskip("pyspark", reason="the spark tests need pyspark: pip install -e '.[test]'")
    from thrv.store.engines import SparkStore

    starter = SparkStore(master="local[2]")  # starts the session with thrv's defaults
    session = starter.session
    yield session
    session.stop()
