"""DDL for the store, generated from the kinds of input (one declaration of every column).

Only this package speaks SQL; the DDL is plain ANSI-ish SQL that DuckDB runs and that a
distributed engine's catalogue could be created from.
"""

from __future__ import annotations

from thrv.sources.kinds import Column, Kind

SQL_TYPES = {
    "text": "VARCHAR",
    "month": "DATE",
    "date": "DATE",
    "longitude": "DOUBLE",
    "latitude": "DOUBLE",
    "float": "DOUBLE",
    "int": "BIGINT",
    "bool": "BOOLEAN",
    "timestamp": "TIMESTAMPTZ",
}

#: every canonical row says where it came from
PROVENANCE_COLUMNS = (
    ("ingest_id", "INTEGER NOT NULL"),
    ("source_file", "VARCHAR NOT NULL"),
    ("source_line", "INTEGER NOT NULL"),
)


#: derived by the store from ``lsoa_code`` and the shipped lookup, for tables that have one:
#: the 2024 local authority district, so analysis can group by district without a join
DISTRICT_COLUMN = "district_code"


def table_columns(kind: Kind) -> list[Column]:
    return list(kind.columns) + list(kind.added)


def has_lsoa(kind: Kind) -> bool:
    """True when the store derives ``district_code`` for this kind (it has an LSOA and no
    district of its own: force extracts that name a district derive it in their reader)."""
    names = {c.name for c in table_columns(kind)}
    return "lsoa_code" in names and DISTRICT_COLUMN not in names


def create_table_sql(kind: Kind) -> str:
    cols = [f'"{c.name}" {SQL_TYPES[c.type]}' for c in table_columns(kind)]
    if has_lsoa(kind):
        cols.append(f'"{DISTRICT_COLUMN}" VARCHAR')
    cols += [f'"{name}" {ddl}' for name, ddl in PROVENANCE_COLUMNS]
    return f"CREATE TABLE IF NOT EXISTS {kind.table} (\n  " + ",\n  ".join(cols) + "\n)"


SYSTEM_TABLES_SQL = [
    "CREATE SEQUENCE IF NOT EXISTS ingest_id_seq START 1",
    """CREATE TABLE IF NOT EXISTS ingest_log (
  ingest_id INTEGER PRIMARY KEY,
  file VARCHAR NOT NULL,
  sha256 VARCHAR NOT NULL,
  bytes BIGINT,
  kind VARCHAR,
  table_name VARCHAR,
  status VARCHAR NOT NULL,
  rows_read BIGINT NOT NULL,
  rows_stored BIGINT NOT NULL,
  rows_quarantined BIGINT NOT NULL,
  rows_replaced BIGINT NOT NULL,
  superseded_by INTEGER,
  units VARCHAR,
  message VARCHAR,
  started_at TIMESTAMPTZ NOT NULL,
  finished_at TIMESTAMPTZ NOT NULL,
  seconds DOUBLE NOT NULL,
  thrv_version VARCHAR,
  rows_current BIGINT
)""",
    """CREATE TABLE IF NOT EXISTS quarantine (
  ingest_id INTEGER NOT NULL,
  file VARCHAR NOT NULL,
  kind VARCHAR,
  line INTEGER NOT NULL,
  raw VARCHAR NOT NULL,
  reason VARCHAR NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS meta (
  key VARCHAR PRIMARY KEY,
  value VARCHAR
)""",
]
