"""Presigned uploads: large media goes straight to S3 and is then referenced as ``upload://ID``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aws_lambda_powertools import Logger

from medialayer.dal.uploads import UploadRepository
from medialayer.errors import MediaLayerError
from medialayer.fetch.sniff import detect_format
from medialayer.logic.secrets import new_id
from medialayer.models.tenancy import Principal
from medialayer.models.uploads import Upload, UploadCreated, UploadRequest
from medialayer.settings import get_settings

logger = Logger(child=True)

UPLOAD_SCHEME = "upload://"
UPLOAD_PREFIX = "uploads/"
# Enough bytes to recognise every container we sniff (ISO-BMFF brands sit in the first 32).
SNIFF_BYTES = 4096


def _key(project_id: str, upload_id: str) -> str:
    return f"{UPLOAD_PREFIX}{project_id}/{upload_id}"


def create_upload(principal: Principal, request: UploadRequest, repo: UploadRepository | None = None
                  ) -> UploadCreated:
    settings = get_settings()
    if request.bytes > settings.largest_max_bytes:
        raise MediaLayerError("file_too_large",
                              f"{request.bytes} bytes is over the largest per-medium cap "
                              f"({settings.largest_max_bytes} bytes)")
    repo = repo or UploadRepository()
    now = datetime.now(UTC)
    upload_id = new_id("upl")
    expires = now + timedelta(seconds=settings.upload_url_ttl_s)
    upload = Upload(upload_id=upload_id, project_id=principal.project_id, filename=request.filename,
                    content_type=request.content_type, bytes=request.bytes,
                    s3_key=_key(principal.project_id, upload_id), created_at=now, expires_at=expires)
    url = repo.presign_put(upload.s3_key, request.content_type, request.bytes, settings.upload_url_ttl_s)
    repo.put(upload)
    return UploadCreated(upload_id=upload_id, upload_url=url, expires_at=expires)


def get_upload(principal: Principal, upload_id: str, repo: UploadRepository | None = None) -> Upload:
    upload = (repo or UploadRepository()).get(principal.project_id, upload_id)
    if upload is None:
        raise MediaLayerError("not_found", f"upload {upload_id} not found")
    return upload


def read_upload(principal: Principal, reference: str, max_bytes: int, field: str,
                repo: UploadRepository | None = None) -> bytes:
    """The bytes behind ``upload://ID``, only for the caller's own project and within the cap."""
    repo = repo or UploadRepository()
    upload_id = reference.removeprefix(UPLOAD_SCHEME).strip("/")
    upload = repo.get(principal.project_id, upload_id) if upload_id else None
    if upload is None:
        raise MediaLayerError("not_found", f"{field}: upload {upload_id or '(empty)'} not found")
    size = repo.object_size(upload.s3_key)
    if size is None:
        raise MediaLayerError("fetch_failed", f"{field}: nothing was uploaded to {reference} yet; "
                                              "PUT the file to its upload_url first")
    if size > max_bytes:
        raise MediaLayerError("file_too_large", f"{field}: {size} bytes is over the {max_bytes}-byte cap")
    return repo.read(upload.s3_key)


def parse_upload_key(s3_key: str) -> tuple[str, str] | None:
    """``uploads/{project_id}/{upload_id}`` to its two ids, or None for any other key."""
    parts = s3_key.split("/")
    if len(parts) != 3 or parts[0] + "/" != UPLOAD_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def record_upload_event(s3_key: str, size: int, repo: UploadRepository | None = None) -> Upload | None:
    """Mark an upload received once S3 holds its bytes, with the format sniffed from them.

    Returns None for objects no upload slot was issued for (they are left alone and logged).
    Repeating it for the same object gives the same record, so redelivered events are harmless.
    """
    repo = repo or UploadRepository()
    ids = parse_upload_key(s3_key)
    upload = repo.get(*ids) if ids else None
    if upload is None:
        logger.warning("object without an upload slot", extra={"s3_key": s3_key})
        return None
    head = repo.read_head(s3_key, SNIFF_BYTES) if size else b""
    detected = detect_format(head)
    if detected is None:
        values = {"status": "rejected", "error": "unsupported_media", "detected_format": None}
    else:
        values = {"status": "received", "error": None, "detected_format": detected.format}
    repo.update(upload.project_id, upload.upload_id, **values)
    return upload.model_copy(update=values)
