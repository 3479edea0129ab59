"""Users, roles, password and token checks, sessions, login throttling and the audit log.

- Users live in a JSON file (default: beside the store, ``<db>.users.json``, mode 0600)
  written by ``thrv user add``; passwords are stored only as PBKDF2-SHA256 hashes with a
  per-user salt (600,000 iterations, as OWASP recommends for this algorithm).
- API tokens are ``thrv_<id>_<secret>``: the id (public) finds the one user it belongs to,
  and only that user's hash is checked. The secret is 256 random bits, so one SHA-256 is
  enough (key stretching protects guessable passwords, not random keys; package indexes
  and code hosts store their tokens the same way) and a wrong token costs microseconds.
- A password check costs the same whether or not the user exists: an unknown name is
  checked against a dummy hash of the same strength, so timing tells nothing.
- There is no default user or password: the server refuses to start until one exists.
- Roles: ``analyst`` sees everything and may start builds; ``partner`` sees aggregated
  figures only (no LSOA rows, no record-level or quarantine data); ``public`` sees only
  the disclosure-controlled view.
- Browser sessions are HMAC-signed cookies that expire and carry a random id, which
  logout revokes (the revocations are kept, beside the users file, until the cookie
  would have expired). The signing key comes from THRV_SECRET_KEY or is generated per
  process (sessions then end on restart).
- Every request is appended to a JSON-lines audit log (mode 0600): who, role, what, when,
  the answer's status.
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
import time
import tomllib
from collections import deque
from dataclasses import asdict, dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

ROLES = ("analyst", "partner", "public")
ITERATIONS = 600_000
SESSION_HOURS = 8
TOKEN_PREFIX = "thrv_"
SETTINGS = resources.files("thrv") / "data" / "config" / "web.toml"


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str
    token_hash: str = ""
    token_id: str = ""
    force: str = ""  # the force the dashboard opens on ("" = the store's first with data)


class AuthError(Exception):
    """A problem with the users file or a user request (message fit to show)."""


def hash_secret(secret: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """'pbkdf2_sha256$iterations$salt$hash' for a password."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def hash_token(secret: str) -> str:
    """'sha256$hex' for the random part of an API token (see the module docstring)."""
    return "sha256$" + hashlib.sha256(secret.encode("utf-8")).hexdigest()


def verify_secret(secret: str, stored: str) -> bool:
    """Whether ``secret`` matches a stored hash of either scheme (compared in constant time)."""
    if stored.startswith("sha256$"):
        return hmac.compare_digest(hash_token(secret), stored)
    try:
        scheme, iterations, salt_b64, digest_b64 = stored.split("$")
        if scheme != "pbkdf2_sha256":
            return False
        digest = hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), base64.b64decode(salt_b64), int(iterations))
        return hmac.compare_digest(digest, base64.b64decode(digest_b64))
    except ValueError:
        return False


