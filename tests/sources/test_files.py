"""Getting the bytes of an input: broken gzip and zip files, limits, every archive member read.

Each case here once ended a whole ingest with a traceback (zlib.error, BadZipFile,
RuntimeError, NotImplementedError) or took gigabytes of memory; now each is one refused
file with a one-line message naming the file and member.
"""

from __future__ import annotations

import gzip
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import real_lines, sample_bytes
from thrv.sources.files import (
    Limits,
    SourceError,
    SourceFile,
    decompress,
    discover,
    load,
    load_limits,
)

MB = 1024 * 1024


def _csv(n: int = 20) -> bytes:
    return "".join(real_lines("2024-01", n=n)).encode("utf-8")


def _one_line(message: str) -> bool:
    return "\n" not in message and "Traceback" not in message


def _refusal(path: Path, limits: Limits | None = None) -> str:
    [source] = discover([path])
    with pytest.raises(SourceError) as info:
        load(source, limits)
    message = str(info.value)
    assert _one_line(message)
    return message


# -- gzip ---------------------------------------------------------------------------------


def test_a_corrupt_gzip_stream_is_one_refusal_naming_the_file(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(_csv(200)))
    data[len(data) // 2 : len(data) // 2 + 16] = b"\x00" * 16  # damage inside the deflate stream
    path = tmp_path / "2024-01-cambridgeshire-street.csv.gz"
    path.write_bytes(bytes(data))
    message = _refusal(path)
    assert message.startswith(f"{path}: broken gzip data")


def test_a_truncated_gzip_stream_is_refused(tmp_path: Path) -> None:
    data = gzip.compress(_csv(200))
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    assert "truncated" in _refusal(path)


def test_a_gzip_checksum_failure_is_refused(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(_csv(50)))
    data[-8] ^= 0xFF  # the CRC-32 in the trailer
    path = tmp_path / "crc.csv.gz"
    path.write_bytes(bytes(data))
    assert "broken gzip data" in _refusal(path)


def test_concatenated_gzip_members_are_one_file_as_gzip_reads_them() -> None:
    whole = _csv(30)
    split = whole.index(b"\n", len(whole) // 2) + 1
    data = gzip.compress(whole[:split]) + gzip.compress(whole[split:])
    assert decompress("x.csv.gz", data) == gzip.decompress(data) == whole


def test_a_gzip_bomb_is_stopped_by_the_ratio_limit() -> None:
    bomb = gzip.compress(b"a,b\n" + b"1,2\n" * (8 * MB))  # 32 MB of text in about 32 KB
    limits = Limits(max_bytes=1024 * MB, max_ratio=100, ratio_floor=1 * MB)
    with pytest.raises(SourceError, match="decompression bomb") as info:
        decompress("bomb.csv.gz", bomb, limits)
    assert "--max-ratio" in str(info.value)


def test_the_size_limit_refuses_before_reading_a_plain_file(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(_csv(2000))
    message = _refusal(path, Limits(max_bytes=64 * 1024))
    assert "over the size limit" in message and "--max-megabytes" in message


def test_limits_come_from_the_config_file_and_can_be_overridden() -> None:
    limits = load_limits()
    assert limits.max_bytes == 2048 * MB and limits.max_ratio == 200
    assert load_limits(max_megabytes=10, max_ratio=50).max_bytes == 10 * MB
    with pytest.raises(ValueError, match="must be positive"):
        load_limits(max_ratio=0)


# -- zip ----------------------------------------------------------------------------------


def _zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _patch_headers(path: Path, offset_local: int, offset_central: int, value: int, width: str = "<H", mask: bool = False) -> None:
    """Change a 2-byte field of every local and central header (e.g. flags, method)."""
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", offset_local), (b"PK\x01\x02", offset_central)):
        start = 0
        while (at := data.find(signature, start)) != -1:
            field = at + offset
            old = struct.unpack_from(width, data, field)[0]
            struct.pack_into(width, data, field, (old | value) if mask else value)
            start = at + 4
    path.write_bytes(bytes(data))


def test_a_zip_member_with_a_bad_crc_is_refused_naming_the_member(tmp_path: Path) -> None:
    path = _zip(tmp_path / "police.zip", {"2024-01/2024-01-cambridgeshire-street.csv": _csv(100)}, zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    at = data.find(b"Falls within") + 200
    data[at] = ord("X") if data[at] != ord("X") else ord("Y")  # change stored content: CRC no longer matches
    path.write_bytes(bytes(data))
    message = _refusal(path)
    assert message.startswith(f"{path}!2024-01/2024-01-cambridgeshire-street.csv: ")
    assert "CRC" in message


def test_an_encrypted_zip_member_is_refused(tmp_path: Path) -> None:
    path = _zip(tmp_path / "locked.zip", {"2024-01-cambridgeshire-street.csv": _csv()})
    _patch_headers(path, 6, 8, 0x1, mask=True)  # the "encrypted" flag bit
    assert "encrypted (password protected)" in _refusal(path)


def test_a_deflate64_member_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = _zip(tmp_path / "windows.zip", {"2024-01-cambridgeshire-street.csv": _csv()})
    _patch_headers(path, 8, 10, 9)  # compression method 9: Deflate64, as Windows writes for big files
    message = _refusal(path)
    assert "Deflate64" in message and "re-create the archive" in message


def test_a_corrupt_deflate_member_is_refused(tmp_path: Path) -> None:
    path = _zip(tmp_path / "corrupt.zip", {"2024-01-cambridgeshire-street.csv": _csv(300)})
    data = bytearray(path.read_bytes())
    start = data.find(b"street.csv") + len(b"street.csv") + 40
    data[start : start + 64] = bytes(range(64))
    path.write_bytes(bytes(data))
    assert "cannot be read" in _refusal(path)


def test_a_zip_bomb_member_is_refused(tmp_path: Path) -> None:
    path = _zip(tmp_path / "bomb.zip", {"2024-01-cambridgeshire-street.csv": b"a,b\n" + b"1,2\n" * (4 * MB)})
    [source] = discover([path])
    with pytest.raises(SourceError, match="decompression bomb"):
        load(source, Limits(max_bytes=1024 * MB, max_ratio=100, ratio_floor=1 * MB))


def test_an_unreadable_archive_is_listed_and_refused_when_read(tmp_path: Path) -> None:
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04garbage")
    [source] = discover([broken])  # finding files never stops on one bad archive
    with pytest.raises(SourceError, match="not a readable zip archive"):
        load(source)


def test_every_entry_of_a_repeated_member_name_is_read(tmp_path: Path) -> None:
    path = tmp_path / "twice.zip"
    first, second = _csv(5), _csv(9)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("2024-01-cambridgeshire-street.csv", first)
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("2024-01-cambridgeshire-street.csv", second)
    found = discover([path])
    assert [f.name.rsplit("!", 1)[1] for f in found] == [
        "2024-01-cambridgeshire-street.csv (entry 1 of 2)",
        "2024-01-cambridgeshire-street.csv (entry 2 of 2)",
    ]
    assert [load(f) for f in found] == [first, second]
    assert {f.basename for f in found} == {"2024-01-cambridgeshire-street.csv"}


def test_a_real_file_survives_the_round_trip_through_a_zip(tmp_path: Path) -> None:
    data = sample_bytes("2024-02")
    path = _zip(tmp_path / "real.zip", {"2024-02/2024-02-cambridgeshire-street.csv": data})
    [source] = discover([path])
    assert load(source) == data


# -- property: damaged compressed real files ----------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_property_damaged_gzip_and_zip_never_raise_anything_else(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    """Random byte damage to a gzip or zip of real rows: the bytes, or one SourceError line."""
    csv = _csv(60)
    form = data.draw(st.sampled_from(["gzip", "zip", "zip-stored"]))
    folder = tmp_path_factory.mktemp("damaged")
    if form == "gzip":
        raw = bytearray(gzip.compress(csv))
        path = folder / "2024-01-cambridgeshire-street.csv.gz"
    else:
        method = zipfile.ZIP_DEFLATED if form == "zip" else zipfile.ZIP_STORED
        raw = bytearray(_zip(folder / "a.zip", {"2024-01-cambridgeshire-street.csv": csv}, method).read_bytes())
        path = folder / "a.zip"
    for _ in range(data.draw(st.integers(1, 6))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(1, len(raw)))]
    path.write_bytes(bytes(raw))
    try:
        sources = discover([path])
    except SourceError as exc:  # pragma: no cover - discover raises only for missing paths
        pytest.fail(f"discover raised {exc}")
    for source in sources:
        outcome = _load_or_message(source)
        if isinstance(outcome, str):
            assert _one_line(outcome) and outcome.startswith(str(path))
        else:
            assert isinstance(outcome, bytes)


def _load_or_message(source: SourceFile) -> bytes | str:
    try:
        return load(source, Limits(max_bytes=16 * MB, max_ratio=200, ratio_floor=1 * MB))
    except SourceError as exc:
        return str(exc)


def test_decompress_leaves_plain_bytes_alone() -> None:
    assert decompress("x.csv", b"a,b\n1,2\n") == b"a,b\n1,2\n"
    assert zlib.crc32(decompress("x.csv.gz", gzip.compress(b"a,b\n"))) == zlib.crc32(b"a,b\n")
