"""Opening a bulk ZIP safely: the checks run on the central directory before any entry is read.

Refused, so the whole job fails: more than ``MAX_ZIP_ENTRIES`` entries, a name that could escape a
directory (``..``, absolute, drive letters, backslashes, NUL), links, encrypted entries, the same
name twice, entries whose compressed bytes overlap (the overlapping-file bomb), and any entry or
total that would expand past the limits (decompression bombs). Entries are then read one at a
time as streams; zipfile stops each at its declared size and checks its CRC, so an entry that lies
about its size fails instead of expanding further.
"""

from __future__ import annotations

import itertools
import posixpath
import re
import stat
import zipfile
from dataclasses import dataclass
from typing import IO

from medialayer.errors import MediaLayerError
from medialayer.logic.bulk_limits import (
    MANIFEST_NAME,
    MAX_CSV_BYTES,
    MAX_RATIO,
    MAX_UNCOMPRESSED_BYTES,
    MAX_ZIP_ENTRIES,
    RATIO_FLOOR,
)

_DRIVE = re.compile(r"^[A-Za-z]:")
# Errors an entry's stream raises when its bytes are damaged or use a method zipfile cannot read.
ENTRY_ERRORS = (zipfile.BadZipFile, NotImplementedError, EOFError, OSError, ValueError)


@dataclass
class Archive:
    zip: zipfile.ZipFile
    files: dict[str, zipfile.ZipInfo]  # regular files by their name relative to the manifest's folder
    manifest: zipfile.ZipInfo

    def has(self, name: str) -> bool:
        return name in self.files

    def offset(self, name: str) -> int:
        return self.files[name].header_offset

    def size(self, name: str) -> int:
        return self.files[name].file_size

    def open(self, name: str) -> IO[bytes]:
        return self.zip.open(self.files[name])

    def read_manifest(self) -> bytes:
        with self.zip.open(self.manifest) as stream:
            data = stream.read(MAX_CSV_BYTES + 1)
        if len(data) > MAX_CSV_BYTES:
            raise MediaLayerError("file_too_large", f"{MANIFEST_NAME} is over {MAX_CSV_BYTES} bytes")
        return data


def _refuse(message: str) -> MediaLayerError:
    return MediaLayerError("invalid_request", f"the archive is refused: {message}")


def unsafe_name(name: str) -> str | None:
    """Why an entry name could write outside the extraction folder, or None if it cannot."""
    if "\x00" in name:
        return "a NUL character"
    if "\\" in name:
        return "a backslash"
    if name.startswith("/") or _DRIVE.match(name):
        return "an absolute path"
    if ".." in name.split("/"):
        return "a '..' component"
    return None


def _is_link(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _check_entries(infos: list[zipfile.ZipInfo]) -> None:
    if len(infos) > MAX_ZIP_ENTRIES:
        raise _refuse(f"more than {MAX_ZIP_ENTRIES} entries")
    names: set[str] = set()
    total = 0
    for info in infos:
        shown = repr(info.orig_filename[:200])
        for name in {info.filename, info.orig_filename}:
            reason = unsafe_name(name)
            if reason:
                raise _refuse(f"entry {shown} has {reason}")
        if _is_link(info):
            raise _refuse(f"entry {shown} is a link")
        if info.flag_bits & 0x1:
            raise _refuse(f"entry {shown} is encrypted")
        if info.filename in names:
            raise _refuse(f"entry {shown} appears twice")
        names.add(info.filename)
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise MediaLayerError("file_too_large", f"the archive is refused: entry {shown} would expand "
                                                    f"more than {MAX_RATIO} times (a decompression bomb)")
        total += info.file_size
        if total > MAX_UNCOMPRESSED_BYTES:
            raise MediaLayerError("file_too_large",
                                  f"the archive is refused: it would expand past {MAX_UNCOMPRESSED_BYTES} bytes")
    ordered = sorted(infos, key=lambda i: i.header_offset)
    for before, after in itertools.pairwise(ordered):
        if before.header_offset + before.compress_size > after.header_offset:
            raise _refuse("entries overlap (a decompression bomb)")


def _manifest(infos: list[zipfile.ZipInfo]) -> zipfile.ZipInfo:
    """``manifest.csv`` at the root, or in the one top-level folder that zipping a folder creates."""
    files = [i for i in infos if not i.is_dir()]
    root = [i for i in files if i.filename == MANIFEST_NAME]
    nested = [i for i in files if posixpath.basename(i.filename) == MANIFEST_NAME and i.filename.count("/") == 1]
    if root:
        return root[0]
    if len(nested) == 1:
        return nested[0]
    raise MediaLayerError("invalid_request", f"the archive has no {MANIFEST_NAME} at its root")


def open_archive(stream: IO[bytes]) -> Archive:
    """Read and check the central directory of the ZIP in ``stream`` (seekable; only ranges are read)."""
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
        raise MediaLayerError("invalid_request", "the file is not a readable ZIP archive") from None
    infos = archive.infolist()
    _check_entries(infos)
    manifest = _manifest(infos)
    base = posixpath.dirname(manifest.filename)
    prefix = f"{base}/" if base else ""
    files = {i.filename[len(prefix):]: i for i in infos
             if not i.is_dir() and i is not manifest and i.filename.startswith(prefix)}
    return Archive(zip=archive, files=files, manifest=manifest)
