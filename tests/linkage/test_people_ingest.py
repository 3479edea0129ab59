"""`thrv ingest PEOPLE.csv --partner NAME`: rows reconcile, re-ingest is idempotent, no identifier in the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from thrv.cli import app
from thrv.store.database import Store

HEADER = "record_id,forename,surname,date_of_birth,postcode,address,identifier,sex\n"


def _people(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    path.write_text(
        HEADER
        + "R1,José,O'Brien-Smith,1980-02-03,cb1 2ab,\"1 High St, Cambridge\",943 476 5919,M\n"
        + "R2,Bill,Jones,,75001,Paris,,\n"  # a French postcode and no date of birth: stored
        + "R3,Ann,Lee,03/02/1980,not a postcode,,,x\n"  # odd formats: stored, not quarantined
        + ",No,Id,,,,,\n"
        + "R1,Again,Same,,,,,\n"
        + "R4,short,row\n",
        encoding="utf-8")
    return path


def test_person_file_to_vault_and_keys(tmp_path: Path, link_keys: None) -> None:
    db = tmp_path / "t.duckdb"
    runner = CliRunner()
    first = runner.invoke(app, ["ingest", str(_people(tmp_path)), "--db", str(db), "--partner", "police"])
    assert first.exit_code == 0, first.output
    assert "rows read 6 = stored 3 + quarantined 3" in first.output
    again = runner.invoke(app, ["ingest", str(_people(tmp_path)), "--db", str(db), "--partner", "police"])
    assert "0 stored, 1 already in the store" in again.output
    assert (tmp_path / "t.vault.duckdb").exists()
    with Store(db, read_only=True) as store:
        assert store.count("partner_people") == 3
        reasons = store.df("SELECT line, reason, raw FROM quarantine ORDER BY line")
        assert reasons["line"].tolist() == [5, 6, 7]
        assert reasons["reason"].str.contains("record_id is empty|repeats line 2|expected 8 fields").all()
        # nothing identifying anywhere in the analysis store
        tables = store.df("SELECT table_name FROM information_schema.tables")["table_name"]
        for table in [t for t in tables if not t.startswith("ref_")]:  # shipped reference tables hold no input
            text = store.df(f"SELECT * FROM {table}").astype(str).to_string()
            for secret in ("O'Brien", "Jones", "Paris", "943 476", "1980-02-03", "CB1"):
                assert secret not in text, (table, secret)


def test_wrong_header_is_refused_with_one_line(tmp_path: Path, link_keys: None) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("id,first,last\n1,a,b\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["ingest", str(path), "--db", str(tmp_path / "t.duckdb"), "--partner", "x"])
    assert result.exit_code == 1
    assert "needs a partner mapping" in result.output or "header" in result.output


@pytest.mark.parametrize("vault_name", ["elsewhere.duckdb"])
def test_vault_option_moves_the_vault(tmp_path: Path, link_keys: None, vault_name: str) -> None:
    db = tmp_path / "t.duckdb"
    vault = tmp_path / "secure" / vault_name
    result = CliRunner().invoke(app, ["ingest", str(_people(tmp_path)), "--db", str(db), "--partner", "police",
                                      "--vault", str(vault)])
    assert result.exit_code == 0, result.output
    assert vault.exists() and not (tmp_path / "t.vault.duckdb").exists()
