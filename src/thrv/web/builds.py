"""What the server has built, and the one background worker that builds it.

Building a month's pack reads the store and takes seconds to minutes; rendering its PDF
takes tens of seconds. So the server never does either inside a request it cannot
afford: one worker thread runs every build and render, one at a time, highest priority
first (an analyst waiting, then the months warmed after start-up or an ingest, then the
files prepared for partner and public users), and keeps the results. Requests only read
what is built; only an analyst's request may add a job.

The worker also watches the store: when its file has changed and no writer holds it, it
takes a new read-only snapshot (:mod:`thrv.store.snapshot`), reads the catalogue of
months and forces through Ibis, and builds the warm months again. Until they are built,
the figures of the previous snapshot are served (a page says so).
"""

from __future__ import annotations

import atexit
import datetime as dt
import heapq
import itertools
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("thrv.web")

ANALYST, WARM, PRERENDER = 0, 1, 2  # job priorities: lower runs first


@dataclass(frozen=True)
class Catalogue:
    """What one snapshot of the store holds (read once per snapshot)."""

    version: int
    taken_at: str
    months: list[str]
    forces: list[str]
    force_months: dict[str, list[str]]
    path: Path | None = None

    def default_force(self, wanted: str = "") -> str | None:
        """The user's force if the store holds it, else the only force, else the first with data
        in the latest month (a force with no recent data makes an empty first page)."""
        if wanted in self.force_months:
            return wanted
        if not self.forces:
            return None
        latest = self.months[-1] if self.months else None
        with_latest = [f for f in self.forces if latest in self.force_months.get(f, [])]
        return (with_latest or self.forces)[0]

    def latest_month(self, force: str | None) -> str | None:
        months = self.force_months.get(force or "", []) or self.months
        return months[-1] if months else None


def read_catalogue(path: Path, version: int, taken_at: str) -> Catalogue:
    """Months and forces with street-level crime in a store, through its Ibis tables."""
    from thrv.store.database import Store

    with Store(path, read_only=True) as store:
        con = store.ibis()
        if "crimes" not in con.list_tables():
            return Catalogue(version, taken_at, [], [], {}, path)
        t = con.table("crimes")
        frame = t.group_by([t.force, t.month.strftime("%Y-%m").name("m")]).aggregate(n=t.count()).execute()
    frame = frame[frame["n"] > 0].sort_values(["force", "m"])
    force_months = {str(f): g["m"].astype(str).tolist() for f, g in frame.groupby("force", sort=True)}
    months = sorted(set(frame["m"].astype(str)))
    return Catalogue(version, taken_at, months, sorted(force_months), force_months, path)


@dataclass(order=True)
class _Entry:
    priority: int
    order: int
    key: Hashable = field(compare=False)
    fn: Callable[[], Any] = field(compare=False)


