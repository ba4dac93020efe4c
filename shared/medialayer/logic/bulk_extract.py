"""Where a bulk ZIP is stored, and copying the entries its manifest names to the assets' originals.

Entries are read in archive order (one forward pass over the ranged reader). Small ones are read
whole and stored by a few threads at once, since with many small files the requests dominate;
large ones stream to S3 in parts. Either way memory stays bounded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from medialayer.dal.assets import MediaStore
from medialayer.dal.jobs import JobFiles, upload_stream
from medialayer.dal.uploads import UploadRepository
from medialayer.errors import MediaLayerError
from medialayer.logic.bulk_limits import MAX_ZIP_BYTES, MiB
from medialayer.logic.bulk_rows import ParsedRows
from medialayer.logic.bulk_zip import ENTRY_ERRORS, Archive
from medialayer.logic.uploads import UPLOAD_SCHEME
from medialayer.models.jobs import BulkRow, JobRecord, RowError
from medialayer.settings import get_settings

SMALL_ENTRY_BYTES = 8 * MiB
PARALLEL_PUTS = 8


def zip_location(job: JobRecord, downloaded_name: str) -> tuple[str, str]:
    """The bucket and key of the job's ZIP: the client's upload, or what the download step stored."""
    if not job.source.startswith(UPLOAD_SCHEME):
        files = JobFiles(job.project_id, job.job_id)
        return files.bucket, files.key(downloaded_name)
    uploads = UploadRepository()
    upload_id = job.source.removeprefix(UPLOAD_SCHEME).strip("/")
    upload = uploads.get(job.project_id, upload_id) if upload_id else None
    if upload is None:
        raise MediaLayerError("not_found", f"zip_url: upload {upload_id or '(empty)'} not found")
    size = uploads.object_size(upload.s3_key)
    if size is None:
        raise MediaLayerError("fetch_failed", f"zip_url: nothing was uploaded to {job.source} yet")
    if size > MAX_ZIP_BYTES:
        raise MediaLayerError("file_too_large", f"zip_url: {size} bytes is over the {MAX_ZIP_BYTES}-byte limit")
    return uploads.bucket, upload.s3_key


def extract_entries(archive: Archive, parsed: ParsedRows, key_for_row: Callable[[int], str]) -> ParsedRows:
    """Store each row's entry under ``key_for_row(row)`` in the media bucket; an entry over its
    medium's cap or unreadable becomes a row error instead."""
    settings = get_settings()
    bucket = MediaStore().bucket
    errors = list(parsed.errors)
    kept: list[BulkRow] = []
    in_flight = threading.BoundedSemaphore(2 * PARALLEL_PUTS)  # bounds memory: entries read, not yet stored
    puts: list[Future[None]] = []

    def put(key: str, data: bytes) -> None:
        try:
            MediaStore(bucket).put(key, data)
        finally:
            in_flight.release()

    with ThreadPoolExecutor(PARALLEL_PUTS, thread_name_prefix="bulk-extract") as pool:
        for row in sorted(parsed.rows, key=lambda r: archive.offset(r.source)):
            cap = settings.max_bytes(row.media_type.value)
            if archive.size(row.source) > cap:
                errors.append(RowError(row=row.row, url=row.source, code="file_too_large",
                                       message=f"{archive.size(row.source)} bytes is over the {cap}-byte cap"))
                continue
            try:
                with archive.open(row.source) as stream:
                    if archive.size(row.source) <= SMALL_ENTRY_BYTES:
                        data = stream.read()
                        in_flight.acquire()
                        puts.append(pool.submit(put, key_for_row(row.row), data))
                    else:
                        upload_stream(bucket, key_for_row(row.row), stream)
            except ENTRY_ERRORS as exc:
                errors.append(RowError(row=row.row, url=row.source, code="invalid_request",
                                       message=f"the archive's entry could not be read ({type(exc).__name__})"))
                continue
            kept.append(row)
        for future in puts:
            future.result()  # a failed store fails the step, which the state machine retries
    return ParsedRows(rows=sorted(kept, key=lambda r: r.row), errors=sorted(errors, key=lambda e: e.row))
