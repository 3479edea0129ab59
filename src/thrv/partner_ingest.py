"""Partner-agency files in: person records, area measures and incident records.

``thrv ingest FILES --db DB --partner NAME [--mapping partner.toml]`` comes here (see
:func:`thrv.ingest.ingest`). A file whose header is the person layout
(:mod:`thrv.sources.partner_people`) is person records: its identifiers are sealed into the
vault in one transaction (:mod:`thrv.store.vault`) and its record keys, household keys and
quarantine reasons written to the analysis store in another (:mod:`thrv.store.people`);
each write is skipped once done, so an interrupted ingest completes when run again. Any
other file is read through the section of the partner mapping that describes it
(:mod:`thrv.sources.partner_measures`) and written in one transaction
(:mod:`thrv.store.partner`). Every file is idempotent by content hash.
"""

from __future__ import annotations

import csv
import datetime as dt
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from thrv.ingest import FileOutcome, IngestInterrupted, IngestReport, Progress
from thrv.linkage import normalise
from thrv.linkage.keys import Keys, KeysError, load_keys, partner_slug
from thrv.sources.csvtext import FileRefused
from thrv.sources.files import Limits, SourceError, SourceFile, discover, load
from thrv.sources.partner_mapping import IncidentsSection, PartnerMapping
from thrv.sources.partner_measures import read_incidents, read_measures
from thrv.sources.partner_people import PERSON_COLUMNS, PeopleRead, read_people
from thrv.store import partner as partner_tables
from thrv.store import people as people_tables
from thrv.store.database import Store
from thrv.store.vault import Vault, VaultError, vault_path_for


def household_address(row: dict[str, str]) -> str | None:
    """The text a household key is made from: normalised address and postcode."""
    address = normalise.address(row.get("address"))
    uk, other = normalise.postcode(row.get("postcode"))
    code = uk or other
    if not address or not code:
        return None
    return f"{address}|{code}"


def is_person_file(data: bytes) -> bool:
    first = data[:4096].decode("utf-8-sig", errors="replace").splitlines()[:1]
    return bool(first) and tuple(h.strip().lower() for h in first[0].split(","))[:6] == PERSON_COLUMNS


def ingest_partner(store: Store, paths: Iterable[str | Path], partner: str, vault_path: str | Path | None = None,
                   mapping: Any = None, reload: bool = False, on_file: Callable[..., None] | None = None,
                   keys: Keys | None = None, limits: Limits | None = None, today: dt.date | None = None,
                   on_progress: Callable[[Progress], None] | None = None) -> IngestReport:
    """Load one partner's files; see the module docstring.

    The guarantees of :func:`thrv.ingest.ingest` hold here too: a file that cannot be read
    is refused with one line (and logged) while the rest load, rows read = stored +
    quarantined for every file, and Ctrl-C raises :class:`IngestInterrupted` with the
    files finished so far.
    """
    try:
        partner_slug(partner)  # a name keys can be made for
        slug = partner.strip()
    except KeysError as exc:
        raise SourceError(str(exc)) from exc
    if mapping is not None and not isinstance(mapping, PartnerMapping):
        raise SourceError("--mapping with --partner must be a partner mapping ([[measures]] / [[incidents]])")
    sources = discover(paths)
    report = IngestReport(total_files=len(sources))
    bytes_total, bytes_done = sum(s.size for s in sources), 0
    clock_all = time.perf_counter()
    vault: Vault | None = None
    before = store.last_ingest_id()
    current: tuple[SourceFile, str] | None = None
    try:
        for index, source in enumerate(sources):
            if on_file:
                on_file(source, index, len(sources))
            started, clock = dt.datetime.now(dt.UTC), time.perf_counter()
            data = b""
            try:
                data = load(source, limits)
                current = (source, _sha(data))
                if is_person_file(data):
                    if vault is None:
                        keys = keys or load_keys(store.path, create=True)
                        vault = Vault(Path(vault_path) if vault_path else vault_path_for(store.path), keys)
                    with store.writing(source.name):
                        outcome = _people_file(store, vault, slug, read_people(source.name, data), vault.keys,
                                               started, clock, reload)
                else:
                    with store.writing(source.name):
                        outcome = _area_file(store, source.name, source.basename, data, slug, mapping, reload,
                                             started, clock, today)
            except (FileRefused, SourceError, OSError, csv.Error, ValueError) as exc:
                message = " ".join(str(exc).split()) or f"{source.name}: cannot be read"
                if not message.startswith(source.name):
                    message = f"{source.name}: {message}"
                store.log_refusal(source.name, _sha(data), len(data), message, started, clock)
                outcome = FileOutcome(source.name, "refused", message=message, seconds=time.perf_counter() - clock)
            outcome.size = source.size
            report.files.append(outcome)
            current = None
            bytes_done += source.size
            if on_progress:
                on_progress(Progress(index + 1, len(sources), bytes_done, bytes_total, report.total("rows_read"),
                                     source.basename))
    except (KeysError, VaultError) as exc:
        raise SourceError(str(exc)) from exc
    except KeyboardInterrupt as exc:
        # a file whose last transaction committed just before Ctrl-C is stored: say so
        entry = store.stored_since(current[1], before) if current is not None else None
        if current is not None and entry is not None:
            report.files.append(FileOutcome(
                current[0].name, "stored", kind=str(entry["kind"] or ""), rows_read=int(entry["rows_read"]),
                rows_stored=int(entry["rows_stored"]), rows_quarantined=int(entry["rows_quarantined"]),
                rows_replaced=int(entry["rows_replaced"]), size=current[0].size))
        report.seconds = time.perf_counter() - clock_all
        raise IngestInterrupted(report) from exc
    finally:
        if vault is not None:
            vault.close()
    report.seconds = time.perf_counter() - clock_all
    return report


