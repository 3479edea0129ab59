"""The ingest loop: files in, canonical rows or quarantine out, every row accounted for.

For each file: read its bytes within the limits; skip it when the same content is already
stored (re-running an ingest is a no-op); otherwise understand it (``thrv.sources``) and
write it in one transaction (``thrv.store``). A file that cannot be read or understood
stores nothing and is reported with a one-line reason; the files after it still load.

Reading, decompressing and scanning the next files (zlib, hashlib and numpy release the
GIL) overlaps with the engine parsing and writing the current one. Ctrl-C stops between
statements: the file being written is rolled back, every file before it stays stored, and
:class:`IngestInterrupted` carries the report so far (a re-run skips what is stored).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from thrv.sources.csvtext import BadRow, FileRefused
from thrv.sources.files import Limits, SourceError, SourceFile, discover, load
from thrv.sources.kinds import Kind
from thrv.sources.reader import BY_MAPPING, BY_RULES, FilePlan, content_sha256, plan_file
from thrv.store.database import BatchBroken, Store


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
    #: kept rows sharing an identifier with a different row (data.police.uk publishes them)
    shared_ids: int = 0
    #: earlier files whose rows this file replaced: (file, rows replaced, rows of it left)
    replaced: list[tuple[str, int, int]] = field(default_factory=list)
    #: why the careful reader read this file rather than the engine ("" if the engine did)
    careful: str = ""
    #: bytes as stored (compressed size for archives and gzip), for progress
    size: int = 0

    @property
    def reconciles(self) -> bool:
        return self.rows_read == self.rows_stored + self.rows_quarantined


@dataclass
class IngestReport:
    files: list[FileOutcome] = field(default_factory=list)
    seconds: float = 0.0
    #: files found, including any not reached (an interrupted run)
    total_files: int = 0

    def total(self, attribute: str) -> int:
        return sum(int(getattr(f, attribute)) for f in self.files)

    @property
    def refused(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "refused"]

    @property
    def ok(self) -> bool:
        return not self.refused


class IngestInterrupted(KeyboardInterrupt):
    """Ctrl-C during an ingest: ``report`` holds the files finished before it."""

    def __init__(self, report: IngestReport) -> None:
        super().__init__("ingest interrupted")
        self.report = report


@dataclass(frozen=True)
class Progress:
    """How far an ingest has got, given to ``on_progress`` after every file."""

    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    rows_read: int
    current: str = ""


#: files read ahead of the one being written
PREFETCH = 2


def _scratch_dir() -> str:
    """Where the engine reads decompressed CSVs from: memory-backed when the system has it."""
    shm = Path("/dev/shm")
    base = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    return tempfile.mkdtemp(prefix="thrv-ingest-", dir=base)


def ingest(
    store: Store,
    paths: Iterable[str | Path],
    force_name: str | None = None,
    reload: bool = False,
    on_file: Callable[[SourceFile, int, int], None] | None = None,
    mapping: Mapping[str, Any] | None = None,
    limits: Limits | None = None,
    today: dt.date | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    partner: str | None = None,
    vault: str | Path | None = None,
    batch_rows: int | None = None,
) -> IngestReport:
    """Load files, folders and zip archives into the store.

    ``reload`` re-applies a file whose content is already stored (e.g. to make an older
    version of a month current again); without it such files are skipped.
    ``on_file(source, index, total)`` is called before each file and ``on_progress`` after
    each (for progress bars). ``mapping`` (:func:`thrv.sources.mapping.load_mapping`) gives
    a force's own column headings and codes for its extracts. ``limits`` bound what one
    file may decompress to (default: ``config/ingest.toml``). ``today`` decides which months
    are in the future (default: the real date).
    ``partner`` names the agency whose files these are (person records, area measures or
    incident records: :mod:`thrv.partner_ingest`, with the same guarantees); ``vault`` is
    where person identifiers go.

    ``batch_rows`` (opt-in; default one transaction per file) writes files in batches of
    one transaction each, committed once the batch holds at least that many rows read:
    each file is still whole or absent, but a process killed part-way loses the
    uncommitted batch, which a re-run stores. A file that needs a transaction of its own
    (the engine's parse declined, or the engine refused it) has its batch rolled back and
    rewritten one file per transaction.

    Raises :class:`thrv.sources.files.SourceError` for a path that does not exist (before
    anything is read) and :class:`IngestInterrupted` on Ctrl-C.
    """
    from thrv.sources.files import load_limits

    limits = limits or load_limits()
    if partner is not None:  # partner-agency files take their own path
        from thrv.partner_ingest import ingest_partner

        return ingest_partner(
            store, paths, partner, vault, mapping, reload=reload, on_file=on_file, limits=limits,
            today=today, on_progress=on_progress,
        )
    report = IngestReport()
    clock_all = time.perf_counter()
    sources = discover(paths)
    report.total_files = len(sources)
    bytes_total = sum(s.size for s in sources)
    bytes_done = 0
    scratch = _scratch_dir()
    pool = ThreadPoolExecutor(max_workers=PREFETCH)
    pending: deque[Future[_Prepared]] = deque()
    upcoming = iter(sources)

    def submit_next() -> None:
        nxt = next(upcoming, None)
        if nxt is not None:
            pending.append(pool.submit(_prepare, store, nxt, force_name, reload, mapping, limits, today, scratch))

    before = store.last_ingest_id()
    current: tuple[SourceFile, _Prepared] | None = None
    stored_now: set[str] = set()  # contents stored by this run (after the read-ahead looked)
    # files written but not yet committed (an open batch), with their outcomes
    held: list[tuple[SourceFile, _Prepared, FileOutcome]] = []
    stored_before_batch: set[str] = set()

    reported: set[int] = set()  # id() of each file's _Prepared once it is in the report

    def settle() -> None:
        """The held files are committed: report them, then drop their staged CSVs."""
        done = list(held)
        held.clear()
        for _source, prepared, outcome in done:
            report.files.append(outcome)
            reported.add(id(prepared))
        for _source, prepared, _outcome in done:
            _discard(prepared)

    try:
        with store.bulk():
            try:
                for _ in range(PREFETCH):
                    submit_next()
                for index, source in enumerate(sources):
                    if on_file:
                        on_file(source, index, len(sources))
                    prepared = pending.popleft().result()
                    current = (source, prepared)
                    submit_next()
                    if batch_rows and not store.in_batch:
                        store.begin_batch()
                        stored_before_batch = set(stored_now)
                    try:
                        held.append((source, prepared, _written(store, source, prepared, reload, stored_now)))
                    except BatchBroken:
                        # roll the batch back and write its files (this one too) one transaction each
                        store.rollback_batch()
                        stored_now.intersection_update(stored_before_batch)
                        again = [(s, p) for s, p, _o in held] + [(source, prepared)]
                        held.clear()
                        for s, p in again:
                            held.append((s, p, _written(store, s, p, reload, stored_now)))
                    if store.in_batch and sum(o.rows_read for _s, _p, o in held) >= (batch_rows or 0):
                        store.commit_batch()
                    if not store.in_batch:
                        settle()
                    current = None
                    bytes_done += source.size
                    if on_progress:
                        rows = report.total("rows_read") + sum(o.rows_read for _s, _p, o in held)
                        on_progress(Progress(index + 1, len(sources), bytes_done, bytes_total, rows, source.basename))
                if store.in_batch:
                    store.commit_batch()
                    settle()
            except BaseException:
                store.rollback_batch()  # an open batch leaves nothing; the settings are restored after it
                raise
    except (KeyboardInterrupt, RuntimeError) as exc:
        # the engine reports Ctrl-C during a statement as its own error, caused by the interrupt
        if not isinstance(exc, KeyboardInterrupt) and not isinstance(exc.__cause__, KeyboardInterrupt):
            raise
        for future in pending:
            future.cancel()
        # interrupted after a commit, before the loop heard: those files are stored
        unsure = [(s, p) for s, p, _o in held]
        if current is not None and id(current[1]) not in reported and all(current[1] is not p for _s, p in unsure):
            unsure.append(current)
        for s, p in unsure:
            _count_committed(store, report, s, p, before)
        report.seconds = time.perf_counter() - clock_all
        raise IngestInterrupted(report) from exc
    finally:
        for _source, prepared, _outcome in held:
            _discard(prepared)
        if current is not None and id(current[1]) not in reported:  # a reported file's CSV is already dropped
            _discard(current[1])
        pool.shutdown(wait=True, cancel_futures=True)
        for future in pending:
            if future.done() and not future.cancelled() and future.exception() is None:
                _discard(future.result())
        shutil.rmtree(scratch, ignore_errors=True)
    report.seconds = time.perf_counter() - clock_all
    return report


def _written(store: Store, source: SourceFile, prepared: _Prepared, reload: bool, stored_now: set[str]) -> FileOutcome:
    outcome = _finish(store, source, prepared, reload, stored_now)
    if outcome.status == "stored":
        stored_now.add(prepared.sha)
    outcome.size = source.size
    return outcome


def _count_committed(store: Store, report: IngestReport, source: SourceFile, prepared: _Prepared, before: int) -> None:
    entry = store.stored_since(prepared.sha, before) if prepared.sha else None
    if entry is not None:
        report.files.append(FileOutcome(
            source.name, "stored", kind=str(entry["kind"] or ""), rows_read=int(entry["rows_read"]),
            rows_stored=int(entry["rows_stored"]), rows_quarantined=int(entry["rows_quarantined"]),
            rows_replaced=int(entry["rows_replaced"]), size=source.size,
        ))


@dataclass
class _Prepared:
    """A file read and understood off the main thread, or why it was skipped or refused."""

    started: dt.datetime
    clock: float
    sha: str = ""
    size: int = 0
    plan: FilePlan | None = None
    skipped: str = ""
    refused: str = ""


def _discard(prepared: _Prepared) -> None:
    if prepared.plan is not None and prepared.plan.csv_path:
        Path(prepared.plan.csv_path).unlink(missing_ok=True)


def _prepare(
    store: Store,
    source: SourceFile,
    force_name: str | None,
    reload: bool,
    mapping: Mapping[str, Any] | None,
    limits: Limits,
    today: dt.date | None,
    scratch: str,
) -> _Prepared:
    prepared = _Prepared(started=dt.datetime.now(dt.UTC), clock=time.perf_counter())
    data = b""
    try:
        data = load(source, limits)
        prepared.sha, prepared.size = content_sha256(data), len(data)
        if not reload and store.seen(prepared.sha, cursor=True):
            prepared.skipped = "seen"  # decided finally in the writing thread
            return prepared
        plan = plan_file(source, data, force_name=force_name, mapping=mapping, today=today, sha256=prepared.sha)
        if plan.scan is not None:
            plan = _stage(plan, scratch)
        prepared.plan = plan
    except (FileRefused, SourceError, OSError) as exc:
        prepared.refused = " ".join(str(exc).split()) or f"{source.name}: cannot be read"
        prepared.sha, prepared.size = content_sha256(data), len(data)
    return prepared


def _stage(plan: FilePlan, scratch: str) -> FilePlan:
    """Put the decompressed CSV where the engine can read it (else the careful reader does).

    In memory-backed space when the system has it, else (or when it is full: containers
    often give /dev/shm 64 MB) in the ordinary temporary folder.
    """
    assert plan.scan is not None
    name = f"{uuid.uuid4().hex}.csv"
    error: OSError | None = None
    for folder in dict.fromkeys((scratch, tempfile.gettempdir())):
        path = Path(folder) / name
        try:
            path.write_bytes(plan.scan.data)
        except OSError as exc:
            path.unlink(missing_ok=True)
            error = exc
            continue
        plan.csv_path = str(path)
        return plan
    why = error.strerror if error is not None else "no folder"
    return plan.read_carefully(f"the decompressed file could not be staged for the engine ({why})")


def _finish(store: Store, source: SourceFile, prepared: _Prepared, reload: bool, stored_now: set[str]) -> FileOutcome:
    clock, started = prepared.clock, prepared.started
    if prepared.refused:
        store.log_refusal(source.name, prepared.sha, prepared.size, prepared.refused, started, clock)
        return FileOutcome(source.name, "refused", message=prepared.refused, seconds=time.perf_counter() - clock)
    # the read-ahead asked the store before reading; since then only this run has written
    # to it (one writing process), so ask again only if it said seen or this run stored
    # the same content meanwhile (then the log gives the message)
    previous = None
    if not reload and (prepared.skipped or prepared.sha in stored_now):
        previous = store.seen(prepared.sha)
    if previous:
        message = f"already ingested as {previous['file']}"
        if previous["status"] == "superseded":
            message += " (since superseded by a newer version; use --reload to make it current)"
        return FileOutcome(source.name, "skipped", message=message, seconds=time.perf_counter() - clock)
    plan = prepared.plan
    assert plan is not None
    try:
        result = store.write_file(plan, started, clock)
    except FileRefused as exc:
        message = " ".join(str(exc).split())
        store.log_refusal(source.name, prepared.sha, prepared.size, message, started, clock)
        return FileOutcome(source.name, "refused", message=message, seconds=time.perf_counter() - clock)
    notes = list(result.notes)
    if result.superseded:
        notes.append("replaced the rows of " + ", ".join(result.superseded))
    for name, removed, left in result.affected:
        if left:
            notes.append(f"replaced {removed:,} rows of {name} ({left:,} of its rows remain)")
    if result.careful and result.careful not in (BY_RULES, BY_MAPPING):
        notes.append(f"read by the careful reader: {result.careful}")
    return FileOutcome(
        source.name,
        "stored",
        kind=plan.kind.name,
        rows_read=result.rows_read,
        rows_stored=result.rows_stored,
        rows_quarantined=result.rows_quarantined,
        rows_replaced=result.rows_replaced,
        notes=notes,
        seconds=time.perf_counter() - clock,
        examples=[f"{source.name}:{b.line}: {b.reason}" for b in result.examples],
        shared_ids=result.shared_ids,
        replaced=list(result.affected),
        careful=result.careful,
    )


@dataclass
class FileRead:
    """One file read and checked without a store: its typed rows and its quarantined rows.

    For looking at a file (and for tests): the rows come from exactly the code an ingest
    runs, on a scratch in-memory database.
    """

    name: str
    sha256: str
    size: int
    kind: Kind
    table: pa.Table
    bad: list[BadRow]
    rows_read: int
    notes: list[str] = field(default_factory=list)
    careful: str = ""

    @property
    def rows_stored(self) -> int:
        return self.table.num_rows

    def units(self) -> list[tuple[str, str]]:
        """(force, YYYY-MM) pairs of the rows: the unit a newer version replaces."""
        if self.table.num_rows == 0 or not {"force", "month"} <= set(self.table.column_names):
            return []
        pairs = {(str(f), m.strftime("%Y-%m")) for f, m in zip(self.table["force"].to_pylist(), self.table["month"].to_pylist(), strict=True) if f and m}
        return sorted(pairs)


def read_file(
    source: SourceFile,
    kinds: tuple[Kind, ...] | None = None,
    force_name: str | None = None,
    mapping: Mapping[str, Any] | None = None,
    today: dt.date | None = None,
    limits: Limits | None = None,
) -> FileRead:
    """Read and check one file as an ingest would, without a store. Raises FileRefused."""
    return read_data(source, load(source, limits), kinds, force_name, mapping, today)


def read_data(
    source: SourceFile,
    data: bytes,
    kinds: tuple[Kind, ...] | None = None,
    force_name: str | None = None,
    mapping: Mapping[str, Any] | None = None,
    today: dt.date | None = None,
) -> FileRead:
    """As :func:`read_file`, for CSV bytes already read and decompressed."""
    from thrv.store.scratch import check_plan

    plan = plan_file(source, data, kinds=kinds, force_name=force_name, mapping=mapping, today=today)
    checked = check_plan(plan)
    return FileRead(
        plan.name, plan.sha256, plan.size, plan.kind, checked.table, checked.bad, checked.rows_read,
        checked.notes, checked.careful,
    )
