"""A consistent read-only copy of a store, so a server can read while an ingest writes.

An embedded DuckDB file admits one writing process or many reading ones, never both. A
server that kept the file open would stop every ingest; one that opened it for each
build would fail while an ingest runs. So the server reads a copy: taken while holding a
read lock for a moment (no writer can be part-way through a transaction then), and taken
again when the file has changed and the writer has let go of it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from thrv.store.database import Store, StoreError


def signature(path: Path) -> tuple[int, int, int, int]:
    """(mtime, size) of the store file and of its write-ahead log: changes when data does."""
    out: list[int] = []
    for p in (path, path.with_name(path.name + ".wal")):
        try:
            st = os.stat(p)
            out += [st.st_mtime_ns, st.st_size]
        except FileNotFoundError:
            out += [0, 0]
    return out[0], out[1], out[2], out[3]


def copy_store(source: Path, target: Path) -> Path:
    """Copy the store to ``target`` under a read lock; raises StoreError while it is being written."""
    with Store(source, read_only=True):  # fails at once when a writer holds the file
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        try:
            shutil.copyfile(source, tmp)
            wal = source.with_name(source.name + ".wal")
            if wal.exists():  # left by a writer that stopped before its checkpoint
                shutil.copyfile(wal, target.with_name(target.name + ".wal"))
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StoreError(f"{source}: cannot copy the store for serving ({exc})") from exc
    tmp.replace(target)
    return target
