"""The steps of a bulk job, each one Lambda task of the state machine (infra/statemachines/bulk_job.asl.json):

download (ZIP from a URL: streamed into S3) -> expand (rows validated; ZIP entries extracted; row
chunks written; counters set) -> fan out (one chunk at a time: assets created, index messages sent)
-> progress (poll the counters until no row is pending or processing) -> finalize (rows a failure
left unfinished settled, status, report).

Every step may run again after a failure (the state machine retries) and leaves the same result.
"""

from __future__ import annotations

from datetime import UTC, datetime

from medialayer.dal.assets import MediaStore
from medialayer.dal.jobs import JobFiles, JobRepository, open_object, send_index_messages
from medialayer.errors import MediaLayerError
from medialayer.fetch.fetcher import fetch_url
from medialayer.logic.bulk_chunks import asset_id_for, chunk_name, read_chunk, write_chunk
from medialayer.logic.bulk_extract import extract_entries, zip_location
from medialayer.logic.bulk_limits import (
    MANIFEST_NAME,
    MAX_CSV_BYTES,
    MAX_POLL_S,
    MAX_ZIP_BYTES,
    PART_BYTES,
    READ_BLOCK_BYTES,
    ROWS_PER_CHUNK,
    STALL_S,
    ZIP_FETCH_TIMEOUT_S,
)
from medialayer.logic.bulk_report import report_csv
from medialayer.logic.bulk_rows import FILE_COLUMN, URL_COLUMN, ParsedRows, RowRules, decode_csv, parse_rows
from medialayer.logic.bulk_zip import open_archive
from medialayer.logic.jobs_progress import settle_rows
from medialayer.logic.plans import get_plan
from medialayer.logic.tenancy import project_principal
from medialayer.logic.uploads import UPLOAD_SCHEME, read_upload
from medialayer.models.assets import Asset
from medialayer.models.common import ErrorBody
from medialayer.models.jobs import FINISHED, JobRecord, StepState
from medialayer.models.tenancy import Principal
from medialayer.observability import logger
from medialayer.settings import get_settings

REQUEST_CSV = "input.csv"  # a CSV sent in the request body, kept with the job's files
DOWNLOADED_ZIP = "input.zip"


def _now() -> datetime:
    return datetime.now(UTC)


def _job(repo: JobRepository, state: StepState) -> JobRecord:
    job = repo.get(state.project_id, state.job_id)
    if job is None:
        raise LookupError(f"job {state.job_id} of project {state.project_id} does not exist")
    return job


def _fail_job(repo: JobRepository, job: JobRecord, exc: MediaLayerError) -> None:
    logger.info("bulk job refused", extra={"job_id": job.job_id, "code": exc.code})
    repo.update(job.project_id, job.job_id, error=ErrorBody(code=exc.code, message=exc.message).model_dump(),
                updated_at=_now().isoformat())


# -- download
def download_job(state: StepState) -> StepState:
    """A ZIP named by URL is streamed into the job's files in parts (never held whole in memory)."""
    repo = JobRepository()
    job = _job(repo, state)
    if job.kind != "zip" or job.source.startswith(UPLOAD_SCHEME) or job.expanded_at or job.error:
        return state
    repo.update(job.project_id, job.job_id, status="running", updated_at=_now().isoformat())
    settings = get_settings().model_copy(update={"fetch_total_timeout_s": ZIP_FETCH_TIMEOUT_S})
    try:
        with JobFiles(job.project_id, job.job_id).multipart(DOWNLOADED_ZIP, PART_BYTES) as target:
            fetch_url(job.source, max_bytes=MAX_ZIP_BYTES, settings=settings, field="zip_url", sink=target.write)
    except MediaLayerError as exc:
        _fail_job(repo, job, exc)
        return state.model_copy(update={"ok": False})
    return state


# -- expand
def expand_job(state: StepState) -> StepState:
    repo = JobRepository()
    job = _job(repo, state)
    if job.error:
        return state.model_copy(update={"ok": False})
    if job.expanded_at is not None:  # an earlier attempt finished this step
        return state.model_copy(update={"chunk": 0, "chunks": job.chunks})
    repo.update(job.project_id, job.job_id, status="running", updated_at=_now().isoformat())
    principal = project_principal(job.project_id, actor="job")
    plan = get_plan(principal.plan)
    rules = RowRules(index_types=frozenset(job.index_types), feature_enabled=lambda t: plan.allows(t, "index"))
    try:
        parsed = _expand_zip(job, rules) if job.kind == "zip" else _expand_csv(job, principal, rules)
    except MediaLayerError as exc:
        _fail_job(repo, job, exc)
        return state.model_copy(update={"ok": False})
    files = JobFiles(job.project_id, job.job_id)
    chunks = [parsed.rows[i:i + ROWS_PER_CHUNK] for i in range(0, len(parsed.rows), ROWS_PER_CHUNK)]
    for index, rows in enumerate(chunks):
        write_chunk(files, index, rows)
    repo.put_errors(job.project_id, job.job_id, parsed.errors)
    # Counted last, once: a retry after a crash above redoes the idempotent writes and counts then.
    repo.start_counting(job.project_id, job.job_id, total=parsed.total, pending=len(parsed.rows),
                        rejected=len(parsed.errors), chunks=len(chunks), now=_now().isoformat())
    logger.info("bulk job expanded", extra={"job_id": job.job_id, "rows": len(parsed.rows),
                                            "rejected": len(parsed.errors)})
    return state.model_copy(update={"chunk": 0, "chunks": len(chunks)})


