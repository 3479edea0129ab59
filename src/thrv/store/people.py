"""Pseudonymous person tables in the analysis store: record keys, links and people.

Nothing here identifies anyone: a record is its partner and its keyed record key
(:mod:`thrv.linkage.keys`); the identifiers themselves are in the vault
(:mod:`thrv.store.vault`). ``thrv link`` writes the links and clusters of its latest run.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pandas as pd

from thrv import __version__
from thrv.store.database import LOG_COLUMNS, Store, log_replaced

TABLES_SQL = [
    """CREATE TABLE IF NOT EXISTS partner_people (
  partner VARCHAR NOT NULL, record_key VARCHAR NOT NULL, household_key VARCHAR,
  has_identifier BOOLEAN, ingest_id INTEGER NOT NULL, source_file VARCHAR NOT NULL,
  source_line INTEGER NOT NULL, PRIMARY KEY (partner, record_key))""",
    """CREATE TABLE IF NOT EXISTS person_links (
  run_id INTEGER NOT NULL, partner_l VARCHAR, record_key_l VARCHAR, partner_r VARCHAR,
  record_key_r VARCHAR, match_probability DOUBLE, match_weight DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS person_clusters (
  run_id INTEGER NOT NULL, partner VARCHAR, record_key VARCHAR, person_key VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS link_runs (
  run_id INTEGER PRIMARY KEY, run_at TIMESTAMPTZ, method VARCHAR, threshold DOUBLE,
  records BIGINT, pairs BIGINT, people BIGINT, model VARCHAR, thrv_version VARCHAR)""",
]

KIND = "partner_people"


def ensure_tables(store: Store) -> None:
    for sql in TABLES_SQL:
        store.con.execute(sql)


def write_people_file(store: Store, partner: str, name: str, sha256: str, size: int, frame: pd.DataFrame,
                      bad: list[tuple[int, str]], rows_read: int, notes: list[str], started: dt.datetime,
                      clock: float) -> tuple[int, int]:
    """Store one file's record keys and its quarantine (reasons only), in one transaction.

    ``frame``: record_key, household_key, has_identifier, source_line. Returns
    (ingest_id, rows replaced). Quarantined rows keep their reason and line here; their
    raw text (which may identify someone) is only in the vault.
    """
    ensure_tables(store)
    with store.transaction() as con:
        ingest_id = int(con.execute("SELECT nextval('ingest_id_seq')").fetchall()[0][0])
        con.register("_keys", frame.assign(partner=partner))
        try:
            affected = con.execute(
                "SELECT p.ingest_id, count(*) FROM partner_people p JOIN _keys k USING (partner, record_key) "
                "GROUP BY 1 ORDER BY 1"
            ).fetchall()
            replaced = sum(int(n) for _, n in affected)
            con.execute("DELETE FROM partner_people p WHERE EXISTS (SELECT 1 FROM _keys k "
                        "WHERE k.partner = p.partner AND k.record_key = p.record_key)")
            con.execute(
                "INSERT INTO partner_people SELECT partner, record_key, household_key, has_identifier, ?, ?, "
                "source_line FROM _keys", [ingest_id, name])
        finally:
            con.unregister("_keys")
        log_replaced(con, [(int(i), int(n)) for i, n in affected], ingest_id)
        for line, reason in bad:
            con.execute("INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?)",
                        [ingest_id, name, KIND, line, "(person record: raw text held in the identifier vault)", reason])
        con.execute(
            f"INSERT INTO ingest_log ({LOG_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, 'stored', ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?)",
            [ingest_id, name, sha256, size, KIND, "partner_people", rows_read, len(frame), len(bad), replaced,
             json.dumps([[partner, "people"]]), "; ".join(notes) or None, started, dt.datetime.now(dt.UTC),
             time.perf_counter() - clock, __version__, len(frame)],
        )
    return ingest_id, replaced


def write_run(store: Store, method: str, threshold: float, links: pd.DataFrame, clusters: pd.DataFrame,
              model: dict[str, Any]) -> int:
    """Replace the stored links and people with a new run's (one transaction); returns its id."""
    ensure_tables(store)
    with store.transaction() as con:
        run_id = int(con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM link_runs").fetchall()[0][0])
        con.execute("DELETE FROM person_links")
        con.execute("DELETE FROM person_clusters")
        con.register("_links", links)
        con.register("_clusters", clusters)
        try:
            con.execute("INSERT INTO person_links SELECT ?, partner_l, record_key_l, partner_r, record_key_r, "
                        "match_probability, match_weight FROM _links", [run_id])
            con.execute("INSERT INTO person_clusters SELECT ?, partner, record_key, person_key FROM _clusters",
                        [run_id])
        finally:
            con.unregister("_links")
            con.unregister("_clusters")
        con.execute("INSERT INTO link_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [run_id, dt.datetime.now(dt.UTC), method, threshold, len(clusters), len(links),
                     int(clusters["person_key"].nunique()) if len(clusters) else 0,
                     json.dumps(model), __version__])
    return run_id


def people_table(store: Store) -> pd.DataFrame:
    """partner, record_key, household_key, person_key (None before any link run)."""
    if not store.has_table("partner_people"):
        return pd.DataFrame(columns=["partner", "record_key", "household_key", "person_key"])
    joined = "LEFT JOIN person_clusters c USING (partner, record_key)" if store.has_table("person_clusters") else ""
    person = "c.person_key" if joined else "NULL AS person_key"
    return store.df(f"SELECT p.partner, p.record_key, p.household_key, {person} FROM partner_people p {joined} "
                    "ORDER BY p.partner, p.record_key")
