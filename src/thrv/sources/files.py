"""Finding input files and getting their bytes: plain paths, folders, zip archives, gzip.

data.police.uk hands analysts a zip of ``YYYY-MM/`` folders; forces hand over folders of
extracts. Everything is turned into a flat, ordered list of :class:`SourceFile` so the
ingest loop never needs to know where the bytes came from. Order is deterministic
(paths as given, and sorted within a folder or archive) because the order decides
which version of a month wins when two differ (see docs/ingest.md).

Nothing found here stops a run: a broken archive, an encrypted or unsupported member, a
corrupt gzip stream or a file over the size limits becomes a :class:`SourceError` when that
one file is read, with a one-line message naming the file (and member), and the ingest loop
reports it as refused and goes on. Decompression is bounded (:class:`Limits`): bytes are
counted as they are produced, never trusted from a header, so a decompression bomb is
stopped before it is held in memory.
"""

from __future__ import annotations

import tomllib
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from thrv.reference import DATA

#: Suffixes picked up when searching a folder or an archive. A file named explicitly on
#: the command line is always tried, whatever its name, so a wrongly named file gets a
#: clear refusal instead of being skipped in silence.
CSV_SUFFIXES = (".csv", ".csv.gz")
ARCHIVE_SUFFIXES = (".zip",)

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
CONFIG = DATA / "config" / "ingest.toml"
_MB = 1024 * 1024
_CHUNK = 1 << 20

#: zip compression methods Python's zipfile reads, by their number in the zip format
_ZIP_METHODS = {0: "stored", 8: "deflate", 12: "bzip2", 14: "lzma"}
_ZIP_METHOD_NAMES = {9: "Deflate64", 10: "PKWARE implode", 93: "Zstandard", 95: "xz", 98: "PPMd", 99: "AES encryption"}


@dataclass(frozen=True)
class Limits:
    """Bounds on what one input file may decompress to (``config/ingest.toml``)."""

    max_bytes: int = 2048 * _MB
    max_ratio: float = 200.0
    #: files smaller than this once decompressed are not held to the ratio
    ratio_floor: int = 8 * _MB

    def describe(self) -> str:
        return f"{self.max_bytes / _MB:,.0f} MB, ratio {self.max_ratio:g}"


def load_limits(path: Path = CONFIG, **overrides: float | None) -> Limits:
    """The limits in ``config/ingest.toml``, with any given ``max_megabytes``/``max_ratio`` over them."""
    doc = tomllib.loads(path.read_text(encoding="utf-8")).get("limits", {})
    values = {
        "max_megabytes": float(doc.get("max_megabytes", 2048)),
        "max_ratio": float(doc.get("max_ratio", 200)),
        "ratio_floor_megabytes": float(doc.get("ratio_floor_megabytes", 8)),
    }
    values.update({k: float(v) for k, v in overrides.items() if v is not None})
    for key, value in values.items():
        if value <= 0:
            raise ValueError(f"ingest limit {key} must be positive, not {value:g}")
    return Limits(
        max_bytes=int(values["max_megabytes"] * _MB),
        max_ratio=values["max_ratio"],
        ratio_floor=int(values["ratio_floor_megabytes"] * _MB),
    )


def lock_wait_seconds(path: Path = CONFIG) -> float:
    doc = tomllib.loads(path.read_text(encoding="utf-8")).get("store", {})
    return float(doc.get("lock_wait_seconds", 15))


@dataclass(frozen=True)
class SourceFile:
    """One CSV to read: its display name (used in every message) and how to get its bytes.

    ``read_bytes`` gives the bytes as stored (perhaps gzip); ``read_limited``, when set, is
    used instead and applies the limits itself (archive members). ``size`` is the stored
    size, for progress.
    """

    name: str
    read_bytes: Callable[[], bytes]
    size: int = 0
    read_limited: Callable[[Limits], bytes] | None = None

    @property
    def basename(self) -> str:
        member = self.name.rsplit("!", 1)[-1]
        member = member.split(" (entry ", 1)[0]
        return member.replace("\\", "/").rsplit("/", 1)[-1]


class SourceError(Exception):
    """A problem with one input as a whole (a broken archive or gzip stream, over a limit)."""


def _is_candidate(name: str) -> bool:
    return name.lower().endswith(CSV_SUFFIXES)


def _refused(name: str, message: str) -> SourceFile:
    """An input that cannot be read at all: reading it raises the message."""

    def fail() -> bytes:
        raise SourceError(message)

    return SourceFile(name, fail)


def _plain_file(path: Path) -> SourceFile:
    def read_limited(limits: Limits) -> bytes:
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise SourceError(
                f"{path}: {size / _MB:,.0f} MB is over the size limit of {limits.max_bytes / _MB:,.0f} MB "
                "(raise it with --max-megabytes)"
            )
        return path.read_bytes()

    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    return SourceFile(str(path), path.read_bytes, size, read_limited)