def _expand_csv(job: JobRecord, principal: Principal, rules: RowRules) -> ParsedRows:
    if job.source == REQUEST_CSV:
        data = JobFiles(job.project_id, job.job_id).get(REQUEST_CSV)
    elif job.source.startswith(UPLOAD_SCHEME):
        data = read_upload(principal, job.source, MAX_CSV_BYTES, "csv_url")
    else:
        data = fetch_url(job.source, max_bytes=MAX_CSV_BYTES, field="csv_url").data
    return parse_rows(decode_csv(data), URL_COLUMN, rules)


def _expand_zip(job: JobRecord, rules: RowRules) -> ParsedRows:
    bucket, key = zip_location(job, DOWNLOADED_ZIP)
    with open_object(bucket, key, READ_BLOCK_BYTES) as stream:
        archive = open_archive(stream)
        text = decode_csv(archive.read_manifest(), MANIFEST_NAME)
        with_entries = RowRules(index_types=rules.index_types, feature_enabled=rules.feature_enabled,
                                entry_exists=archive.has)
        parsed = parse_rows(text, FILE_COLUMN, with_entries, MANIFEST_NAME)
        return extract_entries(archive, parsed, lambda row: MediaStore.original_key(
            job.project_id, asset_id_for(job.job_id, row)))


# -- fan out
def fan_out_chunk(state: StepState) -> StepState:
    repo = JobRepository()
    job = _job(repo, state)
    if job.status in FINISHED:  # a late repeat: the chunk files are gone, and every row is settled
        return state.model_copy(update={"chunk": state.chunk + 1})
    rows = read_chunk(JobFiles(job.project_id, job.job_id), state.chunk)
    if rows is None:
        raise LookupError(f"chunk {state.chunk} of job {job.job_id} is missing")
    now = _now()
    assets = [Asset(asset_id=asset_id_for(job.job_id, r.row), project_id=job.project_id, name=r.name,
                    media_type=r.media_type, status="pending", source=r.source, created_at=now, updated_at=now,
                    job_id=job.job_id, job_row=r.row) for r in rows]
    stored = {asset_id_for(job.job_id, r.row) for r in rows if r.stored}
    # Once a chunk's assets were all created, a missing one was deleted: a repeat must not bring it back.
    waiting = repo.create_assets(assets, create_missing=state.chunk >= job.created_chunks)
    # The fan-out's progress is on the record, so a job stopped mid-way knows which rows never left.
    repo.update(job.project_id, job.job_id, created_chunks=max(job.created_chunks, state.chunk + 1))
    send_index_messages([{"project_id": a.project_id, "asset_id": a.asset_id,
                          **({"stored": True} if a.asset_id in stored else {})} for a in waiting])
    repo.update(job.project_id, job.job_id, queued_chunks=max(job.queued_chunks, state.chunk + 1))
    return state.model_copy(update={"chunk": state.chunk + 1})


# -- progress
def check_progress(state: StepState) -> StepState:
    job = _job(JobRepository(), state)
    now = _now()
    stalled = (now - job.updated_at).total_seconds() > STALL_S
    running_s = (now - (job.expanded_at or job.created_at)).total_seconds()
    # Quick checks while a job is young (small jobs finish in seconds), then every MAX_POLL_S.
    wait_s = min(MAX_POLL_S, 1 + int(running_s // 30))
    return state.model_copy(update={"done": job.pending + job.processing == 0 or stalled, "wait_s": wait_s})


# -- finalize
def finalize_job(state: StepState) -> StepState:
    """Settle what is left, then the final status and the error report. After a failing fan-out the
    rows it queued still run: this returns ``done`` False and the machine waits for them first."""
    repo = JobRepository()
    job = _job(repo, state)
    if job.status in FINISHED:
        return state.model_copy(update={"done": True})
    error = job.error
    stop_reason = None
    if state.failure is not None:
        logger.error("bulk job step failed", extra={"job_id": job.job_id, "failure": state.failure})
        stop_reason = f"the job stopped at a failing step ({state.failure.get('Error', 'error')})"
        if error is None and job.expanded_at is not None and job.queued_chunks < job.chunks:
            settle_rows(job, stop_reason=None)
            # Recorded last: a failure after this one settles every row instead of waiting again.
            error = ErrorBody(code="internal_error", message=stop_reason)
            repo.update(job.project_id, job.job_id, error=error.model_dump(), updated_at=_now().isoformat())
            return state.model_copy(update={"failure": None, "done": False, "wait_s": 1})
        error = error or ErrorBody(code="internal_error", message=stop_reason)
    elif job.pending + job.processing:
        stop_reason = f"no progress for {STALL_S} s"
        error = error or ErrorBody(code="internal_error", message=f"{job.pending + job.processing} rows made "
                                                                  f"no progress for {STALL_S} s")
    if stop_reason is not None and job.expanded_at is not None:
        settle_rows(job, stop_reason)
        job = _job(repo, state)
    if job.ready == 0 or job.expanded_at is None:
        status = "failed"
    elif job.ready == job.total and error is None:
        status = "succeeded"
    else:
        status = "partial"
    files = JobFiles(job.project_id, job.job_id)
    errors = list(repo.errors(job.project_id, job.job_id))
    report_key = files.put("errors.csv", report_csv(errors), "text/csv") if errors else None
    files.delete(REQUEST_CSV, DOWNLOADED_ZIP, *(chunk_name(i) for i in range(job.chunks)))
    now = _now().isoformat()
    repo.update(job.project_id, job.job_id, status=status, report_key=report_key, finished_at=now, updated_at=now,
                error=error.model_dump() if error else None)
    logger.info("bulk job finished", extra={"job_id": job.job_id, "status": status, "ready": job.ready,
                                            "failed": job.failed, "rejected": job.rejected})
    return state.model_copy(update={"done": True})