class Worker:
    """One thread that runs jobs one at a time by priority, keeps their results by key, and
    between jobs calls ``idle`` (the store check) at most every ``poll`` seconds."""

    def __init__(self, idle: Callable[[], None] | None = None, poll: float = 10.0) -> None:
        self.idle, self.poll = idle, poll
        self._heap: list[_Entry] = []
        self._queued: dict[Hashable, int] = {}  # key -> best priority queued
        self._results: dict[Hashable, Any] = {}
        self._errors: dict[Hashable, str] = {}
        self._running: tuple[Hashable, float] | None = None
        self._durations: dict[str, float] = {}
        self._cond = threading.Condition()
        self._order = itertools.count()
        self._stop = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="thrv-builds", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def submit(self, key: Hashable, fn: Callable[[], Any], priority: int) -> None:
        """Queue a job unless its result is kept or it is already queued at this priority or better."""
        with self._cond:
            if key in self._results or (self._running and self._running[0] == key):
                return
            if self._queued.get(key, 99) <= priority:
                return
            self._queued[key] = priority
            self._errors.pop(key, None)
            heapq.heappush(self._heap, _Entry(priority, next(self._order), key, fn))
            self._cond.notify_all()

    def result(self, key: Hashable) -> Any | None:
        return self._results.get(key)

    def error(self, key: Hashable) -> str | None:
        return self._errors.get(key)

    def wait(self, key: Hashable, timeout: float) -> Any | None:
        """The job's result, waiting up to ``timeout`` seconds for it (None if not ready)."""
        end = time.monotonic() + timeout
        with self._cond:
            while key not in self._results and key not in self._errors and not self._stop:
                left = end - time.monotonic()
                if left <= 0 or (key not in self._queued and not (self._running and self._running[0] == key)):
                    break
                self._cond.wait(left)
            return self._results.get(key)

    def forget(self, keep: Callable[[Hashable], bool]) -> None:
        """Drop kept results and queued jobs whose key ``keep`` rejects (a new snapshot)."""
        with self._cond:
            self._results = {k: v for k, v in self._results.items() if keep(k)}
            self._errors = {k: v for k, v in self._errors.items() if keep(k)}
            self._heap = [e for e in self._heap if keep(e.key)]
            heapq.heapify(self._heap)
            self._queued = {e.key: min(self._queued.get(e.key, 99), e.priority) for e in self._heap}

    def progress(self, key: Hashable) -> dict[str, Any]:
        """Where a job stands: 'ready', 'running' (for how long), 'queued' (how many ahead), or 'none'."""
        with self._cond:
            if key in self._results:
                return {"state": "ready"}
            if key in self._errors:
                return {"state": "failed", "error": self._errors[key]}
            typical = self._durations.get(_kind(key))
            if self._running and self._running[0] == key:
                return {"state": "running", "seconds": time.monotonic() - self._running[1], "typical": typical}
            if key in self._queued:
                mine = self._queued[key]
                ahead = sum(1 for e in self._heap if e.priority < mine or (e.priority == mine and e.key != key
                            and e.order < min(x.order for x in self._heap if x.key == key)))
                return {"state": "queued", "ahead": ahead + (1 if self._running else 0), "typical": typical}
            return {"state": "none"}

    def idle_now(self) -> bool:
        with self._cond:
            return not self._heap and self._running is None

    def _run(self) -> None:
        last_idle = time.monotonic()
        while True:
            entry = None
            with self._cond:
                while True:
                    if self._stop:
                        return
                    if self.idle is not None and time.monotonic() - last_idle >= self.poll:
                        break
                    if self._heap:
                        entry = heapq.heappop(self._heap)
                        if self._queued.get(entry.key) != entry.priority:
                            entry = None  # the same job queued again at a better priority ran already
                            continue
                        del self._queued[entry.key]
                        self._running = (entry.key, time.monotonic())
                        break
                    self._cond.wait(None if self.idle is None else max(0.01, self.poll - (time.monotonic() - last_idle)))
            if entry is None:
                last_idle = time.monotonic()
                try:
                    if self.idle is not None:
                        self.idle()
                except Exception:  # the store check must never stop the worker
                    log.exception("store check failed")
                continue
            self._execute(entry)

    def _execute(self, entry: _Entry) -> None:
        started = time.monotonic()
        try:
            value = entry.fn()
        except Exception as exc:
            log.exception("job %r failed", entry.key)
            with self._cond:
                self._errors[entry.key] = f"{type(exc).__name__}: {exc}"
                self._running = None
                self._cond.notify_all()
            return
        with self._cond:
            self._results[entry.key] = value
            self._durations[_kind(entry.key)] = time.monotonic() - started
            self._running = None
            self._cond.notify_all()


def _kind(key: Hashable) -> str:
    """'model' or 'file:pdf' etc.: durations are remembered per kind of job."""
    if isinstance(key, tuple) and key:
        return str(key[1]) + (":" + str(key[-1]) if key[1] == "file" else "")
    return str(key)


