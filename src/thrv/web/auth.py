"""Users, roles, password hashing, sessions and the audit log for the dashboard and API.

- Users live in a JSON file (default: beside the store, ``<db>.users.json``) written by
  ``thrv user add``; passwords and API tokens are stored only as PBKDF2-SHA256 hashes with
  a per-user salt (hashlib; 600,000 iterations as OWASP recommends for this algorithm).
- There is no default user or password: the server refuses to start until one exists.
- Roles: ``analyst`` sees everything; ``partner`` sees aggregated figures only (no LSOA rows,
  no record-level or quarantine data); ``public`` sees only the disclosure-controlled view.
- Browser sessions are HMAC-signed cookies that expire; the signing key comes from the
  environment (THRV_SECRET_KEY) or is generated per process (sessions then end on restart).
- Every authenticated request is appended to a JSON-lines audit log: who, role, what, when.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROLES = ("analyst", "partner", "public")
ITERATIONS = 600_000
SESSION_HOURS = 8


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str
    token_hash: str = ""


class AuthError(Exception):
    """A problem with the users file or a user request (message fit to show)."""


def hash_secret(secret: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """'pbkdf2_sha256$iterations$salt$hash' for a password or token."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, iterations, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2_sha256":
        return False
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), base64.b64decode(salt_b64), int(iterations))
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


def users_path_for(db: Path) -> Path:
    return db.with_name(db.name + ".users.json")


def load_users(path: Path) -> dict[str, User]:
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {u["name"]: User(**u) for u in raw.get("users", [])}
    except (ValueError, TypeError, KeyError) as exc:
        raise AuthError(f"{path}: not a valid users file ({exc})") from exc


def save_users(path: Path, users: dict[str, User]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"users": [asdict(u) for u in users.values()]}, indent=1), encoding="utf-8")
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def add_user(path: Path, name: str, role: str, password: str, with_token: bool = False) -> str | None:
    """Create or replace a user; returns a new API token when asked for (shown once)."""
    if role not in ROLES:
        raise AuthError(f"role must be one of {', '.join(ROLES)}")
    if not name or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise AuthError("user names use letters, digits, '.', '-' and '_'")
    if len(password) < 10:
        raise AuthError("passwords must be at least 10 characters")
    users = load_users(path)
    token = secrets.token_urlsafe(32) if with_token else None
    users[name] = User(name, role, hash_secret(password), hash_secret(token) if token else "")
    save_users(path, users)
    return token


class Sessions:
    """Signed, expiring session values: 'name|expiry' + HMAC, base64."""

    def __init__(self, key: bytes | None = None) -> None:
        env = os.environ.get("THRV_SECRET_KEY")
        self.key = key or (env.encode() if env else secrets.token_bytes(32))

    def issue(self, name: str, hours: float = SESSION_HOURS) -> str:
        expiry = int((dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)).timestamp())
        body = f"{name}|{expiry}".encode()
        mac = hmac.new(self.key, body, hashlib.sha256).hexdigest()
        return base64.urlsafe_b64encode(body + b"|" + mac.encode()).decode()

    def read(self, value: str) -> str | None:
        try:
            raw = base64.urlsafe_b64decode(value.encode())
            name, expiry, mac = raw.decode().rsplit("|", 2)
        except (ValueError, UnicodeDecodeError):
            return None
        body = f"{name}|{expiry}".encode()
        good = hmac.new(self.key, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(good, mac):
            return None
        if int(expiry) < dt.datetime.now(dt.UTC).timestamp():
            return None
        return name


class AuditLog:
    """Append-only JSON lines: one line per authenticated request (and every failed login)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, **entry: Any) -> None:
        entry = {"at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **entry}
        line = json.dumps(entry, ensure_ascii=False)
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]
