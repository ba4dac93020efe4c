"""Indexing: accept media into a project's library, fingerprint it in the background, manage assets.

Lifecycle (seed 000): pending -> processing -> ready | failed. A failure the media itself causes
(unreachable URL, undecodable file, quota) ends the asset ``failed`` with its error code at once;
anything unexpected is raised so the queue retries it, and its dead-letter queue keeps what never
succeeds.
"""

from __future__ import annotations

import hashlib
import posixpath
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from medialayer.dal.assets import AssetRepository, IndexQueue, MediaStore
from medialayer.dal.uploads import UploadRepository
from medialayer.errors import MediaLayerError
from medialayer.fetch.sniff import detect_format
from medialayer.logic.asset_status import ReadyCapReached, change_status, delete_counted
from medialayer.logic.library_index import add_to_index, remove_from_index
from medialayer.logic.media_input import MediaInput, load_media
from medialayer.logic.plans import get_plan
from medialayer.logic.quotas import require_feature
from medialayer.logic.secrets import new_id
from medialayer.logic.tenancy import project_principal
from medialayer.logic.uploads import SNIFF_BYTES
from medialayer.media.registry import available_media_types, get_engine
from medialayer.models.assets import Asset, AssetAccepted, AssetList, IndexUrlRequest
from medialayer.models.common import ErrorBody, MediaType
from medialayer.models.tenancy import Principal
from medialayer.observability import logger

INGEST_PREFIX = "ingest/"
MAX_LIST_LIMIT = 100


def _new_asset(principal: Principal, media_type: MediaType, name: str | None, source: str,
               metadata: dict[str, Any] | None = None, asset_id: str | None = None) -> Asset:
    now = datetime.now(UTC)
    return Asset(asset_id=asset_id or new_id("ast"), project_id=principal.project_id, name=name,
                 media_type=media_type, status="pending", source=source, created_at=now, updated_at=now,
                 metadata=metadata or {})


def _accept(principal: Principal, media_type: MediaType) -> None:
    if media_type not in available_media_types():
        raise MediaLayerError("not_found", f"{media_type.value} indexing is not available yet")
    require_feature(principal, media_type, "index")


def submit_url(principal: Principal, media_type: MediaType, request: IndexUrlRequest) -> AssetAccepted:
    _accept(principal, media_type)
    MediaInput(field="url", reference=request.url).validate()
    name = request.name or posixpath.basename(urlsplit(request.url).path) or None
    asset = _new_asset(principal, media_type, name, request.url, request.metadata)
    AssetRepository().put(asset)
    IndexQueue().send({"project_id": asset.project_id, "asset_id": asset.asset_id})
    return AssetAccepted(asset_id=asset.asset_id, status=asset.status)


def submit_upload(principal: Principal, media_type: MediaType, data: bytes, filename: str | None,
                  name: str | None) -> AssetAccepted:
    """Bytes carried by the request: checked now (cap, medium) so bad input is refused at once."""
    _accept(principal, media_type)
    load_media(MediaInput(field="file", data=data), media_type, principal)
    asset = _new_asset(principal, media_type, name or filename, f"upload:{filename or 'file'}")
    MediaStore().put(MediaStore.original_key(asset.project_id, asset.asset_id), data)
    AssetRepository().put(asset)
    IndexQueue().send({"project_id": asset.project_id, "asset_id": asset.asset_id, "stored": True})
    return AssetAccepted(asset_id=asset.asset_id, status=asset.status)


