"""Opening bulk ZIPs safely: small crafted archives, built here, for each refusal."""

from __future__ import annotations

import io
import stat
import struct
import zipfile

import pytest

from medialayer.errors import MediaLayerError
from medialayer.logic import bulk_zip
from medialayer.logic.bulk_limits import MiB
from medialayer.logic.bulk_zip import ENTRY_ERRORS, open_archive, unsafe_name

MANIFEST = b"file,media_type,name\na.jpg,image,A\n"


def _zip(entries: dict[str | zipfile.ZipInfo, bytes], method: int = zipfile.ZIP_DEFLATED) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, body in entries.items():
            archive.writestr(name, body)
    buffer.seek(0)
    return buffer


def _refusal(stream: io.BytesIO) -> MediaLayerError:
    with pytest.raises(MediaLayerError) as info:
        open_archive(stream)
    return info.value


def test_a_plain_archive_opens_and_its_entries_stream() -> None:
    archive = open_archive(_zip({"manifest.csv": MANIFEST, "a.jpg": b"jpeg bytes", "dir/": b""}))
    assert archive.has("a.jpg") and not archive.has("dir/") and not archive.has("manifest.csv")
    assert archive.read_manifest() == MANIFEST
    with archive.open("a.jpg") as stream:
        assert stream.read() == b"jpeg bytes"


@pytest.mark.parametrize(("name", "reason"), [
    ("../evil.sh", "'..'"), ("photos/../../evil.sh", "'..'"), ("/etc/passwd", "absolute"),
    ("C:/Windows/evil.dll", "absolute"), ("photos\\..\\evil.sh", "backslash"), ("a\x00.jpg", "NUL"),
])
def test_names_that_could_escape_the_folder_are_refused(name: str, reason: str) -> None:
    assert reason in (unsafe_name(name) or "")
    info = zipfile.ZipInfo("placeholder")
    info.filename = info.orig_filename = name  # zipfile would clean some of these on write
    error = _refusal(_zip({"manifest.csv": MANIFEST, info: b"x"}))
    assert error.code == "invalid_request" and "refused" in error.message


def test_safe_names_pass() -> None:
    for name in ("a.jpg", "photos/2024/a b.jpg", "..hidden/x.jpg", "x..y.jpg"):
        assert unsafe_name(name) is None


def test_links_are_refused() -> None:
    link = zipfile.ZipInfo("a.jpg")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    assert "link" in _refusal(_zip({"manifest.csv": MANIFEST, link: b"/etc/passwd"})).message


def test_encrypted_entries_are_refused() -> None:
    buffer = _zip({"manifest.csv": MANIFEST, "a.jpg": b"x" * 100}, zipfile.ZIP_STORED)
    data = bytearray(buffer.getvalue())
    # Set the "encrypted" general-purpose flag bit in the central directory record of a.jpg.
    central = data.rfind(b"PK\x01\x02")
    (flags,) = struct.unpack_from("<H", data, central + 8)
    struct.pack_into("<H", data, central + 8, flags | 0x1)
    assert "encrypted" in _refusal(io.BytesIO(bytes(data))).message


def test_too_many_entries_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk_zip, "MAX_ZIP_ENTRIES", 3)
    entries: dict[str | zipfile.ZipInfo, bytes] = {"manifest.csv": MANIFEST, **{f"{i}.jpg": b"x" for i in range(3)}}
    assert "more than 3 entries" in _refusal(_zip(entries)).message


def test_a_high_ratio_entry_is_a_bomb() -> None:
    error = _refusal(_zip({"manifest.csv": MANIFEST, "a.jpg": bytes(5 * MiB)}))
    assert error.code == "file_too_large" and "decompression bomb" in error.message


def test_the_total_uncompressed_size_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk_zip, "MAX_UNCOMPRESSED_BYTES", 1000)
    error = _refusal(_zip({"manifest.csv": MANIFEST, "a.jpg": b"x" * 600, "b.jpg": b"y" * 600}, zipfile.ZIP_STORED))
    assert error.code == "file_too_large" and "expand past" in error.message


def test_overlapping_entries_are_a_bomb() -> None:
    # Two central-directory records pointing at the same local entry (the overlapping-file bomb).
    data = bytearray(_zip({"manifest.csv": MANIFEST, "a.jpg": b"z" * 2000}).getvalue())
    end = data.rfind(b"PK\x05\x06")
    first = data.find(b"PK\x01\x02")
    second = data.find(b"PK\x01\x02", first + 4)
    record = bytes(data[second:end]).replace(b"a.jpg", b"b.jpg")
    count, size, offset = struct.unpack_from("<HII", data, end + 10)
    tail = bytearray(data[end:])
    struct.pack_into("<HHII", tail, 8, count + 1, count + 1, size + len(record), offset)
    crafted = bytes(data[:end]) + record + bytes(tail)
    assert "overlap" in _refusal(io.BytesIO(crafted)).message


def test_a_manifest_is_required_at_the_root_or_in_the_one_top_folder() -> None:
    assert "manifest.csv" in _refusal(_zip({"a.jpg": b"x"})).message
    archive = open_archive(_zip({"shop/manifest.csv": MANIFEST, "shop/a.jpg": b"x"}))
    assert archive.has("a.jpg")
    assert "manifest.csv" in _refusal(_zip({"x/manifest.csv": MANIFEST, "y/manifest.csv": MANIFEST})).message


def test_not_a_zip_is_refused() -> None:
    assert "not a readable ZIP" in _refusal(io.BytesIO(b"PK\x03\x04 and nothing more")).message


def test_an_entry_that_lies_about_its_size_fails_when_read() -> None:
    data = bytearray(_zip({"manifest.csv": MANIFEST, "a.jpg": b"q" * 5000}).getvalue())
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 100)  # declared uncompressed size: 100, really 5000
    archive = open_archive(io.BytesIO(bytes(data)))
    with pytest.raises(ENTRY_ERRORS), archive.open("a.jpg") as stream:
        stream.read()
