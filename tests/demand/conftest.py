"""Fixtures for the demand tests: a small generated extract set, stored once per session.

The generated files are labelled as generated on every row (that is one of the things
tested); the real crime series come from the bundled data.police.uk sample.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.conftest import built_once, copied
from thrv.demand.simulate import simulate
from thrv.ingest import ingest
from thrv.store.database import Store

#: 30 months at 5% of Cambridgeshire's volumes: enough for backtests, quick to make
GENERATED_MONTHS = 30
GENERATED_SCALE = 0.05
GENERATED_END = dt.date(2025, 12, 1)


@pytest.fixture(scope="session")
def generated_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated extracts (made once per test run; only read, so shared by the workers)."""

    def build(out: Path) -> None:
        simulate(out, seed=11, months=GENERATED_MONTHS, end=GENERATED_END, scale=GENERATED_SCALE)

    return built_once(tmp_path_factory, "demand_generated", build)


@pytest.fixture(scope="session")
def generated_store(generated_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The extracts ingested (once per test run, copied per worker)."""

    def build(folder: Path) -> None:
        with Store(folder / "generated.duckdb") as store:
            report = ingest(store, [generated_dir])
            assert report.ok

    return copied(built_once(tmp_path_factory, "demand_store", build) / "generated.duckdb", tmp_path_factory, "generated_store")
