"""Fixtures for the disclosure tests: both rules' releases of the real sample, built once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import computed_once
from tests.report.sample_release import RULES, no_district, true_matrix
from thrv.report.disclosure import build_release
from thrv.store.database import Store


@pytest.fixture(scope="session")
def published(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Both rules' releases, every month's public model, and what the intruder is also told
    (built once per test run)."""
    return computed_once(tmp_path_factory, "published", lambda: _published(sample_store))


def _published(sample_store: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    inputs = None
    with Store(sample_store, read_only=True) as store:
        for name, rule in RULES.items():
            release = build_release(store, rule, inputs=inputs)
            inputs = release.inputs
            models = {m: release.model(m) for m in release.months}
            out[name] = {"release": release, "models": models}
    truth = true_matrix(out["threshold"]["release"])
    side = no_district(truth)
    pops = inputs.hierarchy.populations
    populations = {(r.level, r.force, r.area): float(r.population) for r in pops.itertuples(index=False)}
    for entry in out.values():
        entry["side"] = side
        entry["populations"] = populations
    return out


