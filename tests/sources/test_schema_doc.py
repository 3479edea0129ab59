"""docs/schema.md lists every column of every data.police.uk table, and the system tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from thrv.sources.kinds import POLICE_UK_KINDS
from thrv.store.schema import SYSTEM_TABLES_SQL

DOC = (Path(__file__).resolve().parents[2] / "docs" / "schema.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", POLICE_UK_KINDS, ids=lambda k: k.name)
def test_every_police_uk_column_is_documented(kind: object) -> None:
    section = DOC.split(f"### `{kind.table}`", 1)[1].split("\n### ", 1)[0]  # type: ignore[attr-defined]
    for column in (*kind.columns, *kind.added):  # type: ignore[attr-defined]
        assert f"| `{column.name}` |" in section, column.name
        if column.source:
            assert f"| {column.source} |" in section, column.source


@pytest.mark.parametrize("table", ["ingest_log", "quarantine"])
def test_system_tables_are_documented(table: str) -> None:
    ddl = next(sql for sql in SYSTEM_TABLES_SQL if f"TABLE IF NOT EXISTS {table} " in sql)
    section = DOC.split(f"### `{table}`", 1)[1].split("\n### ", 1)[0]
    columns = [line.strip().split()[0] for line in ddl.splitlines()[1:-1]]
    for column in columns:
        assert f"`{column}`" in section, column
