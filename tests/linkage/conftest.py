"""Linkage fixtures: keys that exist only in the test's environment, small generated extracts."""

from __future__ import annotations

import secrets

import pytest

from thrv.linkage.generate import Extracts, extracts


@pytest.fixture
def link_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THRV_PROJECT_KEY", secrets.token_hex(32))
    monkeypatch.setenv("THRV_VAULT_KEY", secrets.token_hex(32))
    monkeypatch.delenv("THRV_KEY_FILE", raising=False)


@pytest.fixture(scope="session")
def generated() -> Extracts:
    """Three partners' generated extracts of 1,200 people (labelled generated: ids GEN-...)."""
    return extracts(1200, {"police": 0.6, "council": 0.5, "health": 0.4}, seed=7, shares_identifier=("health",))
