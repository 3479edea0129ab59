"""The server under attack: guessing, timing, token spraying, CSRF, stolen cookies, injected
script, and what the audit log keeps of it all."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import MONTH, PASSWORDS
from thrv.web.auth import (
    Credentials,
    LoginThrottle,
    ThrottleSettings,
    add_user,
    load_users,
    split_token,
)

SETTINGS = {"login": {"user_failures": 3, "address_failures": 6, "window_minutes": 15, "lockout_minutes": 15}}


@pytest.fixture
def hard(make_app: Callable[..., Any], quick_users: Path, tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    """A fresh app (its own throttle and audit log) with cheap hashes and strict limits."""
    audit = tmp_path / "audit.jsonl"
    app = make_app(users=quick_users, settings=SETTINGS, audit=audit)
    with TestClient(app) as c:
        yield c, audit


def _login(c: TestClient, name: str, password: str, **headers: str) -> Any:
    return c.post("/login", data={"username": name, "password": password}, headers=headers, follow_redirects=False)


def test_repeated_failures_lock_the_user_whatever_the_address(hard: tuple[TestClient, Path]) -> None:
    c, _ = hard
    for _ in range(3):
        assert _login(c, "ana", "wrong-password-x").status_code == 401
    locked = _login(c, "ana", PASSWORDS["ana"])  # the right password no longer opens it
    assert locked.status_code == 429 and "try again in 15 minute" in locked.text
    assert int(locked.headers["retry-after"]) > 800
    basic = c.get("/api/months", auth=("ana", PASSWORDS["ana"]))
    assert basic.status_code == 429
    assert _login(c, "pat", PASSWORDS["pat"]).status_code == 303  # other users are not affected


def test_repeated_failures_lock_the_address_across_user_names(hard: tuple[TestClient, Path]) -> None:
    c, _ = hard
    for i in range(6):  # a spray: a different (mostly unknown) name each time
        assert _login(c, f"guess{i}", "wrong-password-x").status_code == 401
    assert _login(c, "pat", PASSWORDS["pat"]).status_code == 429
    assert c.get("/api/months", headers={"Authorization": "Bearer thrv_0123456789abcdef_x"}).status_code == 429


def test_a_correct_sign_in_clears_only_its_own_count() -> None:
    now = [0.0]
    t = LoginThrottle(ThrottleSettings(user_failures=3, address_failures=5), clock=lambda: now[0])
    t.failure("ana", "1.2.3.4")
    t.failure("ana", "1.2.3.4")
    t.success("ana")
    t.failure("ana", "1.2.3.4")
    assert t.locked_for("ana", None) == 0  # the count restarted after the success
    t.failure("bob", "1.2.3.4")
    t.failure("cy", "1.2.3.4")  # the address's fifth failure: the success did not reset it
    assert t.locked_for(None, "1.2.3.4") == pytest.approx(900)
    now[0] = 901.0
    assert t.locked_for(None, "1.2.3.4") == 0  # the lock ends
    now[0] = 10_000.0
    t.failure("dan", "5.6.7.8")
    assert t.locked_for("dan", "5.6.7.8") == 0  # failures older than the window are forgotten


def test_login_costs_one_full_hash_whether_or_not_the_user_exists(
    quick_users: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = Credentials(load_users(quick_users))
    calls: list[int] = []
    real = hashlib.pbkdf2_hmac

    def counting(name: str, password: bytes, salt: bytes, iterations: int, *a: Any) -> bytes:
        calls.append(iterations)
        return real(name, password, salt, iterations, *a)

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", counting)
    assert creds.password("ana", "wrong-password-x") is None
    known = list(calls)
    calls.clear()
    assert creds.password("nobody-at-all", "wrong-password-x") is None
    assert known == calls == [1000]  # the same work: timing cannot tell the two apart
    calls.clear()
    assert creds.password("ana", PASSWORDS["ana"]) is not None


def test_tokens_are_found_by_id_and_checked_without_key_stretching(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = tmp_path / "users.json"
    tokens = [add_user(users, f"u{i}", "analyst", "a-long-password", with_token=True, iterations=1000) for i in range(5)]
    creds = Credentials(load_users(users))
    monkeypatch.setattr(hashlib, "pbkdf2_hmac", lambda *a: pytest.fail("a token check ran PBKDF2"))
    assert tokens[3] and creds.token(tokens[3]).name == "u3"  # type: ignore[union-attr]
    token_id, secret = split_token(tokens[3])  # type: ignore[misc, arg-type]
    assert creds.token(f"thrv_{token_id}_{secret}x") is None  # right id, wrong secret
    assert creds.token(f"thrv_{'0' * 16}_{secret}") is None  # unknown id
    assert creds.token("not-a-token") is None and creds.token("") is None
    stored = json.loads(users.read_text())["users"][3]
    assert secret not in json.dumps(stored) and stored["token_hash"].startswith("sha256$")


def test_logout_revokes_the_session_even_if_the_cookie_is_kept(hard: tuple[TestClient, Path]) -> None:
    c, audit = hard
    r = _login(c, "ana", PASSWORDS["ana"])
    cookie = r.cookies["thrv_session"]
    c.cookies.clear()
    assert c.get("/api/months", cookies={"thrv_session": cookie}).status_code == 200
    assert c.post("/logout", cookies={"thrv_session": cookie}, follow_redirects=False).status_code == 303
    assert c.get("/api/months", cookies={"thrv_session": cookie}).status_code == 401
    page = c.get("/", cookies={"thrv_session": cookie}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login"
    entries = [json.loads(x) for x in audit.read_text().splitlines()]
    assert any(e["path"] == "/logout" and e.get("event") == "logout" and e["user"] == "ana" for e in entries)


def test_revocations_outlive_a_restart(make_app: Callable[..., Any], quick_users: Path, tmp_path: Path) -> None:
    from thrv.web.auth import Sessions

    revoked = tmp_path / "revoked.json"
    first = Sessions(b"r" * 32, revoked_file=revoked)
    cookie = first.issue("ana")
    assert first.revoke(cookie)
    assert stat.S_IMODE(os.stat(revoked).st_mode) == 0o600
    again = Sessions(b"r" * 32, revoked_file=revoked)
    assert again.read(cookie) is None and again.read(again.issue("ana")) == "ana"


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"referer": "https://evil.example/page"},
        {"sec-fetch-site": "cross-site", "origin": "https://evil.example"},
        {"sec-fetch-site": "same-site"},
    ],
)
def test_state_changing_requests_from_another_site_are_refused(hard: tuple[TestClient, Path], headers: dict[str, str]) -> None:
    c, audit = hard
    r = _login(c, "ana", PASSWORDS["ana"], **headers)
    assert r.status_code == 403 and "cross-site" in r.json()["detail"]
    assert "thrv_session" not in r.cookies  # login CSRF: no session was made
    assert json.loads(audit.read_text().splitlines()[-1])["status"] == 403


def test_same_site_and_headerless_requests_are_let_through(hard: tuple[TestClient, Path]) -> None:
    c, _ = hard
    assert _login(c, "ana", PASSWORDS["ana"], origin="http://testserver").status_code == 303
    assert _login(c, "ana", PASSWORDS["ana"], **{"sec-fetch-site": "same-origin", "origin": "null"}).status_code == 303
    assert _login(c, "ana", PASSWORDS["ana"]).status_code == 303  # curl and scripts send neither header


def test_pages_run_under_a_strict_content_security_policy(hard: tuple[TestClient, Path]) -> None:
    c, _ = hard
    _login(c, "ana", PASSWORDS["ana"])
    for url in ("/login", "/", "/docs", f"/api/pack?month={MONTH}&area=Fenland&indicator=burglary"):
        r = c.get(url)
        policy = r.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        if r.headers["content-type"].startswith("text/html"):
            html = r.text
            assert not re.search(r"<script(?![^>]*\bsrc=)", html), url  # no inline script
            assert "<style" not in html and not re.search(r"\sstyle=", html), url  # no inline style
            assert not re.search(r"\son[a-z]+=", html), url  # no inline event handlers
            assert not re.search(r"(src|href)=\"(https?:)?//", html), url  # nothing from elsewhere
    assert "style-src 'self' 'unsafe-inline'" in c.get("/redoc").headers["content-security-policy"]
    c.cookies.clear()


def test_api_documentation_assets_are_served_from_here(hard: tuple[TestClient, Path]) -> None:
    c, _ = hard
    for url in ("/docs", "/redoc"):
        html = c.get(url).text
        assets = re.findall(r"(?:src|href)=\"([^\"]+)\"", html)
        assert assets and all(a.startswith("/") for a in assets), assets
        for asset in assets:
            r = c.get(asset)
            assert r.status_code == 200 and len(r.content) > 100, asset
    assert c.get("/static/docs/../../auth.py").status_code == 404
    assert c.get("/static/docs/secrets.txt").status_code == 404


def test_every_request_is_audited_refused_ones_too(hard: tuple[TestClient, Path]) -> None:
    c, audit = hard
    assert stat.S_IMODE(os.stat(audit).st_mode) == 0o600
    c.get("/api/health")
    c.get("/openapi.json")
    c.get("/docs")
    c.get(f"/api/pack?month={MONTH}")  # 401
    c.get("/api/status", auth=("pub", PASSWORDS["pub"]))  # 403
    c.get("/api/pack?month=2025-13", auth=("ana", PASSWORDS["ana"]))  # 422
    c.get("/api/pack?month=2025-12&area=" + "x" * 3000)  # 414
    c.post("/login", content=b"x" * 100_000, headers={"content-type": "application/x-www-form-urlencoded"})  # 413
    _login(c, "nobody", "wrong-password-x")  # 401
    entries = [json.loads(x) for x in audit.read_text().splitlines()]
    seen = {(e["path"], e["status"]) for e in entries}
    assert {("/api/health", 200), ("/openapi.json", 200), ("/docs", 200), ("/api/pack", 401),
            ("/api/status", 403), ("/api/pack", 422), ("/api/pack", 414), ("/login", 413), ("/login", 401)} <= seen
    assert any(e["user"] == "pub" and e["role"] == "public" and e["status"] == 403 for e in entries)
    assert any(e["user"] == "nobody" and e["status"] == 401 for e in entries)  # the name tried is kept
    text = audit.read_text()
    assert all(p not in text for p in PASSWORDS.values())
    assert base64.b64encode(f"pub:{PASSWORDS['pub']}".encode()).decode() not in text


def test_an_old_world_readable_audit_log_is_made_private(tmp_path: Path) -> None:
    from thrv.web.auth import AuditLog

    path = tmp_path / "old.jsonl"
    path.write_text("")
    os.chmod(path, 0o644)
    AuditLog(path).write(user="x")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
