"""A web app over the real sample store, with one user per role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from thrv.web.app import create_app
from thrv.web.auth import Sessions, add_user

PASSWORDS = {"ana": "analyst-password-1", "pat": "partner-password-1", "pub": "public-password-1"}
ROLES = {"ana": "analyst", "pat": "partner", "pub": "public"}


@pytest.fixture(scope="session")
def web_files(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("web")
    users = folder / "users.json"
    tokens = {name: add_user(users, name, ROLES[name], PASSWORDS[name], with_token=True) for name in PASSWORDS}
    return {"db": sample_store, "users": users, "audit": folder / "audit.jsonl", "tokens": tokens}


@pytest.fixture(scope="session")
def client(web_files: dict[str, object]) -> Iterator[TestClient]:
    app = create_app(web_files["db"], web_files["users"], web_files["audit"], sessions=Sessions(b"k" * 32))  # type: ignore[arg-type]
    with TestClient(app) as c:
        yield c
