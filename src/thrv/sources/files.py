"""Finding input files: plain paths, folders searched recursively, and zip archives.

data.police.uk hands analysts a zip of ``YYYY-MM/`` folders; forces hand over folders of
extracts. Everything is turned into a flat, ordered list of :class:`SourceFile` so the
ingest loop never needs to know where the bytes came from. Order is deterministic
(paths as given, and sorted within a folder or archive) because the order decides
which version of a month wins when two differ (see docs/ingest.md).
"""

from __future__ import annotations

import gzip
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

#: Suffixes picked up when searching a folder or an archive. A file named explicitly on
#: the command line is always tried, whatever its name, so a wrongly named file gets a
#: clear refusal instead of being skipped in silence.
CSV_SUFFIXES = (".csv", ".csv.gz")
ARCHIVE_SUFFIXES = (".zip",)

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class SourceFile:
    """One CSV to read: its display name (used in every message) and how to get its bytes."""

    name: str
    read_bytes: Callable[[], bytes]

    @property
    def basename(self) -> str:
        return self.name.replace("!", "/").rsplit("/", 1)[-1]


class SourceError(Exception):
    """A problem with an input path as a whole (it does not exist, a broken archive)."""


def _is_candidate(name: str) -> bool:
    lower = name.lower()
    return lower.endswith(CSV_SUFFIXES)


def _file_reader(path: Path) -> Callable[[], bytes]:
    return path.read_bytes


def _zip_members(path: Path) -> list[SourceFile]:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise SourceError(f"{path}: not a readable zip archive ({exc})") from exc
    members: list[SourceFile] = []
    with archive:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            if info.is_dir() or not _is_candidate(info.filename):
                continue

            def read(member: str = info.filename) -> bytes:
                with zipfile.ZipFile(path) as again:
                    return again.read(member)

            members.append(SourceFile(f"{path}!{info.filename}", read))
    return members


def discover(paths: Iterable[str | Path]) -> list[SourceFile]:
    """Expand files, folders (recursively) and zip archives into an ordered list of CSVs."""
    found: list[SourceFile] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise SourceError(f"{path}: no such file or folder")
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                lower = child.name.lower()
                if lower.endswith(ARCHIVE_SUFFIXES):
                    found.extend(_zip_members(child))
                elif _is_candidate(child.name):
                    found.append(SourceFile(str(child), _file_reader(child)))
        elif path.name.lower().endswith(ARCHIVE_SUFFIXES) or _starts_with(path, ZIP_MAGIC):
            found.extend(_zip_members(path))
        else:
            found.append(SourceFile(str(path), _file_reader(path)))
    return found


def _starts_with(path: Path, magic: bytes) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(magic)) == magic


def decompress(name: str, data: bytes) -> bytes:
    """Return the CSV bytes, gunzipping when the content is gzip (whatever the name says)."""
    if data[:2] == GZIP_MAGIC:
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise SourceError(f"{name}: broken gzip data ({exc})") from exc
    return data