class Snapshots:
    """Read-only copies of the store, a new one each time the store has changed and is free."""

    def __init__(self, db: Path, folder: Path | None = None) -> None:
        self.db = db
        self._own = folder is None
        self._folder = folder
        self.version = 0
        self.signature: tuple[int, ...] | None = None
        self.path: Path | None = None
        self.taken_at = ""
        self.message = ""  # why the last attempt failed ("" when it worked)

    @property
    def folder(self) -> Path:
        """Where the copies go: made on first use, removed when the server stops or exits."""
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="thrv-serve-"))
            atexit.register(self.close)
        return self._folder

    def changed(self) -> bool:
        from thrv.store.snapshot import signature

        return signature(self.db) != self.signature

    def refresh(self) -> bool:
        """Take a new snapshot if the store changed; True when one was taken."""
        from thrv.store.database import StoreError
        from thrv.store.snapshot import copy_store, signature

        if not self.changed():
            return False
        before = signature(self.db)
        target = self.folder / f"snapshot-{self.version + 1}.duckdb"
        try:
            copy_store(self.db, target)
        except StoreError as exc:
            self.message = (
                "the store is being updated (an ingest is running)" if "lock" in str(exc).lower() else str(exc)
            )
            return False
        if signature(self.db) != before:  # written between the stat and the lock: take it next time
            target.unlink(missing_ok=True)
            return False
        old = self.path
        self.version += 1
        self.signature, self.path, self.message = before, target, ""
        self.taken_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        if old is not None:
            self.retire(old)
        return True

    def retire(self, path: Path) -> None:
        for p in (path, path.with_name(path.name + ".wal")):
            p.unlink(missing_ok=True)

    def close(self) -> None:
        if self._own:
            if self._folder is not None:
                shutil.rmtree(self._folder, ignore_errors=True)
        elif self.path is not None:
            self.retire(self.path)


LEVELS = ("force", "area", "district")


@dataclass(frozen=True)
class Month:
    """A month's pack model and what is derived from it (the public view), from one snapshot."""

    full: dict[str, Any]
    derived: dict[str, dict[str, Any]]
    version: int
    stale: bool = False  # from an earlier snapshot: the new one is still being built


def build_month(path: Path, month: str) -> dict[str, Any]:
    """The pack model of every force, area and district for a month (what ``thrv pack`` builds)."""
    from thrv.indicators.pack import build_pack, parse_month
    from thrv.report.model import pack_model
    from thrv.store.database import Store

    with Store(path, read_only=True) as store:
        pack = build_pack(store, parse_month(month), levels=list(LEVELS))
    return pack_model(pack)


