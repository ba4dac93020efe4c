"""Uploads function: presigned S3 uploads usable as upload://ID wherever a URL is accepted."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from medialayer.api.app import create_app
from medialayer.api.deps import current_principal
from medialayer.api.lambda_entry import http_handler
from medialayer.logic.uploads import create_upload, get_upload
from medialayer.models.tenancy import Principal
from medialayer.models.uploads import Upload, UploadCreated, UploadRequest

router = APIRouter()


@router.post("/v1/uploads", status_code=201, response_model=UploadCreated)
async def post_upload(body: UploadRequest, principal: Principal = Depends(current_principal)) -> UploadCreated:
    return await run_in_threadpool(create_upload, principal, body)


@router.get("/v1/uploads/{upload_id}", response_model=Upload)
async def read_upload(upload_id: str, principal: Principal = Depends(current_principal)) -> Upload:
    return await run_in_threadpool(get_upload, principal, upload_id)


routers = [router]
app = create_app(routers)
handler = http_handler(app)
