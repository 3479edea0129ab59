"""Shared fixtures: the bundled real sample, the wider real data beside the repo, fresh stores."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from thrv.store.database import Store

# Property tests draw the same examples on every run, so a test run (and CI) is reproducible;
# HYPOTHESIS_PROFILE=explore draws new ones each run to look for new failures.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
SHARED = ROOT.parent / "shared" / "data"


def sample_file(month: str, kind: str = "street") -> Path:
    """A bundled real data.police.uk file, e.g. sample_file("2024-01", "outcomes")."""
    return SAMPLE / "cambridgeshire" / month / f"{month}-cambridgeshire-{kind}.csv.gz"


def sample_bytes(month: str, kind: str = "street") -> bytes:
    return gzip.decompress(sample_file(month, kind).read_bytes())


def real_lines(month: str = "2024-01", kind: str = "street", n: int = 40) -> list[str]:
    """The header and the first n data lines of a real file, line endings kept."""
    return sample_bytes(month, kind).decode("utf-8").splitlines(keepends=True)[: n + 1]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "test.duckdb") as s:
        yield s


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.exists():
        pytest.skip(f"the wider real data set is not beside the repository ({SHARED})")
    return SHARED


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the whole bundled sample (built once per test session)."""
    from thrv.ingest import ingest

    path = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    with Store(path) as s:
        report = ingest(s, [SAMPLE])
        assert report.ok
    return path