class Builds:
    """Snapshots, the catalogue, the worker and what it has built, for one server."""

    def __init__(
        self,
        db: Path,
        derive: dict[str, Callable[[dict[str, Any]], dict[str, Any]]],
        render: Callable[[Month, str, str, str], bytes] | None = None,
        warm: int | list[str] | None = None,
        prerender: tuple[str, ...] = (),
        poll: float = 10.0,
        snapshot_dir: Path | None = None,
        build: Callable[[Path, str], dict[str, Any]] = build_month,
    ) -> None:
        self.db = db
        self.derive, self.render, self.build = derive, render, build
        self.warm, self.prerender = warm, prerender
        self.snapshots = Snapshots(db, snapshot_dir)
        self.worker = Worker(idle=self.check, poll=poll)
        self.catalogue: Catalogue | None = None
        self.status: dict[str, Any] | None = None
        self._stale: dict[str, Month] = {}

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Take the first snapshot now (if the store is free) and start the worker."""
        try:
            self.check()
        except Exception:
            log.exception("first store check failed")
        self.worker.start()

    def stop(self) -> None:
        self.worker.stop()
        self.snapshots.close()

    def check(self) -> None:
        """A new snapshot when the store changed: a new catalogue, the warm months queued again."""
        if not self.snapshots.refresh():
            return
        assert self.snapshots.path is not None
        old = self.catalogue
        cat = read_catalogue(self.snapshots.path, self.snapshots.version, self.snapshots.taken_at)
        if old is not None:
            for month in old.months:
                built = self.worker.result((old.version, "model", month))
                if built is not None:
                    self._stale[month] = Month(built.full, built.derived, built.version, stale=True)
        self.worker.forget(lambda key: isinstance(key, tuple) and key[0] == cat.version)
        self.catalogue = cat
        self.status = self._read_status(self.snapshots.path)
        months = self.warm_months(cat)
        for month in months[:1]:
            self.request_month(month, WARM)
        if self.prerender and cat.months:  # the latest month's files next: what partner and public users download
            latest = cat.months[-1]
            areas = [f for f in cat.forces if latest in cat.force_months[f]]
            for area in ([""] if len(cat.forces) == 1 else areas):
                for audience in ("public", "full"):
                    for fmt in self.prerender:
                        self.request_file(latest, area, audience, fmt, WARM if months else PRERENDER)
        for month in months[1:]:
            self.request_month(month, WARM)

    def warm_months(self, cat: Catalogue) -> list[str]:
        if self.warm is None:
            return []
        if isinstance(self.warm, int):
            return list(reversed(cat.months))[: self.warm]  # the latest first
        return [m for m in self.warm if m in cat.months]

    @staticmethod
    def _read_status(path: Path) -> dict[str, Any]:
        from thrv.store.database import Store
        from thrv.store.status import store_status

        with Store(path, read_only=True) as store:
            st = store_status(store)
        return {
            "tables": st.tables.astype(str).to_dict("records"),
            "files": st.files.astype(str).to_dict("records"),
            "reconciled": st.reconciled,
        }

    # -- months ----------------------------------------------------------------------------
    def month_key(self, month: str) -> tuple[Any, ...]:
        version = self.catalogue.version if self.catalogue else 0
        return (version, "model", month)

    def month(self, month: str) -> Month | None:
        """The month as built from the current snapshot, else from the previous one, else None."""
        built: Month | None = self.worker.result(self.month_key(month))
        if built is not None:
            self._stale.pop(month, None)
            return built
        return self._stale.get(month)

    def request_month(self, month: str, priority: int) -> tuple[Any, ...]:
        key = self.month_key(month)
        cat = self.catalogue
        if cat is None or cat.path is None:
            return key
        path, version = cat.path, cat.version

        def job() -> Month:
            full = self.build(path, month)
            return Month(full, {name: fn(full) for name, fn in self.derive.items()}, version)

        self.worker.submit(key, job, priority)
        return key

    def wait_month(self, month: str, seconds: float) -> Month | None:
        built: Month | None = self.worker.wait(self.month_key(month), seconds)
        return built

    def progress(self, key: tuple[Any, ...]) -> dict[str, Any]:
        return self.worker.progress(key)

    # -- files -----------------------------------------------------------------------------
    def file_key(self, month: str, area: str, audience: str, fmt: str) -> tuple[Any, ...]:
        version = self.catalogue.version if self.catalogue else 0
        return (version, "file", month, area, audience, fmt)

    def file(self, month: str, area: str, audience: str, fmt: str) -> bytes | None:
        data: bytes | None = self.worker.result(self.file_key(month, area, audience, fmt))
        return data

    def request_file(self, month: str, area: str, audience: str, fmt: str, priority: int) -> tuple[Any, ...]:
        """Queue a render (after the month's build, which is queued too if needed)."""
        key = self.file_key(month, area, audience, fmt)
        render = self.render
        if render is None:
            return key
        month_key = self.request_month(month, priority)
        if fmt == "pdf":  # the PDF is made from the HTML: render that once for both
            self.request_file(month, area, audience, "html", priority)

        def job() -> bytes:
            built: Month | None = self.worker.result(month_key)
            if built is None:
                raise RuntimeError(f"the pack for {month} could not be built")
            return render(built, area, audience, fmt)

        self.worker.submit(key, job, priority)
        return key
