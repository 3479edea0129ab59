"""docs/python-api.md is a notebook: its code runs, in order, on the bundled real sample."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import thrv

DOC = Path(__file__).resolve().parents[1] / "docs" / "python-api.md"


def test_the_api_is_exported() -> None:
    assert set(thrv.__all__) >= {"pack", "assess", "__version__"}
    import thrv.assess as package  # importing the subpackage must not hide the function

    assert callable(thrv.pack) and callable(thrv.assess) and callable(package)
    assert package.build_assessment is not None


def test_the_documented_example_runs(sample_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 5
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block.replace('"force.duckdb"', repr(str(sample_store))), str(DOC), "exec"), namespace)
    out = capsys.readouterr().out
    assert "Burglary: 268 crimes in December 2025" in out
    assert "the store holds crimes 2024-01 to 2025-12" in out
    assert "did you mean 'Fenland'?" in out
    assert "pack.xlsx" in out


def test_pack_returns_a_frame_with_the_contract_columns(sample_store: Path) -> None:
    with pytest.raises(ValueError, match="month must be YYYY-MM"):
        thrv.pack(sample_store, "2025-1")
    with pytest.raises(FileNotFoundError, match="no such store"):
        thrv.pack(sample_store.with_name("missing.duckdb"), "2025-12")
