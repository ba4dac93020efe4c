"""Bulk ingestion jobs (API.md, Bulk): a CSV or ZIP of rows, each becoming one asset or one row error."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from medialayer.models.common import ErrorBody, MediaType

JobKind = Literal["csv", "zip", "url", "upload"]
JobStatus = Literal["queued", "running", "succeeded", "partial", "failed"]
FINISHED: frozenset[str] = frozenset({"succeeded", "partial", "failed"})
# The job item's counters; at any moment total = pending + processing + ready + failed + rejected.
COUNTERS: tuple[str, ...] = ("total", "pending", "processing", "ready", "failed", "rejected")


class BulkCsvUrlRequest(BaseModel):
    csv_url: str = Field(min_length=1, max_length=4096)


class BulkZipRequest(BaseModel):
    zip_url: str = Field(min_length=1, max_length=4096)


class RowError(BaseModel):
    """Why one row did not become a ready asset: refused before (no asset_id) or its asset failed."""

    row: int
    url: str | None = None
    code: str
    message: str
    asset_id: str | None = None


class BulkRow(BaseModel):
    """A validated row, ready to become an asset: ``source`` is its URL, or its ZIP entry's name."""

    row: int
    source: str
    media_type: MediaType
    name: str | None = None
    stored: bool = False  # the bytes were extracted to the media bucket (ZIP)


class Job(BaseModel):
    job_id: str
    project_id: str
    kind: JobKind
    status: JobStatus
    total: int = 0
    pending: int = 0
    processing: int = 0
    ready: int = 0
    failed: int = 0
    rejected: int = 0  # rows refused before they became assets (their errors have no asset_id)
    errors: list[RowError] = Field(default_factory=list)
    error: ErrorBody | None = None  # the whole job failed (unreadable CSV, refused ZIP)
    error_report_url: str | None = None  # presigned CSV of every row error, once finished
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None


class JobRecord(Job):
    """The stored job: what the API shows plus what the steps need."""

    source: str  # csv_url / zip_url, or the S3 key of a CSV sent in the request
    index_types: list[MediaType]  # media types the submitting key could index (per-row scope check)
    chunks: int = 0  # number of row chunks written by the expand step
    # The fan-out's progress: chunks whose assets all exist, and chunks whose rows were all queued.
    created_chunks: int = 0
    queued_chunks: int = 0
    expanded_at: datetime | None = None  # when the counters were set from the rows
    report_key: str | None = None

    def public(self, errors: list[RowError], report_url: str | None) -> Job:
        return Job.model_validate({**self.model_dump(include=set(Job.model_fields)), "errors": errors,
                                   "error_report_url": report_url})


class StepState(BaseModel):
    """What the state machine carries from step to step (infra/statemachines/bulk_job.asl.json)."""

    model_config = ConfigDict(extra="ignore")

    project_id: str
    job_id: str
    ok: bool = True  # False: the job failed as a whole (its error is on the record)
    chunk: int = 0  # the next chunk of rows to fan out
    chunks: int = 0
    done: bool = False  # every row has finished
    wait_s: int = 1  # until the next progress check
    failure: dict[str, Any] | None = None  # a step's error after its retries (the state machine's Catch)


class JobAccepted(BaseModel):
    job_id: str
    status: JobStatus


class JobList(BaseModel):
    jobs: list[Job]
    next_cursor: str | None = None
