"""Fixtures for the assessment tests: the sample store opened read-only, built models."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import computed_once

from thrv.assess import build_assessment
from thrv.store.database import Store

FIRST, LAST = dt.date(2024, 1, 1), dt.date(2025, 12, 1)


@pytest.fixture(scope="session")
def sample_ro(sample_store: Path) -> Iterator[Store]:
    with Store(sample_store, read_only=True) as s:
        yield s


@pytest.fixture(scope="session")
def model(sample_ro: Store, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The assessment of the whole bundled sample (Cambridgeshire, 2024-01..2025-12), built once per test run."""
    return computed_once(tmp_path_factory, "assessment-model", lambda: build_assessment(sample_ro, FIRST, LAST))
