"""The bulk API: accept a CSV or ZIP as a job, start its state machine, and report its progress.

Scopes (docs/tenancy.md): submitting needs at least one ``{type}:index`` scope; the job remembers
which media types the key may index, and a row of any other type becomes a ``forbidden`` row
error (as does a row whose type the plan's feature flags turn off: ``feature_disabled``). Reading
jobs needs ``jobs:read``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from medialayer.dal.jobs import BulkStateMachine, JobFiles, JobRepository
from medialayer.errors import MediaLayerError
from medialayer.logic.bulk_limits import ERRORS_SHOWN, MAX_CSV_BYTES, REPORT_URL_TTL_S
from medialayer.logic.bulk_rows import URL_COLUMN, decode_csv, read_header
from medialayer.logic.bulk_steps import REQUEST_CSV
from medialayer.logic.media_input import MediaInput
from medialayer.logic.secrets import new_id
from medialayer.logic.uploads import UPLOAD_SCHEME, get_upload
from medialayer.models.common import ErrorBody, MediaType
from medialayer.models.jobs import Job, JobAccepted, JobKind, JobList, JobRecord
from medialayer.models.tenancy import Principal

MAX_LIST_LIMIT = 100


def index_types(principal: Principal) -> list[MediaType]:
    """The media types the caller may index; refuses a key that may index none."""
    types = [t for t in MediaType if principal.has_scope(f"{t.value}:index")]
    if not types:
        raise MediaLayerError("forbidden", "bulk ingestion needs an index scope ({type}:index) for the rows' "
                                           "media types")
    return types


def _check_reference(principal: Principal, reference: str, field: str) -> None:
    """Refuse what can be refused now: a malformed or private URL, another project's upload."""
    if reference.startswith(UPLOAD_SCHEME):
        get_upload(principal, reference.removeprefix(UPLOAD_SCHEME).strip("/"))
    else:
        MediaInput(field=field, reference=reference).validate()


def _start(principal: Principal, kind: JobKind, source: str, job_id: str | None = None) -> JobAccepted:
    now = datetime.now(UTC)
    job = JobRecord(job_id=job_id or new_id("job"), project_id=principal.project_id, kind=kind, status="queued",
                    source=source, index_types=index_types(principal), created_at=now, updated_at=now)
    repo = JobRepository()
    repo.put(job)
    try:
        BulkStateMachine().start(job.job_id, {"project_id": job.project_id, "job_id": job.job_id})
    except Exception:
        # Never leave a job queued that nothing will run.
        repo.update(job.project_id, job.job_id, status="failed", updated_at=datetime.now(UTC).isoformat(),
                    error=ErrorBody(code="internal_error", message="the job could not be started").model_dump())
        raise
    return JobAccepted(job_id=job.job_id, status=job.status)


def submit_csv_file(principal: Principal, data: bytes) -> JobAccepted:
    """A CSV in the request: its header is checked now, its rows by the job."""
    index_types(principal)
    if len(data) > MAX_CSV_BYTES:
        raise MediaLayerError("file_too_large", f"the CSV is over {MAX_CSV_BYTES} bytes")
    read_header(decode_csv(data), URL_COLUMN)
    job_id = new_id("job")
    JobFiles(principal.project_id, job_id).put(REQUEST_CSV, data, "text/csv")
    return _start(principal, "csv", REQUEST_CSV, job_id)


def submit_csv_url(principal: Principal, csv_url: str) -> JobAccepted:
    index_types(principal)
    _check_reference(principal, csv_url, "csv_url")
    return _start(principal, "csv", csv_url)


def submit_zip(principal: Principal, zip_url: str) -> JobAccepted:
    index_types(principal)
    _check_reference(principal, zip_url, "zip_url")
    return _start(principal, "zip", zip_url)


def _view(job: JobRecord, with_errors: bool) -> Job:
    repo = JobRepository()
    errors = list(repo.errors(job.project_id, job.job_id, ERRORS_SHOWN)) if with_errors else []
    files = JobFiles(job.project_id, job.job_id)
    report_url = files.presign_get(job.report_key, REPORT_URL_TTL_S) if job.report_key else None
    return job.public(errors, report_url)


def get_job(principal: Principal, job_id: str) -> Job:
    job = JobRepository().get(principal.project_id, job_id)
    if job is None:
        raise MediaLayerError("not_found", f"job {job_id} not found")
    return _view(job, with_errors=True)


def list_jobs(principal: Principal, limit: int, cursor: str | None) -> JobList:
    """Newest first; each job without its row errors (GET /v1/jobs/{id} has them)."""
    jobs, next_cursor = JobRepository().list(principal.project_id, min(limit, MAX_LIST_LIMIT), cursor)
    return JobList(jobs=[_view(j, with_errors=False) for j in jobs], next_cursor=next_cursor)