def process_asset(project_id: str, asset_id: str, stored: bool = False, data: bytes | None = None) -> Asset | None:
    """Fingerprint one pending asset; safe to repeat (a finished asset is left as it is).

    The bytes come from ``data`` when the caller already holds them, else from the stored upload
    (``stored``), else from the asset's URL.
    """
    repo = AssetRepository()
    asset = repo.get(project_id, asset_id)
    if asset is None or asset.status in ("ready", "failed"):
        return asset  # deleted meanwhile, or a redelivered message
    principal = project_principal(project_id)
    claimed = change_status(asset, status="processing")
    if claimed is None or claimed.status != "processing":
        return claimed  # deleted, or another delivery finished it meanwhile
    asset = claimed
    store = MediaStore()
    fingerprint_key = MediaStore.fingerprint_key(project_id, asset.media_type.value, asset_id)
    limit = get_plan(principal.plan).assets.get(asset.media_type)
    try:
        if data is None and stored:
            data = store.get(MediaStore.original_key(project_id, asset_id))
            if data is None:
                raise MediaLayerError("fetch_failed", "the uploaded bytes are gone")
        if data is not None:
            load_media(MediaInput(field="file", data=data), asset.media_type, principal)  # cap and medium
        else:
            data = load_media(MediaInput(field="url", reference=asset.source), asset.media_type, principal)
        engine = get_engine(asset.media_type)
        fingerprint = engine.fingerprint_bytes(data)
        if limit is not None and repo.ready_counts(project_id).get(asset.media_type.value, 0) >= limit:
            raise _over_cap(principal, asset.media_type, limit)  # early: the change to ready below decides
        store.put(fingerprint_key, engine.to_bytes(fingerprint))
    except MediaLayerError as exc:
        logger.info("asset failed", extra={"asset_id": asset_id, "code": exc.code})
        return change_status(asset, status="failed", error=ErrorBody(code=exc.code, message=exc.message))
    add_to_index(project_id, asset.media_type, asset_id, fingerprint)  # searchable before it reads ready
    try:
        # Counted in the same write: of two deliveries racing here, only the first counts it.
        done = change_status(asset, ready_limit=limit, status="ready", bytes=len(data),
                             duration_s=getattr(fingerprint, "duration_s", None))
    except ReadyCapReached:
        refused = _over_cap(principal, asset.media_type, limit)
        done = change_status(asset, status="failed", error=ErrorBody(code=refused.code, message=refused.message))
    if done is None or done.status != "ready":  # over the cap, deleted, or settled by its job meanwhile
        remove_from_index(project_id, asset.media_type, asset_id)
        store.delete(fingerprint_key)
    return done


def _over_cap(principal: Principal, media_type: MediaType, limit: int | None) -> MediaLayerError:
    return MediaLayerError("quota_exceeded",
                           f"the {principal.plan} plan allows {limit} ready {media_type.value} assets")


def ingest_object(bucket_key: str, size: int, sequencer: str) -> Asset | None:
    """An object put under ``ingest/{project_id}/`` of the uploads bucket becomes an asset."""
    parts = bucket_key.split("/", 2)
    if len(parts) != 3 or parts[0] + "/" != INGEST_PREFIX or not parts[2]:
        logger.warning("object outside a project's ingest prefix", extra={"key": bucket_key})
        return None
    project_id, filename = parts[1], parts[2]
    try:
        principal = project_principal(project_id)
    except MediaLayerError:
        logger.warning("ingest object for an unknown project", extra={"key": bucket_key})
        return None
    uploads = UploadRepository()
    data = uploads.read(bucket_key) if size else b""
    detected = detect_format(data[:SNIFF_BYTES])
    media_type = detected.media_type if detected else MediaType.image
    # One asset per object version, however often S3's event is delivered.
    asset_id = "ast_" + hashlib.sha256(f"{bucket_key}#{sequencer}".encode()).hexdigest()[:20]
    repo = AssetRepository()
    asset = repo.get(project_id, asset_id)
    if asset is None:
        asset = _new_asset(principal, media_type, posixpath.basename(filename), f"s3://{uploads.bucket}/{bucket_key}",
                           asset_id=asset_id)
        repo.put(asset)
    if detected is None:
        return change_status(asset, status="failed",
                             error=ErrorBody(code="unsupported_media", message="not a recognised media file"))
    # The object stays where it was put; only its fingerprint is stored.
    return process_asset(project_id, asset_id, data=data)


# -- the assets API
def get_asset(principal: Principal, asset_id: str) -> Asset:
    asset = AssetRepository().get(principal.project_id, asset_id)
    if asset is None:
        raise MediaLayerError("not_found", f"asset {asset_id} not found")
    return asset


def list_assets(principal: Principal, media_type: MediaType | None, status: str | None, limit: int,
                cursor: str | None) -> AssetList:
    if status and not media_type:
        raise MediaLayerError("invalid_request", "filtering by status needs media_type too")
    prefix = "" if media_type is None else f"{media_type.value}#" + (f"{status}#" if status else "")
    assets, next_cursor = AssetRepository().list(principal.project_id, prefix, min(limit, MAX_LIST_LIMIT), cursor)
    return AssetList(assets=assets, next_cursor=next_cursor)


def delete_asset(principal: Principal, asset_id: str) -> None:
    """Gone from the library at once: record, original bytes and fingerprint."""
    asset = get_asset(principal, asset_id)
    remove_from_index(principal.project_id, asset.media_type, asset_id)  # unsearchable first
    delete_counted(asset)  # with the ready count, and the row of a job still waiting for it
    MediaStore().delete(MediaStore.original_key(principal.project_id, asset_id),
                        MediaStore.fingerprint_key(principal.project_id, asset.media_type.value, asset_id))