def _zip_members(path: Path) -> list[SourceFile]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        return [_refused(str(path), f"{path}: not a readable zip archive ({_one_line(exc)})")]
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir() and _is_candidate(i.filename)]
    counts: dict[str, int] = {}
    for info in infos:
        counts[info.filename] = counts.get(info.filename, 0) + 1
    members: list[SourceFile] = []
    entry: dict[str, int] = {}
    for position in sorted(range(len(infos)), key=lambda k: (infos[k].filename, k)):
        info = infos[position]
        entry[info.filename] = entry.get(info.filename, 0) + 1
        # a name used twice in one archive: every entry is read, and named apart
        name = f"{path}!{info.filename}"
        if counts[info.filename] > 1:
            name += f" (entry {entry[info.filename]} of {counts[info.filename]})"

        def read_limited(limits: Limits, k: int = position, member: str = name) -> bytes:
            return _read_member(path, k, member, limits)

        def read_bytes(k: int = position, member: str = name) -> bytes:
            return _read_member(path, k, member, Limits())

        members.append(SourceFile(name, read_bytes, info.compress_size, read_limited))
    return members


def _read_member(path: Path, position: int, name: str, limits: Limits) -> bytes:
    """One archive member's bytes, checked: readable method, not encrypted, within the limits."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [i for i in archive.infolist() if not i.is_dir() and _is_candidate(i.filename)]
            info = infos[position]
            if info.flag_bits & 0x1:
                raise SourceError(f"{name}: the archive member is encrypted (password protected); extract it first")
            if info.compress_type not in _ZIP_METHODS:
                method = _ZIP_METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
                raise SourceError(
                    f"{name}: compressed with {method}, which thrv cannot read; "
                    "extract it, or re-create the archive with ordinary (deflate) compression"
                )
            budget = _budget(limits, info.compress_size)
            with archive.open(info) as handle:
                out = _read_bounded(iter(lambda: handle.read(_CHUNK), b""), budget, name, limits, info.compress_size)
    except SourceError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError, ValueError) as exc:
        raise SourceError(f"{name}: the archive member cannot be read ({_one_line(exc)})") from exc
    return out


def _budget(limits: Limits, compressed: int) -> int:
    """Most bytes a stream of ``compressed`` bytes may decompress to."""
    return min(limits.max_bytes, max(limits.ratio_floor, int(limits.max_ratio * max(compressed, 1))))


def _read_bounded(chunks: Iterator[bytes], budget: int, name: str, limits: Limits, compressed: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > budget:
            raise SourceError(_over_limit(name, total, budget, limits, compressed))
        parts.append(chunk)
    return b"".join(parts)


def _over_limit(name: str, total: int, budget: int, limits: Limits, compressed: int) -> str:
    if budget >= limits.max_bytes:
        return (
            f"{name}: decompresses to more than the size limit of {limits.max_bytes / _MB:,.0f} MB "
            "(raise it with --max-megabytes)"
        )
    return (
        f"{name}: decompresses to more than {limits.max_ratio:g} times its compressed size "
        f"({compressed:,} bytes), which is a decompression bomb, not a CSV (raise the limit with --max-ratio)"
    )


def discover(paths: Iterable[str | Path]) -> list[SourceFile]:
    """Expand files, folders (recursively) and zip archives into an ordered list of CSVs.

    Raises :class:`SourceError` only for a path that does not exist (a mistyped argument,
    found before anything is read); a broken archive is listed, and refused when read.
    """
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
                    found.append(_plain_file(child))
        elif path.name.lower().endswith(ARCHIVE_SUFFIXES) or _starts_with(path, ZIP_MAGIC):
            found.extend(_zip_members(path))
        else:
            found.append(_plain_file(path))
    return found


def _starts_with(path: Path, magic: bytes) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(magic)) == magic
    except OSError:
        return False


def load(source: SourceFile, limits: Limits | None = None) -> bytes:
    """The CSV bytes of one input: read, unzipped and gunzipped, within the limits."""
    limits = limits or Limits()
    try:
        data = source.read_limited(limits) if source.read_limited else source.read_bytes()
    except SourceError:
        raise
    except OSError as exc:
        raise SourceError(f"{source.name}: cannot be read ({_one_line(exc)})") from exc
    return decompress(source.name, data, limits)


def decompress(name: str, data: bytes, limits: Limits | None = None) -> bytes:
    """Return the CSV bytes, gunzipping when the content is gzip (whatever the name says).

    Concatenated gzip members are joined (as ``gzip -d`` does); a stream that is corrupt,
    truncated, fails its checksum or goes over the limits raises :class:`SourceError`.
    """
    if data[:2] != GZIP_MAGIC:
        return data
    limits = limits or Limits()
    budget = _budget(limits, len(data))
    parts: list[bytes] = []
    total = 0
    rest = data
    try:
        while rest:
            engine = zlib.decompressobj(wbits=31)
            pending = rest
            while not engine.eof:
                chunk = engine.decompress(pending, _CHUNK)
                pending = engine.unconsumed_tail
                if not chunk and not pending:
                    break  # no output and no input left: the stream stops before its end
                total += len(chunk)
                if total > budget:
                    raise SourceError(_over_limit(name, total, budget, limits, len(data)))
                parts.append(chunk)
            if not engine.eof:
                raise SourceError(f"{name}: broken gzip data (the stream is truncated)")
            rest = engine.unused_data
            if rest and rest[:2] != GZIP_MAGIC:
                if rest.strip(b"\x00"):
                    raise SourceError(f"{name}: broken gzip data (unexpected bytes after the end of the stream)")
                break  # zero padding after the stream, as some tools write
    except zlib.error as exc:
        raise SourceError(f"{name}: broken gzip data ({_one_line(exc)})") from exc
    return b"".join(parts)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
