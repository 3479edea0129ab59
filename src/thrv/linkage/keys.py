"""Linkage keys: where they come from and the keyed hashes made with them.

Analysis never sees a record's own identifiers, only pseudonymous keys made by keyed
HMAC-SHA-256 (RFC 2104), so a key cannot be recomputed from a name or a record number
without the secret:

- a **partner key** per partner turns that partner's record ids into *record keys*
  (``HMAC(partner key, "record:" + record id)``); one partner cannot compute another's;
- the **project key** turns a linked cluster into a *person key* and an address into a
  *household key* shared across partners;
- the **vault key** seals the identifiers in the vault (AES-256-GCM, see
  :mod:`thrv.store.vault`).

Keys are never stored in the repository or in the analysis store. They come, in order,
from the environment (``THRV_PROJECT_KEY``, ``THRV_VAULT_KEY``, ``THRV_PARTNER_KEY_<NAME>``,
hex or base64 of at least 32 bytes) or from a key file (TOML; ``THRV_KEY_FILE`` or
``--keys``; by default ``<db>.keys.toml`` beside the store, created with mode 0600 on
first use). A partner without a key of its own gets one derived from the project key
(``HMAC(project key, "partner:" + name)``), documented in docs/linkage.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

MIN_KEY_BYTES = 32


class KeysError(ValueError):
    """A key that is missing, too short or unreadable (the message names where from)."""


@dataclass(frozen=True)
class Keys:
    """The secrets of one project. ``repr`` never shows them."""

    project: bytes = field(repr=False)
    vault: bytes = field(repr=False)
    partners: dict[str, bytes] = field(default_factory=dict, repr=False)
    source: str = ""

    def partner(self, name: str) -> bytes:
        own = self.partners.get(partner_slug(name))
        if own is not None:
            return own
        return hmac.new(self.project, b"partner:" + partner_slug(name).encode(), hashlib.sha256).digest()

    def record_key(self, partner: str, record_id: str) -> str:
        return keyed_hash(self.partner(partner), "record:" + record_id)

    def person_key(self, anchor: str) -> str:
        return keyed_hash(self.project, "person:" + anchor)

    def household_key(self, address: str) -> str:
        return keyed_hash(self.project, "household:" + address)


def keyed_hash(key: bytes, text: str) -> str:
    """HMAC-SHA-256 of ``text`` (UTF-8) as 32 hex characters (128 bits: ample for keys)."""
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def partner_slug(name: str) -> str:
    """A partner's name as used in keys and tables: lower case, letters, digits and '_'."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")
    if not slug:
        raise KeysError(f"partner name {name!r} has no letters or digits")
    return slug


def decode_key(text: str, where: str) -> bytes:
    text = text.strip()
    raw: bytes | None = None
    if re.fullmatch(r"[0-9a-fA-F]+", text) and len(text) % 2 == 0:
        raw = bytes.fromhex(text)
    else:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None:
        raise KeysError(f"{where}: a key must be hex or base64")
    if len(raw) < MIN_KEY_BYTES:
        raise KeysError(f"{where}: a key must be at least {MIN_KEY_BYTES} bytes ({len(raw)} given)")
    return raw


def key_file_for(db: str | Path) -> Path:
    db = Path(db)
    return db.with_name(db.name + ".keys.toml")


def new_key_file(path: Path) -> None:
    """Write fresh random project and vault keys (mode 0600); refuse to overwrite."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "# thrv linkage keys: keep this file away from the store, the repository and any output.\n"
        "# Losing it makes the vault unreadable and person keys impossible to reproduce.\n"
        f'project = "{secrets.token_hex(32)}"\n'
        f'vault = "{secrets.token_hex(32)}"\n'
        "[partners]\n"
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def load_keys(db: str | Path | None = None, key_file: str | Path | None = None, create: bool = False) -> Keys:
    """The project's keys from the environment, else the key file (created when ``create``)."""
    env = os.environ
    path = Path(key_file or env.get("THRV_KEY_FILE") or (key_file_for(db) if db else ""))
    doc: dict[str, object] = {}
    if str(path) and path.name:
        if not path.exists() and create and not env.get("THRV_PROJECT_KEY"):
            new_key_file(path)
        if path.exists():
            try:
                doc = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise KeysError(f"{path}: cannot read the key file ({exc})") from exc
    project_text = env.get("THRV_PROJECT_KEY") or doc.get("project")
    vault_text = env.get("THRV_VAULT_KEY") or doc.get("vault")
    if not isinstance(project_text, str) or not isinstance(vault_text, str):
        raise KeysError(
            f"no linkage keys: set THRV_PROJECT_KEY and THRV_VAULT_KEY, or give a key file "
            f"(--keys or THRV_KEY_FILE; looked for {path or 'none'})"
        )
    partners: dict[str, bytes] = {}
    table = doc.get("partners", {})
    if isinstance(table, dict):
        for name, value in table.items():
            partners[partner_slug(name)] = decode_key(str(value), f"{path} [partners] {name}")
    for name, value in env.items():
        if name.startswith("THRV_PARTNER_KEY_"):
            partners[partner_slug(name[len("THRV_PARTNER_KEY_"):])] = decode_key(value, name)
    return Keys(
        project=decode_key(project_text, "project key"),
        vault=decode_key(vault_text, "vault key"),
        partners=partners,
        source="environment" if env.get("THRV_PROJECT_KEY") else str(path),
    )
