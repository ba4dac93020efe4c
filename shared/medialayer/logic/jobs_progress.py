"""How an asset's status change reaches its bulk job's counters, exactly once.

An asset created from a job row carries ``job_id``; each status change of such an asset is written
together with the job's counters (and, on failure, the row's error) in one DynamoDB transaction
that holds only if the stored status is still the one the change started from. A redelivered or
concurrent message therefore cannot count a row twice, and a crash between the two writes cannot
lose one: there is only one write.
"""

from __future__ import annotations

from datetime import UTC, datetime

from medialayer.dal.assets import AssetRepository
from medialayer.dal.jobs import JobRepository
from medialayer.models.assets import Asset
from medialayer.models.common import ErrorBody
from medialayer.models.jobs import RowError
from medialayer.observability import logger

DEAD_LETTER_CODE = "internal_error"


def save_asset(before: Asset, after: Asset, repo: AssetRepository | None = None) -> Asset:
    """Persist ``after`` (``before`` changed); returns the asset as it now stands."""
    repo = repo or AssetRepository()
    if after.job_id is None:
        repo.save(after)
        return after
    error = None
    if after.status == "failed" and before.status != "failed":
        body = after.error or ErrorBody(code=DEAD_LETTER_CODE, message="failed")
        error = RowError(row=after.job_row or 0, url=after.source, code=body.code, message=body.message,
                         asset_id=after.asset_id)
    if JobRepository().move_asset(after, before.status, error):
        return after
    current = repo.get(after.project_id, after.asset_id)
    if current is None:
        return after  # deleted meanwhile
    if current.status == before.status:  # the job record is gone: nothing left to count
        repo.save(after)
        return after
    logger.info("another delivery moved the asset first", extra={"asset_id": after.asset_id,
                                                                 "status": current.status})
    return current


def fail_dead_letter(project_id: str, asset_id: str) -> Asset | None:
    """An index message that kept failing reached the DLQ: its asset ends failed (and is counted)."""
    repo = AssetRepository()
    for _ in range(3):  # a worker may still move it between our read and our write
        asset = repo.get(project_id, asset_id)
        if asset is None or asset.status in ("ready", "failed"):
            return asset
        error = ErrorBody(code=DEAD_LETTER_CODE,
                          message="processing failed on every attempt; the message went to the dead-letter queue")
        after = asset.model_copy(update={"status": "failed", "error": error, "updated_at": datetime.now(UTC)})
        saved = save_asset(asset, after, repo)
        if saved.status == "failed":
            return saved
    return repo.get(project_id, asset_id)
