"""Shared fixtures: the bundled real sample, the wider real data beside the repo, fresh stores."""

from __future__ import annotations

import fcntl
import gzip
import os
import pickle
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


#: the files that take longest (measured with --durations), run first: `make test` hands each
#: pytest-xdist worker whole files (--dist loadfile), so a long file left to the end would
#: run alone on one core while the other waits; every other file keeps its place
LONGEST_FIRST = (
    "tests/store/test_engine_equality.py",
    "tests/test_ingest.py",
    "tests/report/test_outputs.py",
    "tests/report/test_disclosure_files.py",
    "tests/store/test_engines.py",
    "tests/indicators/test_pack.py",
    "tests/assess/test_assessment.py",
)


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist would otherwise hand out the files with the most tests first, whatever their
    # length, which sends the long Spark file out near the end (--no-loadscope-reorder)
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}

    def order(item: pytest.Item) -> int:
        return rank.get(item.nodeid.partition("::")[0], len(rank))

    items.sort(key=order)  # stable: every file's own order of tests is kept


# -- built once per test run ------------------------------------------------------------------
# Under pytest-xdist every worker is a process of its own with its own session fixtures, so a
# store built by a session fixture used to be built once per worker. The helpers below build
# it once per test run: the first worker to ask builds it in the run's shared folder (the
# parent of the workers' own temporary folders) while holding a file lock; the others wait
# for it and use the result. Stores are then copied into the worker's own folder, so each
# worker still writes to (and locks) only its own file.
def _run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.getbasetemp()
    run = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = run / "built-once"
    folder.mkdir(exist_ok=True)
    return folder


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """The folder ``name``, filled by ``build(folder)`` once per test run (by whichever worker asks first)."""
    root = _run_folder(tmp_path_factory)
    folder = root / name
    with _locked(root / f"{name}.lock"):
        if not (root / f"{name}.done").exists():
            shutil.rmtree(folder, ignore_errors=True)  # a build that failed half way
            folder.mkdir()
            build(folder)
            (root / f"{name}.done").touch()
    return folder


def computed_once(tmp_path_factory: pytest.TempPathFactory, name: str, compute: Callable[[], Any]) -> Any:
    """``compute()``, run once per test run; every other worker gets a copy of its result (pickled)."""
    folder = built_once(tmp_path_factory, name, lambda f: (f / "value.pickle").write_bytes(pickle.dumps(compute())))
    return pickle.loads((folder / "value.pickle").read_bytes())


def copied(source: Path, tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A copy of a store (or folder) built once, in this worker's own temporary folder."""
    target = tmp_path_factory.mktemp(name) / source.name
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copyfile(source, target)
    return target


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
    """A store holding the whole bundled sample (built once per test run, copied per worker)."""
    from thrv.ingest import ingest

    def build(folder: Path) -> None:
        with Store(folder / "sample.duckdb") as s:
            report = ingest(s, [SAMPLE])
            assert report.ok

    return copied(built_once(tmp_path_factory, "sample", build) / "sample.duckdb", tmp_path_factory, "sample")