def split_token(token: str) -> tuple[str, str] | None:
    """(id, secret) of a ``thrv_<id>_<secret>`` token, or None for anything else."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    token_id, sep, secret = token[len(TOKEN_PREFIX):].partition("_")
    if not sep or len(token_id) != 16 or not secret:
        return None
    return token_id, secret


def users_path_for(db: Path) -> Path:
    return db.with_name(db.name + ".users.json")


def load_users(path: Path) -> dict[str, User]:
    if not path.exists():
        return {}
    known = {f.name for f in fields(User)}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {u["name"]: User(**{k: v for k, v in u.items() if k in known}) for u in raw.get("users", [])}
    except (ValueError, TypeError, KeyError) as exc:
        raise AuthError(f"{path}: not a valid users file ({exc})") from exc


def save_users(path: Path, users: dict[str, User]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"users": [asdict(u) for u in users.values()]}, indent=1), encoding="utf-8")
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def add_user(
    path: Path, name: str, role: str, password: str, with_token: bool = False, force: str = "",
    iterations: int = ITERATIONS,
) -> str | None:
    """Create or replace a user; returns a new API token when asked for (shown once)."""
    if role not in ROLES:
        raise AuthError(f"role must be one of {', '.join(ROLES)}")
    if not name or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise AuthError("user names use letters, digits, '.', '-' and '_'")
    if len(password) < 10:
        raise AuthError("passwords must be at least 10 characters")
    users = load_users(path)
    token = token_id = token_hash = ""
    if with_token:
        token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        token, token_hash = f"{TOKEN_PREFIX}{token_id}_{secret}", hash_token(secret)
    users[name] = User(name, role, hash_secret(password, iterations=iterations), token_hash, token_id, force)
    save_users(path, users)
    return token or None


class Credentials:
    """Checks passwords and tokens against the users, in time that does not depend on the user.

    Correct secrets are remembered (as an HMAC under a per-process key) so an API client
    using HTTP Basic pays the PBKDF2 cost once, not on every request. PBKDF2 runs at most
    two at a time, so a flood of sign-ins cannot take every core.
    """

    def __init__(self, users: dict[str, User]) -> None:
        self.users = users
        self._by_token = {u.token_id: u for u in users.values() if u.token_id}
        iterations = next((int(u.password_hash.split("$")[1]) for u in users.values()
                           if u.password_hash.startswith("pbkdf2_sha256$")), ITERATIONS)
        self._dummy = hash_secret(secrets.token_urlsafe(16), iterations=iterations)
        self._key = secrets.token_bytes(32)
        self._known: dict[bytes, str] = {}
        self._slots = threading.BoundedSemaphore(2)

    def password(self, name: str, password: str) -> User | None:
        user = self.users.get(name)
        mark = hmac.new(self._key, f"{name}\0{password}".encode(), hashlib.sha256).digest()
        if user is not None and self._known.get(mark) == name:
            return user
        with self._slots:
            ok = verify_secret(password, user.password_hash if user else self._dummy)
        if user is None or not ok:
            return None
        if len(self._known) > 10_000:
            self._known.clear()
        self._known[mark] = name
        return user

    def token(self, token: str) -> User | None:
        parts = split_token(token)
        token_id, secret = parts or ("", token)
        user = self._by_token.get(token_id)
        ok = verify_secret(secret, user.token_hash if user else hash_token(""))
        return user if user is not None and ok else None


@dataclass(frozen=True)
class ThrottleSettings:
    user_failures: int = 5
    address_failures: int = 20
    window_minutes: float = 15
    lockout_minutes: float = 15


def load_settings(path: Path | None = None) -> dict[str, Any]:
    """The serve settings file (web.toml) as a dict."""
    text = Path(path).read_text(encoding="utf-8") if path else SETTINGS.read_text(encoding="utf-8")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AuthError(f"{path or 'web.toml'}: not valid TOML ({exc})") from exc


class LoginThrottle:
    """Failed sign-ins per user name and per address over a sliding window, with lockout."""

    def __init__(self, settings: ThrottleSettings | None = None, clock: Any = time.monotonic) -> None:
        self.settings = settings or ThrottleSettings()
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._locked: dict[str, float] = {}
        self._lock = threading.Lock()

    def locked_for(self, name: str | None, address: str | None) -> float:
        """Seconds until a lock on this name or address ends (0 when neither is locked)."""
        now = self.clock()
        with self._lock:
            ends = [self._locked.get(k, 0.0) for k in self._keys(name, address)]
        return max([e - now for e in ends] + [0.0])

    def failure(self, name: str | None, address: str | None) -> None:
        s = self.settings
        now = self.clock()
        with self._lock:
            for key in self._keys(name, address):
                times = self._failures.setdefault(key, deque())
                times.append(now)
                while times and times[0] < now - s.window_minutes * 60:
                    times.popleft()
                limit = s.user_failures if key.startswith("user:") else s.address_failures
                if len(times) >= limit:
                    self._locked[key] = now + s.lockout_minutes * 60
                    times.clear()
            if len(self._failures) > 100_000:  # a spray of names: forget the oldest windows
                self._failures.clear()

    def success(self, name: str) -> None:
        """A correct sign-in clears that name's count (not the address's: one good account
        must not reset the count of guesses made from the same place at others)."""
        with self._lock:
            self._failures.pop(f"user:{name.lower()}", None)

    @staticmethod
    def _keys(name: str | None, address: str | None) -> list[str]:
        keys = [f"user:{name.lower()}"] if name else []
        return keys + ([f"addr:{address}"] if address else [])


class Sessions:
    """Signed, expiring session values ('name|expiry|id' + HMAC, base64) that logout revokes."""

    def __init__(self, key: bytes | None = None, revoked_file: Path | None = None) -> None:
        env = os.environ.get("THRV_SECRET_KEY")
        self.key = key or (env.encode() if env else secrets.token_bytes(32))
        self.revoked_file = revoked_file
        self._revoked: dict[str, int] = {}
        self._lock = threading.Lock()
        if revoked_file and revoked_file.exists():
            try:
                self._revoked = {str(k): int(v) for k, v in json.loads(revoked_file.read_text(encoding="utf-8")).items()}
            except (ValueError, TypeError, AttributeError):
                self._revoked = {}

    def issue(self, name: str, hours: float = SESSION_HOURS) -> str:
        expiry = int((dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)).timestamp())
        body = f"{name}|{expiry}|{secrets.token_hex(16)}".encode()
        mac = hmac.new(self.key, body, hashlib.sha256).hexdigest()
        return base64.urlsafe_b64encode(body + b"|" + mac.encode()).decode()

    def _parse(self, value: str) -> tuple[str, int, str] | None:
        try:
            raw = base64.urlsafe_b64decode(value.encode())
            name, expiry, sid, mac = raw.decode().rsplit("|", 3)
            good = hmac.new(self.key, f"{name}|{expiry}|{sid}".encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(good, mac):
                return None
            return name, int(expiry), sid
        except (ValueError, UnicodeDecodeError):
            return None

    def read(self, value: str) -> str | None:
        parsed = self._parse(value)
        if parsed is None:
            return None
        name, expiry, sid = parsed
        if expiry < dt.datetime.now(dt.UTC).timestamp() or sid in self._revoked:
            return None
        return name

    def revoke(self, value: str) -> bool:
        """End a session now (logout): its cookie is refused from here on, even if kept."""
        parsed = self._parse(value)
        if parsed is None:
            return False
        now = dt.datetime.now(dt.UTC).timestamp()
        with self._lock:
            self._revoked = {k: v for k, v in self._revoked.items() if v > now}
            self._revoked[parsed[2]] = parsed[1]
            if self.revoked_file:
                _write_private(self.revoked_file, json.dumps(self._revoked))
        return True


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    tmp.replace(path)


class AuditLog:
    """Append-only JSON lines, one per request (refused ones too), readable by its owner only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)  # an older log may have been created world-readable

    def write(self, **entry: Any) -> None:
        entry = {"at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"), **entry}
        line = json.dumps(entry, ensure_ascii=False)
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]
