"""Fixtures for the plan tests: the real sample plus generated extracts and measures, stored once.

The crime figures are the bundled real data.police.uk records; calls, incidents, force
crimes and surveys come from `thrv simulate` (2% of Cambridgeshire's volumes, surveys at
full size) and the plan's measures from `thrv simulate --measures` — all labelled generated.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from tests.conftest import built_once, computed_once, copied
from thrv.demand.simulate import simulate
from thrv.ingest import ingest
from thrv.plan import PlanFigures, build_plan_figures, load_plan
from thrv.plan.generate import simulate_measures
from thrv.store.database import Store

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_PLAN = ROOT / "examples" / "plan" / "police-and-crime-plan.toml"
MONTH = dt.date(2025, 12, 1)
SEED = 3


@pytest.fixture(scope="session")
def measures_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated measures (made once per test run; only read, so shared by the workers)."""
    return built_once(tmp_path_factory, "plan_measures", lambda out: simulate_measures(out, seed=SEED, months=36, end=MONTH))


@pytest.fixture(scope="session")
def plan_store(sample_store: Path, measures_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the real sample store with generated extracts and the generated measures
    (built once per test run, copied per worker)."""

    def build(folder: Path) -> None:
        generated = folder / "generated"
        simulate(generated, seed=SEED, months=24, end=MONTH, scale=0.02)
        path = folder / "plan.duckdb"
        shutil.copy(sample_store, path)
        with Store(path) as store:
            report = ingest(store, [generated, measures_dir / "measures.csv"])
            assert report.ok and all(f.rows_quarantined == 0 for f in report.files)

    return copied(built_once(tmp_path_factory, "plan_store", build) / "plan.duckdb", tmp_path_factory, "plan_store")


@pytest.fixture(scope="session")
def example_figures(plan_store: Path, tmp_path_factory: pytest.TempPathFactory) -> PlanFigures:
    def compute() -> PlanFigures:
        with Store(plan_store, read_only=True) as store:
            return build_plan_figures(store, load_plan(EXAMPLE_PLAN), MONTH)

    return computed_once(tmp_path_factory, "plan_figures", compute)
