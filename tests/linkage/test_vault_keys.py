"""Keys come from outside the store; identifiers live only in the sealed vault."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

import pytest

from thrv.linkage.keys import Keys, KeysError, keyed_hash, load_keys
from thrv.sources.partner_people import read_people
from thrv.store.vault import Vault, VaultError


def test_record_keys_are_hmac_sha256_with_a_key_per_partner() -> None:
    project = secrets.token_bytes(32)
    keys = Keys(project=project, vault=secrets.token_bytes(32), partners={"police": b"p" * 32})
    expected = hmac.new(b"p" * 32, b"record:R1", hashlib.sha256).hexdigest()[:32]
    assert keys.record_key("police", "R1") == expected
    derived = hmac.new(project, b"partner:council", hashlib.sha256).digest()
    assert keys.record_key("Council", "R1") == keyed_hash(derived, "record:R1")
    assert keys.record_key("police", "R1") != keys.record_key("council", "R1")
    assert "p" * 10 not in repr(keys)


def test_keys_from_environment_or_a_new_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("THRV_PROJECT_KEY", "THRV_VAULT_KEY", "THRV_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    db = tmp_path / "x.duckdb"
    with pytest.raises(KeysError, match="no linkage keys"):
        load_keys(db)
    made = load_keys(db, create=True)
    key_file = tmp_path / "x.duckdb.keys.toml"
    assert key_file.exists() and (key_file.stat().st_mode & 0o077) == 0
    assert load_keys(db).project == made.project
    monkeypatch.setenv("THRV_PROJECT_KEY", "ab" * 32)
    monkeypatch.setenv("THRV_VAULT_KEY", "cd" * 32)
    assert load_keys(db).project == bytes.fromhex("ab" * 32)
    monkeypatch.setenv("THRV_PROJECT_KEY", "abcd")
    with pytest.raises(KeysError, match="at least 32 bytes"):
        load_keys(db)


def test_vault_seals_identifiers_and_logs_reidentification(tmp_path: Path) -> None:
    keys = Keys(project=secrets.token_bytes(32), vault=secrets.token_bytes(32))
    read = read_people("p.csv", b"record_id,forename,surname,date_of_birth,postcode,address\n"
                                b"1,Zebedee,Quarrington,1970-01-01,CB1 2AB,9 Mill Road\n")
    path = tmp_path / "v.duckdb"
    key = keys.record_key("police", "1")
    with Vault(path, keys) as vault:
        vault.write_people("police", read, [key])
        assert vault.people()["surname"].tolist() == ["Quarrington"]
        with pytest.raises(VaultError, match="who asks and why"):
            vault.reidentify(key, "", "")
        assert vault.reidentify(key, "A Analyst", "safeguarding check")["forename"] == "Zebedee"
        log = vault.access_log()
        assert log["actor"].tolist() == ["A Analyst"] and log["reason"].tolist() == ["safeguarding check"]
    assert b"Quarrington" not in path.read_bytes()  # sealed, not stored as text
    other = Keys(project=keys.project, vault=secrets.token_bytes(32))
    with pytest.raises(VaultError, match="does not open"):
        Vault(path, other)
