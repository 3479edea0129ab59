"""The pack's interface contract: a refused request exits 2, says why, and writes nothing."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from thrv.cli import app
from thrv.store.database import Store

runner = CliRunner()


def _pack(db: Path, out: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["pack", "--db", str(db), "--out", str(out), *args], terminal_width=400)
    return result.exit_code, result.output


def test_a_month_the_store_does_not_hold_exits_2_naming_the_months(sample_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "pack"
    for month in ("2026-03", "2019-06"):
        code, text = _pack(sample_store, out, "--month", month, "--format", "xlsx")
        assert code == 2, text
        assert f"no records for {month}" in text and "the store holds crimes 2024-01 to 2025-12" in text
        assert "outcomes 2024-01 to 2024-12" in text
        assert not out.exists()  # nothing written, not even pack.csv


def test_months_must_be_four_and_two_digits(sample_store: Path, tmp_path: Path) -> None:
    for month in ("2025-1", "25-01", "2025-13"):
        code, text = _pack(sample_store, tmp_path / "p", "--month", month)
        assert code == 2 and "YYYY-MM" in text, (month, text)


def test_a_misspelt_area_gets_did_you_mean_and_the_same_rule_everywhere(sample_store: Path, tmp_path: Path) -> None:
    code, text = _pack(sample_store, tmp_path / "p", "--month", "2025-12", "--area", "Fenlnd")
    assert code == 2 and "did you mean 'Fenland'?" in text
    assert text.count(",") < 10  # a suggestion, not every name held
    for command in (["assess", "--from", "2025-12", "--to", "2025-12"], ["demand"], ["forecast"]):
        result = runner.invoke(app, [*command, "--db", str(sample_store), "--out", str(tmp_path / "x"), "--area", "Huntingdonshir"],
                               terminal_width=400)
        assert result.exit_code == 2 and "did you mean 'Huntingdonshire'?" in result.output, (command, result.output)


def test_a_force_by_its_short_name_is_accepted_by_pack_as_by_assess(sample_store: Path, tmp_path: Path) -> None:
    from thrv.areas import match_area
    from thrv.indicators.hierarchy import build_hierarchy
    from thrv.indicators.pack import resolve_area

    hierarchy = build_hierarchy(["Cambridgeshire Constabulary"])
    assert resolve_area("Cambridgeshire", hierarchy, ["Cambridgeshire Constabulary"]) == (
        "force", "Cambridgeshire Constabulary", "Cambridgeshire Constabulary")
    assert resolve_area("north", hierarchy, ["Cambridgeshire Constabulary"])[:2] == ("area", "Cambridgeshire Constabulary")
    assert match_area("fenland", ["X"], [("X", "Fenland")]) == ("district", "X", "Fenland")


@pytest.fixture(scope="module")
def two_forces(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    from thrv.ingest import ingest

    db = tmp_path_factory.mktemp("two") / "two.duckdb"
    month = shared_data / "police_uk" / "all_forces" / "2025-10"
    with Store(db) as store:
        assert ingest(store, [month / "2025-10-city-of-london-street.csv.gz", month / "2025-10-cleveland-street.csv.gz"]).ok
    return db


def test_a_multi_force_store_asks_for_one_force_or_all_forces(two_forces: Path, tmp_path: Path) -> None:
    out = tmp_path / "pack"
    code, text = _pack(two_forces, out, "--month", "2025-10")
    assert code == 2 and "holds 2 forces" in text and "--area" in text and "--all-forces" in text
    assert "rows" in text and "MB" in text  # how big the every-force pack would be
    assert not out.exists()
    code, text = _pack(two_forces, out, "--month", "2025-10", "--area", "Cleveland")
    assert code == 0, text
    assert "lsoa rows" not in text  # LSOA rows only on request
    code, text = _pack(two_forces, tmp_path / "all", "--month", "2025-10", "--all-forces", "--levels", "force")
    assert code == 0 and "force rows" in text and "lsoa rows" not in text, text
    with (tmp_path / "all" / "pack.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    forces = {r["area"] for r in rows if r["area_level"] == "force"}
    assert forces == {"City of London Police", "Cleveland Police"}
    # the size the refusal quotes is the pack's real size: templates expanded per crime type held
    code, text = _pack(two_forces, tmp_path / "none", "--month", "2025-10", "--levels", "force")
    estimate = re.search(r"about ([\d,]+) rows", " ".join(text.split()))
    assert code == 2 and estimate is not None, text
    assert int(estimate.group(1).replace(",", "")) == len(rows)
