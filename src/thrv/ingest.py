"""The ingest loop: files in, canonical rows or quarantine out, every row accounted for.

For each file: skip it when the same content is already stored (re-running an ingest is a
no-op); otherwise read and check it (``thrv.sources``) and write it in one transaction
(``thrv.store``). A refused file stores nothing and is reported; the others still load.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thrv.sources.csvtext import FileRefused
from thrv.sources.files import SourceError, SourceFile, decompress, discover
from thrv.sources.reader import FileRead, content_sha256, read_data
from thrv.store.database import Store


@dataclass
class FileOutcome:
    """What happened to one file."""

    name: str
    status: str  # stored | skipped | refused
    kind: str = ""
    rows_read: int = 0
    rows_stored: int = 0
    rows_quarantined: int = 0
    rows_replaced: int = 0
    message: str = ""
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: the first few quarantined rows as "file:line: reason", to show at once
    examples: list[str] = field(default_factory=list)

    @property
    def reconciles(self) -> bool:
        return self.rows_read == self.rows_stored + self.rows_quarantined


@dataclass
class IngestReport:
    files: list[FileOutcome] = field(default_factory=list)
    seconds: float = 0.0

    def total(self, attribute: str) -> int:
        return sum(int(getattr(f, attribute)) for f in self.files)

    @property
    def refused(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "refused"]

    @property
    def ok(self) -> bool:
        return not self.refused


def ingest(
    store: Store,
    paths: Iterable[str | Path],
    force_name: str | None = None,
    reload: bool = False,
    on_file: Callable[[SourceFile, int, int], None] | None = None,
    mapping: Mapping[str, Any] | None = None,
    partner: str | None = None,
    vault: str | Path | None = None,
) -> IngestReport:
    """Load files, folders and zip archives into the store.

    ``reload`` re-applies a file whose content is already stored (e.g. to make an older
    version of a month current again); without it such files are skipped.
    ``on_file(source, index, total)`` is called before each file (for progress bars).
    ``mapping`` (:func:`thrv.sources.mapping.load_mapping`) gives a force's own column
    headings and codes for its extracts.
    ``partner`` names the agency whose files these are (person records, area measures or
    incident records: :mod:`thrv.partner_ingest`); ``vault`` is where person identifiers go.
    """
    if partner is not None:  # partner-agency files take their own path
        from thrv.partner_ingest import ingest_partner

        return ingest_partner(store, paths, partner, vault, mapping, reload=reload, on_file=on_file)
    report = IngestReport()
    clock_all = time.perf_counter()
    sources = discover(paths)
    # reading and checking the next file (Arrow and numpy release the GIL) overlaps with
    # writing this one; writes stay in order, in this thread, one transaction per file
    with ThreadPoolExecutor(max_workers=PREFETCH) as pool:
        pending: deque[Future[_Prepared]] = deque()
        upcoming = iter(enumerate(sources))

        def submit_next() -> None:
            nxt = next(upcoming, None)
            if nxt is not None:
                pending.append(pool.submit(_prepare, store, nxt[1], force_name, reload, mapping))

        for _ in range(PREFETCH):
            submit_next()
        for index, source in enumerate(sources):
            if on_file:
                on_file(source, index, len(sources))
            prepared = pending.popleft().result()
            submit_next()
            report.files.append(_finish(store, source, prepared, reload))
    report.seconds = time.perf_counter() - clock_all
    return report


#: files read ahead of the one being written
PREFETCH = 2


@dataclass
class _Prepared:
    """A file read and checked off the main thread, or why it was skipped or refused."""

    started: dt.datetime
    clock: float
    sha: str = ""
    size: int = 0
    read: FileRead | None = None
    skipped: str = ""
    refused: str = ""


def _prepare(
    store: Store,
    source: SourceFile,
    force_name: str | None,
    reload: bool,
    mapping: Mapping[str, Any] | None = None,
) -> _Prepared:
    prepared = _Prepared(started=dt.datetime.now(dt.UTC), clock=time.perf_counter())
    data = b""
    try:
        data = decompress(source.name, source.read_bytes())
        prepared.sha, prepared.size = content_sha256(data), len(data)
        if not reload and store.seen(prepared.sha, cursor=True):
            prepared.skipped = "seen"  # decided finally in the writing thread
            return prepared
        prepared.read = read_data(source, data, force_name=force_name, mapping=mapping)
    except (FileRefused, SourceError, OSError) as exc:
        prepared.refused = str(exc)
        prepared.sha, prepared.size = content_sha256(data), len(data)
    return prepared


def _finish(store: Store, source: SourceFile, prepared: _Prepared, reload: bool) -> FileOutcome:
    clock, started = prepared.clock, prepared.started
    if prepared.refused:
        store.log_refusal(source.name, prepared.sha, prepared.size, prepared.refused, started, clock)
        return FileOutcome(source.name, "refused", message=prepared.refused, seconds=time.perf_counter() - clock)
    # checked again here: an earlier file of this run may have had the same content
    previous = None if reload else store.seen(prepared.sha)
    if previous:
        message = f"already ingested as {previous['file']}"
        if previous["status"] == "superseded":
            message += " (since superseded by a newer version; use --reload to make it current)"
        return FileOutcome(source.name, "skipped", message=message, seconds=time.perf_counter() - clock)
    read = prepared.read
    assert read is not None
    result = store.write_file(read, started, clock)
    notes = list(read.notes)
    if result.superseded:
        notes.append("replaced the rows of " + ", ".join(result.superseded))
    return FileOutcome(
        source.name,
        "stored",
        kind=read.kind.name,
        rows_read=result.rows_read,
        rows_stored=result.rows_stored,
        rows_quarantined=result.rows_quarantined,
        rows_replaced=result.rows_replaced,
        notes=notes,
        seconds=time.perf_counter() - clock,
        examples=[f"{source.name}:{b.line}: {b.reason}" for b in read.bad[:3]],
    )