def _people_file(store: Store, vault: Vault, partner: str, read: PeopleRead, keys: Keys,
                 started: dt.datetime, clock: float, reload: bool) -> FileOutcome:
    previous = None if reload else store.seen(read.sha256)
    in_vault = None if reload else vault.seen(read.sha256)
    if previous and in_vault:
        return FileOutcome(read.name, "skipped", message=f"already ingested as {previous['file']}")
    record_keys = [keys.record_key(partner, r["record_id"]) for r in read.rows]
    if not in_vault:
        vault.write_people(partner, read, record_keys)
    replaced = 0
    if not previous:
        homes = [household_address(r) for r in read.rows]
        frame = pd.DataFrame({
            "record_key": record_keys,
            "household_key": [keys.household_key(h) if h else None for h in homes],
            "has_identifier": [bool(r.get("identifier")) for r in read.rows],
            "source_line": read.lines,
        })
        _, replaced = people_tables.write_people_file(
            store, partner, read.name, read.sha256, read.size, frame,
            [(b.line, b.reason) for b in read.bad], read.rows_read, read.notes, started, clock)
    return FileOutcome(
        read.name, "stored", kind=f"person records ({partner})",
        rows_read=read.rows_read, rows_stored=len(read.rows), rows_quarantined=len(read.bad),
        rows_replaced=replaced, notes=list(read.notes), seconds=time.perf_counter() - clock,
        examples=[f"{read.name}:{b.line}: {b.reason}" for b in read.bad[:3]],
    )


def _area_file(store: Store, name: str, basename: str, data: bytes, partner: str, mapping: PartnerMapping | None,
               reload: bool, started: dt.datetime, clock: float, today: dt.date | None = None) -> FileOutcome:
    from thrv.sources.partner_measures import content_header

    if mapping is None:
        raise FileRefused(f"{name}: not a person file (header {PERSON_COLUMNS}); an area-measure or incident "
                          "file needs a partner mapping (--mapping, see docs/partner-data.md)")
    section = mapping.section_for(basename, content_header(data))
    if section is None:
        raise FileRefused(f"{name}: no section of {mapping.path} matches this file (by name or columns)")
    previous = None if reload else store.seen(_sha(data))
    if previous:
        return FileOutcome(name, "skipped", message=f"already ingested as {previous['file']}")
    if isinstance(section, IncidentsSection):
        read = read_incidents(name, data, partner, section, today=today)
    else:
        read = read_measures(name, data, partner, section, today=today)
    _, replaced = partner_tables.write_partner_file(store, read, started, clock)
    notes = list(read.notes)
    if read.kind == "measures":
        notes.append(f"{len(read.table):,} measure values from {read.lines_stored:,} rows")
    return FileOutcome(
        name, "stored", kind=f"partner {read.kind} ({partner}/{read.dataset})", rows_read=read.rows_read,
        rows_stored=read.lines_stored, rows_quarantined=len(read.bad), rows_replaced=replaced, notes=notes,
        seconds=time.perf_counter() - clock, examples=[f"{name}:{b.line}: {b.reason}" for b in read.bad[:3]],
    )


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()
