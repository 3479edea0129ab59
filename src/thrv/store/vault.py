"""The identifier vault: names, dates of birth and addresses, apart from the analysis store.

A vault is its own DuckDB file (by default ``<db>.vault.duckdb`` beside the store). Every
record's identifying fields are sealed with AES-256-GCM under the vault key (random 96-bit
nonce per record; the partner and record key are bound in as associated data, so a sealed
value cannot be moved to another record). Only a holder of the vault key can open them:
linkage does, in memory, and so does :meth:`Vault.reidentify`, which logs who asked, why
and when in the vault's ``access_log``. The analysis store sees only keyed pseudonyms
(:mod:`thrv.linkage.keys`).

Each person file is written in one transaction, idempotently by content hash; a newer file
from the same partner replaces records with the same ``record_id``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from thrv.linkage.keys import Keys
from thrv.sources.partner_people import PeopleRead

_TABLES = [
    """CREATE TABLE IF NOT EXISTS vault_files (
  sha256 VARCHAR PRIMARY KEY, partner VARCHAR NOT NULL, file VARCHAR NOT NULL,
  rows_read BIGINT, rows_stored BIGINT, rows_quarantined BIGINT, ingested_at TIMESTAMPTZ)""",
    """CREATE TABLE IF NOT EXISTS identifiers (
  partner VARCHAR NOT NULL, record_id VARCHAR NOT NULL, record_key VARCHAR NOT NULL,
  sealed BLOB NOT NULL, source_file VARCHAR NOT NULL, source_line INTEGER NOT NULL,
  PRIMARY KEY (partner, record_id))""",
    """CREATE TABLE IF NOT EXISTS vault_quarantine (
  partner VARCHAR, file VARCHAR, line INTEGER, raw_sealed BLOB, reason VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS access_log (
  logged_at TIMESTAMPTZ NOT NULL, actor VARCHAR NOT NULL, action VARCHAR NOT NULL,
  partner VARCHAR, record_key VARCHAR, reason VARCHAR)""",
]

FIELDS = ("forename", "surname", "date_of_birth", "postcode", "address", "identifier", "sex")


def vault_path_for(db: str | Path) -> Path:
    db = Path(db)
    stem = db.name[: -len(".duckdb")] if db.name.endswith(".duckdb") else db.name
    return db.with_name(stem + ".vault.duckdb")


class VaultError(Exception):
    """The vault cannot be opened or its key does not open it."""


class Vault:
    """An open identifier vault. Use as a context manager."""

    def __init__(self, path: str | Path, keys: Keys, read_only: bool = False) -> None:
        self.path = Path(path)
        self.keys = keys
        self._aead = AESGCM(keys.vault[:32])
        if read_only and not self.path.exists():
            raise VaultError(f"{self.path}: no identifier vault (ingest person records with --partner first)")
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists()
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as exc:
            raise VaultError(f"{self.path}: cannot open the identifier vault ({exc})") from exc
        if new:
            os.chmod(self.path, 0o600)
        if not read_only:
            for sql in _TABLES:
                self.con.execute(sql)
        self._check_key()

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self.con.begin()
        try:
            yield self.con
        except BaseException:
            self.con.rollback()
            raise
        self.con.commit()

    # -- sealing -------------------------------------------------------------------------
    def seal(self, partner: str, record_key: str, fields: dict[str, str]) -> bytes:
        nonce = os.urandom(12)
        body = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
        return nonce + self._aead.encrypt(nonce, body, f"{partner}\x1f{record_key}".encode())

    def unseal(self, partner: str, record_key: str, sealed: bytes) -> dict[str, str]:
        from cryptography.exceptions import InvalidTag

        try:
            body = self._aead.decrypt(sealed[:12], sealed[12:], f"{partner}\x1f{record_key}".encode())
        except InvalidTag as exc:
            raise VaultError(f"{self.path}: the vault key does not open this vault") from exc
        return dict(json.loads(body))

    def _check_key(self) -> None:
        row = self.con.execute("SELECT partner, record_key, sealed FROM identifiers LIMIT 1").fetchall()
        if row:
            self.unseal(row[0][0], row[0][1], row[0][2])

    # -- writing -------------------------------------------------------------------------
    def seen(self, sha256: str) -> str | None:
        rows = self.con.execute("SELECT file FROM vault_files WHERE sha256 = ?", [sha256]).fetchall()
        return str(rows[0][0]) if rows else None

    def write_people(self, partner: str, read: PeopleRead, record_keys: list[str]) -> int:
        """Seal and store one file's records (replacing the same record ids); returns replaced."""
        sealed = [
            self.seal(partner, key, {f: row.get(f, "") for f in FIELDS})
            for row, key in zip(read.rows, record_keys, strict=True)
        ]
        frame = pd.DataFrame({
            "partner": partner,
            "record_id": [r["record_id"] for r in read.rows],
            "record_key": record_keys,
            "sealed": sealed,
            "source_file": read.name,
            "source_line": read.lines,
        })
        bad = pd.DataFrame({
            "partner": partner, "file": read.name,
            "line": [b.line for b in read.bad],
            "raw_sealed": [self.seal(partner, f"line{b.line}", {"raw": b.raw}) for b in read.bad],
            "reason": [b.reason for b in read.bad],
        })
        with self.transaction() as con:
            con.register("_people", frame)
            con.register("_bad", bad)
            try:
                replaced = int(con.execute(
                    "SELECT count(*) FROM identifiers i JOIN _people p USING (partner, record_id)"
                ).fetchall()[0][0])
                con.execute("DELETE FROM identifiers i WHERE EXISTS (SELECT 1 FROM _people p "
                            "WHERE p.partner = i.partner AND p.record_id = i.record_id)")
                con.execute("INSERT INTO identifiers SELECT partner, record_id, record_key, sealed, "
                            "source_file, source_line FROM _people")
                if len(bad):
                    con.execute("INSERT INTO vault_quarantine SELECT partner, file, line, raw_sealed, reason FROM _bad")
                con.execute(
                    "INSERT INTO vault_files VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [read.sha256, partner, read.name, read.rows_read, len(read.rows), len(read.bad),
                     dt.datetime.now(dt.UTC)],
                )
            finally:
                con.unregister("_people")
                con.unregister("_bad")
        return replaced

    # -- reading -------------------------------------------------------------------------
    def people(self, partners: list[str] | None = None) -> pd.DataFrame:
        """Every record, opened: ``unique_id`` (the record key), ``partner``, ``record_id`` and the fields.

        For linkage only; the frame lives in memory and is never written to the store.
        """
        sql = "SELECT partner, record_id, record_key, sealed FROM identifiers"
        params: list[Any] = []
        if partners:
            sql += " WHERE partner IN (SELECT unnest(?))"
            params.append(partners)
        rows = self.con.execute(sql + " ORDER BY partner, record_id", params).fetchall()
        opened = [self.unseal(p, k, s) for p, _r, k, s in rows]
        frame = pd.DataFrame(opened, columns=list(FIELDS))
        frame.insert(0, "unique_id", [r[2] for r in rows])
        frame.insert(1, "partner", [r[0] for r in rows])
        frame.insert(2, "record_id", [r[1] for r in rows])
        return frame

    def record_ids(self) -> pd.DataFrame:
        """partner, record_id, record_key for every record (no identifying fields)."""
        return self.con.execute(
            "SELECT partner, record_id, record_key FROM identifiers ORDER BY partner, record_id"
        ).df()

    def counts(self) -> dict[str, int]:
        rows = self.con.execute("SELECT partner, count(*) FROM identifiers GROUP BY 1 ORDER BY 1").fetchall()
        return {str(p): int(n) for p, n in rows}

    def reidentify(self, record_key: str, actor: str, reason: str) -> dict[str, str]:
        """A record's identifiers, for a vault holder with a stated reason; the request is logged."""
        if not actor.strip() or not reason.strip():
            raise VaultError("re-identification needs the name of who asks and why")
        rows = self.con.execute(
            "SELECT partner, record_id, sealed FROM identifiers WHERE record_key = ?", [record_key]
        ).fetchall()
        self.log(actor, "reidentify", rows[0][0] if rows else None, record_key, reason)
        if not rows:
            raise VaultError(f"no record with key {record_key} in the vault")
        partner, record_id, sealed = rows[0]
        return {"partner": partner, "record_id": record_id, **self.unseal(partner, record_key, sealed)}

    def log(self, actor: str, action: str, partner: str | None, record_key: str | None, reason: str) -> None:
        self.con.execute(
            "INSERT INTO access_log VALUES (?, ?, ?, ?, ?, ?)",
            [dt.datetime.now(dt.UTC), actor, action, partner, record_key, reason],
        )

    def access_log(self) -> pd.DataFrame:
        return self.con.execute("SELECT * FROM access_log ORDER BY logged_at").df()

    def splink_api(self) -> Any:
        """A Splink DuckDB API on a fresh in-memory database: opened identifiers stay in memory."""
        from splink import DuckDBAPI

        con = duckdb.connect()
        con.execute("SET threads TO 2")
        return DuckDBAPI(connection=con)
