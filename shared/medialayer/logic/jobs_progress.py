"""How every row of a bulk job reaches a final state, even when something stops it.

- An index message that failed on every attempt reached the DLQ: its asset ends failed.
- The fan-out stopped (a step failed after its retries): rows it never queued end failed
  (``not_queued``); the rows it did queue still run and the job waits for them.
- The job will wait no more (a later step failed, or its rows made no progress for STALL_S): every
  unfinished row ends failed (``job_failed``).
Each asset's change is conditional and counted with it (logic/asset_status.py): a worker still
holding a row either finishes it first or finds it settled, and then counts nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from medialayer.dal.assets import AssetRepository
from medialayer.dal.jobs import JobFiles, JobRepository
from medialayer.logic.asset_status import UNFINISHED, fail_asset
from medialayer.logic.bulk_chunks import asset_id_for, read_chunk
from medialayer.models.assets import Asset
from medialayer.models.common import ErrorBody
from medialayer.models.jobs import BulkRow, JobRecord, RowError

DEAD_LETTER_CODE = "internal_error"
NOT_QUEUED = ErrorBody(code="not_queued", message="the job stopped before this row was queued for processing")
JOB_FAILED_CODE = "job_failed"


def fail_dead_letter(project_id: str, asset_id: str) -> Asset | None:
    """An index message that kept failing reached the DLQ: its asset ends failed (and is counted)."""
    error = ErrorBody(code=DEAD_LETTER_CODE,
                      message="processing failed on every attempt; the message went to the dead-letter queue")
    return fail_asset(project_id, asset_id, error)


def settle_rows(job: JobRecord, stop_reason: str | None) -> None:
    """End the rows of a stopped job: those never queued fail ``not_queued``; with ``stop_reason``
    (nothing will be waited for) every other unfinished row fails ``job_failed`` too."""
    files = JobFiles(job.project_id, job.job_id)
    never_created: list[RowError] = []
    for index in range(job.chunks):
        queued = index < job.queued_chunks
        if queued and stop_reason is None:
            continue
        rows = read_chunk(files, index)
        if rows is None:  # cleaned up by an earlier finalize, after it settled them
            continue
        ids = [asset_id_for(job.job_id, r.row) for r in rows]
        assets = {a.asset_id: a for a in AssetRepository().get_many(job.project_id, ids)}
        for row, asset_id in zip(rows, ids, strict=True):
            asset = assets.get(asset_id)
            if asset is None:
                # Missing from a chunk whose assets were all created: deleted, and counted then.
                if index >= job.created_chunks:
                    never_created.append(_row_error(row, NOT_QUEUED))
                continue
            if asset.status == "pending" and not queued:  # a worker that claims it first keeps it
                asset = fail_asset(job.project_id, asset_id, NOT_QUEUED, only=("pending",))
            if stop_reason is not None and asset is not None and asset.status in UNFINISHED:
                fail_asset(job.project_id, asset_id, ErrorBody(
                    code=JOB_FAILED_CODE, message=f"the job stopped before this row finished: {stop_reason}"))
    JobRepository().fail_rows(job.project_id, job.job_id, never_created, datetime.now(UTC).isoformat())


def _row_error(row: BulkRow, error: ErrorBody) -> RowError:
    return RowError(row=row.row, url=row.source, code=error.code, message=error.message)
