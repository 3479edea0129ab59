"""Partner area measures and incident records in the analysis store, one transaction a file.

A newer file of the same partner and dataset replaces what it covers: for measures, the
rows of the same measure and period; for incidents, the rows with the same incident id.
"""

from __future__ import annotations

import datetime as dt
import json
import time

import pandas as pd

from thrv import __version__
from thrv.sources.partner_measures import PartnerRead
from thrv.store.database import LOG_COLUMNS, Store, log_replaced

TABLES_SQL = [
    """CREATE TABLE IF NOT EXISTS partner_measures (
  partner VARCHAR NOT NULL, dataset VARCHAR NOT NULL, measure VARCHAR NOT NULL, unit VARCHAR,
  area_code VARCHAR NOT NULL, area_name VARCHAR, area_level VARCHAR NOT NULL, area_vintage VARCHAR,
  lsoa21_code VARCHAR, district_code VARCHAR, county_code VARCHAR, period_type VARCHAR NOT NULL,
  period_start DATE NOT NULL, period_end DATE NOT NULL, period_label VARCHAR NOT NULL, value DOUBLE,
  ingest_id INTEGER NOT NULL, source_file VARCHAR NOT NULL, source_line INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS partner_incidents (
  partner VARCHAR NOT NULL, dataset VARCHAR NOT NULL, incident_id VARCHAR NOT NULL, occurred_on DATE NOT NULL,
  month DATE NOT NULL, category VARCHAR, subcategory VARCHAR, property VARCHAR, area_code VARCHAR,
  area_level VARCHAR, lsoa21_code VARCHAR, district_code VARCHAR, county_code VARCHAR,
  ingest_id INTEGER NOT NULL, source_file VARCHAR NOT NULL, source_line INTEGER NOT NULL)""",
]


def ensure_tables(store: Store) -> None:
    for sql in TABLES_SQL:
        store.con.execute(sql)


def write_partner_file(store: Store, read: PartnerRead, started: dt.datetime, clock: float) -> tuple[int, int]:
    """Store one partner file (rows, quarantine, log) atomically; returns (ingest id, rows replaced)."""
    ensure_tables(store)
    table = "partner_measures" if read.kind == "measures" else "partner_incidents"
    frame = read.table
    with store.transaction() as con:
        ingest_id = int(con.execute("SELECT nextval('ingest_id_seq')").fetchall()[0][0])
        replaced = 0
        if len(frame):
            con.register("_new", frame)
            try:
                if read.kind == "measures":
                    match = ("t.partner = n.partner AND t.dataset = n.dataset AND t.measure = n.measure "
                             "AND t.period_start = n.period_start AND t.period_type = n.period_type")
                    keys = "SELECT DISTINCT partner, dataset, measure, period_start, period_type FROM _new"
                else:
                    match = "t.partner = n.partner AND t.dataset = n.dataset AND t.incident_id = n.incident_id"
                    keys = "SELECT DISTINCT partner, dataset, incident_id FROM _new"
                affected = con.execute(
                    f"SELECT ingest_id, count(*) FROM {table} t WHERE EXISTS (SELECT 1 FROM ({keys}) n WHERE {match}) "
                    "GROUP BY 1 ORDER BY 1"
                ).fetchall()
                replaced = sum(int(n) for _, n in affected)
                con.execute(f"DELETE FROM {table} t WHERE EXISTS (SELECT 1 FROM ({keys}) n WHERE {match})")
                columns = ", ".join(c for c in frame.columns if c != "source_line")
                con.execute(f"INSERT INTO {table} ({columns}, ingest_id, source_file, source_line) "
                            f"SELECT {columns}, ?, ?, source_line FROM _new", [ingest_id, read.name])
            finally:
                con.unregister("_new")
            log_replaced(con, [(int(i), int(n)) for i, n in affected], ingest_id)
        if read.bad:
            bad = pd.DataFrame({"line": [b.line for b in read.bad], "raw": [b.raw for b in read.bad],
                                "reason": [b.reason for b in read.bad]})
            con.register("_bad", bad)
            try:
                con.execute("INSERT INTO quarantine SELECT ?, ?, ?, line, raw, reason FROM _bad",
                            [ingest_id, read.name, f"partner_{read.kind}"])
            finally:
                con.unregister("_bad")
        units = sorted({(str(p), str(d)) for p, d in zip(frame.get("partner", []), frame.get("dataset", []),
                                                       strict=True)})
        con.execute(
            f"INSERT INTO ingest_log ({LOG_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, 'stored', ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?)",
            [ingest_id, read.name, read.sha256, read.size, f"partner_{read.kind}", table, read.rows_read,
             read.lines_stored, len(read.bad), replaced, json.dumps(units), "; ".join(read.notes) or None,
             started, dt.datetime.now(dt.UTC), time.perf_counter() - clock, __version__, len(frame)],
        )
    return ingest_id, replaced
