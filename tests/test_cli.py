"""Every command teaches: it has help with an example, and the README and docs name it."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from thrv.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
runner = CliRunner()


def test_the_commands_exist() -> None:
    assert {"ingest", "status", "quarantine", "pack", "assess", "simulate", "demand", "forecast", "serve", "user"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_and_is_in_the_readme(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert len(result.output) > 200
    assert f"thrv {command}" in README


@pytest.mark.parametrize("command", [*COMMANDS, "user add"])
def test_every_command_gives_an_example(command: str) -> None:
    result = runner.invoke(app, [*command.split(), "--help"], terminal_width=200)
    assert "Example" in result.output and f"thrv {command.split()[0]}" in result.output.split("Example", 1)[1]


def test_version_and_db_help_are_true() -> None:
    from thrv import __version__

    assert runner.invoke(app, ["--version"]).output.strip() == f"thrv {__version__}"
    for command in ("status", "quarantine", "pack", "assess", "demand", "forecast", "serve"):
        text = runner.invoke(app, [command, "--help"], terminal_width=200).output
        assert "created if missing" not in text, command  # read commands never create a store
    serve = " ".join(runner.invoke(app, ["serve", "--help"], terminal_width=300).output.split())
    assert "thrv.duckdb.users.json" in serve and "thrv.duckdb.audit.jsonl" in serve


def test_ingest_and_status_on_the_sample(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    result = runner.invoke(app, ["ingest", str(ROOT / "data" / "sample" / "cambridgeshire" / "2024-01"), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "rows read 11,994 = stored 11,994 + quarantined 0" in result.output
    status = runner.invoke(app, ["status", "--db", str(db)], terminal_width=200)
    assert status.exit_code == 0 and "6,116" in status.output and "rows reconcile" in status.output


def test_bad_usage_exits_2_with_a_message(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["status", "--db", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 2 and "no such store" in missing.output
    result = runner.invoke(app, ["ingest", str(tmp_path / "nothing-here"), "--db", str(tmp_path / "x.duckdb")])
    assert result.exit_code == 2 and "no such file or folder" in result.output


def test_pack_contract_columns_and_formats(sample_store: Path, tmp_path: Path) -> None:
    import csv

    out = tmp_path / "pack"
    result = runner.invoke(
        app,
        ["pack", "--db", str(sample_store), "--month", "2025-12", "--area", "Cambridgeshire Constabulary",
         "--out", str(out), "--format", "html,xlsx", "--levels", "force,area,district"],
    )
    assert result.exit_code == 0, result.output
    for name in ("pack.json", "pack.csv", "pack.html", "pack.xlsx"):
        assert (out / name).stat().st_size > 1000, name
    rows = list(csv.DictReader((out / "pack.csv").open(encoding="utf-8")))
    required = "indicator, area, area_level, month, current, prev_1y, prev_2y, prev_3y, avg_1y, avg_3y, rolling_12m, baseline, label, test, p_value"
    assert set(required.split(", ")) <= set(rows[0])
    force = [r for r in rows if r["area_level"] == "force"]
    assert {r["area"] for r in force} == {"Cambridgeshire Constabulary"}
    ids = {r["indicator"] for r in force}
    assert {"all_crime", "asb", "burglary", "vehicle_crime", "violence_and_sexual_offences"} <= ids
    assert {r["area_level"] for r in rows} == {"force", "area", "district"}
    assert all(r["prev_3y"] == "" for r in force)  # 2022 is not in the sample: empty, never zero
    # "Immature": an outcome rate of the store's latest months (cases still open)
    labels = {"Improved", "Comparable", "Deteriorated", "Higher", "Lower", "Insufficient data", "Immature"}
    assert all(r["label"] in labels and r["label_1y"] in labels and r["label_3y"] in labels for r in rows)
    # the interface contract of issue 10: dispersion (>= 1 with 24 months of history), and
    # test names that say the count tests are dispersion-adjusted
    crime = next(r for r in force if r["indicator"] == "all_crime")
    assert float(crime["dispersion"]) >= 1
    assert crime["test"].startswith("Dispersion-adjusted") and crime["test_1y"].startswith("Dispersion-adjusted")
    assert crime["test_3y"] == ""  # 23 months before December 2025: no 3-year average
    assert all(r["dispersion"] == "" for r in rows if r["indicator"] == "prosecution_possible_rate")
    bad = runner.invoke(app, ["pack", "--db", str(sample_store), "--month", "2025-13", "--out", str(out)])
    assert bad.exit_code == 2
    wrong_area = runner.invoke(app, ["pack", "--db", str(sample_store), "--month", "2025-12", "--area", "Atlantis", "--out", str(out)])
    assert wrong_area.exit_code == 2 and "Atlantis" in wrong_area.output
