"""Bulk function: POST /v1/bulk/csv and /v1/bulk/zip start jobs; GET /v1/jobs[/{id}] report them (API.md, Bulk)."""

from __future__ import annotations

from typing import TypeVar

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from medialayer.api.app import create_app
from medialayer.api.deps import current_principal, with_scope
from medialayer.api.lambda_entry import http_handler
from medialayer.errors import MediaLayerError
from medialayer.logic.bulk_jobs import get_job, index_types, list_jobs, submit_csv_file, submit_csv_url, submit_zip
from medialayer.models.jobs import BulkCsvUrlRequest, BulkZipRequest, Job, JobAccepted, JobList
from medialayer.models.tenancy import Principal

T = TypeVar("T", bound=BaseModel)
router = APIRouter(prefix="/v1")


async def indexing_principal(principal: Principal = Depends(current_principal)) -> Principal:
    """The caller, who must hold an index scope (checked before the body is read)."""
    index_types(principal)
    return principal


def _parse(model: type[T], body: bytes) -> T:
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        raise MediaLayerError("invalid_request", detail) from None


@router.post("/bulk/csv", status_code=202, response_model=JobAccepted,
             openapi_extra={"requestBody": {"content": {
                 "application/json": {"schema": BulkCsvUrlRequest.model_json_schema()},
                 "multipart/form-data": {"schema": {"type": "object", "properties": {
                     "file": {"type": "string", "format": "binary"}}}}}}})
async def bulk_csv(request: Request, principal: Principal = Depends(indexing_principal)) -> JobAccepted:
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        async with request.form() as form:
            file = form.get("file")
            if not isinstance(file, UploadFile):
                raise MediaLayerError("invalid_request", "multipart body needs a file 'file'")
            data = await file.read()
        return await run_in_threadpool(submit_csv_file, principal, data)
    body = _parse(BulkCsvUrlRequest, await request.body())
    return await run_in_threadpool(submit_csv_url, principal, body.csv_url)


@router.post("/bulk/zip", status_code=202, response_model=JobAccepted)
async def bulk_zip(body: BulkZipRequest, principal: Principal = Depends(indexing_principal)) -> JobAccepted:
    return await run_in_threadpool(submit_zip, principal, body.zip_url)


@router.get("/jobs/{job_id}", response_model=Job)
async def read_job(job_id: str, principal: Principal = Depends(with_scope("jobs:read"))) -> Job:
    return await run_in_threadpool(get_job, principal, job_id)


@router.get("/jobs", response_model=JobList)
async def jobs(limit: int = Query(50, ge=1, le=100), cursor: str | None = None,
               principal: Principal = Depends(with_scope("jobs:read"))) -> JobList:
    return await run_in_threadpool(list_jobs, principal, limit, cursor)


routers = [router]
app = create_app(routers)
handler = http_handler(app)
