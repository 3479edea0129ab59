"""A web app over the real sample store, with one user per role.

The month's pack is built once per test session (it is the slow part) and handed to every
app the tests start, through the same build hook the server's worker calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from thrv.web.app import create_app
from thrv.web.auth import Sessions, add_user
from thrv.web.builds import build_month

PASSWORDS = {"ana": "analyst-password-1", "pat": "partner-password-1", "pub": "public-password-1"}
ROLES = {"ana": "analyst", "pat": "partner", "pub": "public"}
MONTH = "2025-12"


@pytest.fixture(scope="session")
def web_files(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("web")
    users = folder / "users.json"
    tokens = {name: add_user(users, name, ROLES[name], PASSWORDS[name], with_token=True) for name in PASSWORDS}
    return {"db": sample_store, "users": users, "audit": folder / "audit.jsonl", "tokens": tokens}


@pytest.fixture(scope="session")
def quick_users(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same users with cheap password hashes, for tests that sign in many times."""
    users = tmp_path_factory.mktemp("quick") / "users.json"
    for name in PASSWORDS:
        add_user(users, name, ROLES[name], PASSWORDS[name], iterations=1000)
    return users


class CachedBuild:
    """build_month with the session's one build of MONTH kept; records what it was asked."""

    def __init__(self) -> None:
        self.models: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[Path, str]] = []

    def __call__(self, path: Path, month: str) -> dict[str, Any]:
        self.calls.append((path, month))
        if month not in self.models:
            self.models[month] = build_month(path, month)
        return self.models[month]


@pytest.fixture(scope="session")
def cached_build() -> CachedBuild:
    return CachedBuild()


@pytest.fixture(scope="session")
def make_app(web_files: dict[str, Any], cached_build: CachedBuild, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Any]:
    def make(users: Path | None = None, build: Any = None, **kwargs: Any) -> Any:
        audit = kwargs.pop("audit", tmp_path_factory.mktemp("audit") / "audit.jsonl")
        kwargs.setdefault("sessions", Sessions(b"k" * 32))
        return create_app(web_files["db"], users or web_files["users"], audit, build=build or cached_build, **kwargs)

    return make


@pytest.fixture(scope="session")
def client(web_files: dict[str, Any], cached_build: CachedBuild) -> Iterator[TestClient]:
    app = create_app(web_files["db"], web_files["users"], web_files["audit"], sessions=Sessions(b"k" * 32),
                     build=cached_build, warm=[MONTH])
    with TestClient(app) as c:
        assert app.state.builds.wait_month(MONTH, 300) is not None
        yield c
