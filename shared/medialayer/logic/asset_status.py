"""Asset status changes: each holds only from the status its writer read, and moves the counters that
follow from it (the project's ready assets, the asset's bulk job) in the same write (dal/asset_moves.py).

So when two deliveries of one index message race, or a job settles a row a worker still holds, the
first writer wins and the other finds the asset moved on, changing and counting nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from medialayer.dal.asset_moves import AssetMoves, Outcome
from medialayer.dal.assets import AssetRepository
from medialayer.models.assets import Asset
from medialayer.models.common import ErrorBody
from medialayer.models.jobs import RowError
from medialayer.observability import logger

UNFINISHED = ("pending", "processing")
DELETED_CODE = "deleted"  # a job's row whose asset was deleted before it finished (docs/api.md, Bulk jobs)
_ATTEMPTS = 5  # a worker may move the asset between our read and our write; each attempt re-reads


class ReadyCapReached(Exception):
    """Becoming ready would pass the plan's cap on the project's ready assets."""


def change_status(asset: Asset, *, ready_limit: int | None = None, **changes: Any) -> Asset | None:
    """Move ``asset`` (as its caller read it) by ``changes``; returns the asset as it now stands: changed,
    or as another writer left it (None: deleted). Raises ReadyCapReached when the cap refuses it."""
    after = asset.model_copy(update={**changes, "updated_at": datetime.now(UTC)})
    outcome = AssetMoves().move(after, asset.status, ready_limit=ready_limit, row_error=_row_error(asset, after))
    if outcome is Outcome.DONE:
        return after
    if outcome is Outcome.OVER_CAP:
        raise ReadyCapReached
    current = AssetRepository().get(asset.project_id, asset.asset_id)
    logger.info("another writer moved the asset first", extra={
        "asset_id": asset.asset_id, "status": current.status if current else "deleted"})
    return current


def fail_asset(project_id: str, asset_id: str, error: ErrorBody, only: tuple[str, ...] = UNFINISHED) -> Asset | None:
    """End the asset ``failed`` with ``error`` if it is in one of the ``only`` statuses; returns it as it stands."""
    repo = AssetRepository()
    for _ in range(_ATTEMPTS):
        asset = repo.get(project_id, asset_id)
        if asset is None or asset.status not in only:
            return asset
        saved = change_status(asset, status="failed", error=error)
        if saved is None or saved.status == "failed":
            return saved
    return repo.get(project_id, asset_id)


def delete_counted(asset: Asset) -> None:
    """Delete the asset's record with what it counted: a ready asset leaves the ready count, and an
    unfinished bulk row ends failed (``deleted``), so its job completes without waiting for it."""
    repo = AssetRepository()
    current: Asset | None = asset
    for _ in range(_ATTEMPTS):
        if current is None:
            return
        error = None
        if current.job_id is not None and current.status in UNFINISHED:
            error = RowError(row=current.job_row or 0, url=current.source, code=DELETED_CODE,
                             message="the asset was deleted before it finished processing", asset_id=current.asset_id)
        if AssetMoves().delete(current, error) is not Outcome.STALE:
            return
        current = repo.get(asset.project_id, asset.asset_id)
    raise RuntimeError(f"asset {asset.asset_id} kept changing while it was deleted")


def _row_error(before: Asset, after: Asset) -> RowError | None:
    """A bulk row's error, when its asset fails."""
    if after.job_id is None or after.status != "failed" or before.status == "failed":
        return None
    body = after.error or ErrorBody(code="internal_error", message="failed")
    return RowError(row=after.job_row or 0, url=after.source, code=body.code, message=body.message,
                    asset_id=after.asset_id)
