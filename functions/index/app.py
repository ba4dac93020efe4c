"""Index function: add media to a project's library and manage its assets (API.md, Index)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from medialayer.api.app import create_app
from medialayer.api.deps import with_media_scope, with_scope
from medialayer.api.lambda_entry import http_handler
from medialayer.logic.indexing import delete_asset, get_asset, list_assets, submit_upload, submit_url
from medialayer.models.assets import Asset, AssetAccepted, AssetList, AssetStatus, IndexUrlRequest
from medialayer.models.common import MediaType
from medialayer.models.tenancy import Principal

router = APIRouter(prefix="/v1")


@router.post("/index/{media_type}/url", status_code=202, response_model=AssetAccepted)
async def index_url(media_type: MediaType, body: IndexUrlRequest,
                    principal: Principal = Depends(with_media_scope("index"))) -> AssetAccepted:
    return await run_in_threadpool(submit_url, principal, media_type, body)


@router.post("/index/{media_type}/upload", status_code=202, response_model=AssetAccepted)
async def index_upload(media_type: MediaType, file: UploadFile = File(...), name: str | None = Form(None),
                       principal: Principal = Depends(with_media_scope("index"))) -> AssetAccepted:
    data = await file.read()
    return await run_in_threadpool(submit_upload, principal, media_type, data, file.filename, name)


@router.get("/assets/{asset_id}", response_model=Asset)
async def read_asset(asset_id: str, principal: Principal = Depends(with_scope("assets:read"))) -> Asset:
    return await run_in_threadpool(get_asset, principal, asset_id)


@router.get("/assets", response_model=AssetList)
async def assets(media_type: MediaType | None = None, status: AssetStatus | None = None,
                 limit: int = Query(50, ge=1, le=100), cursor: str | None = None,
                 principal: Principal = Depends(with_scope("assets:read"))) -> AssetList:
    return await run_in_threadpool(list_assets, principal, media_type, status, limit, cursor)


@router.delete("/assets/{asset_id}", status_code=204)
async def remove_asset(asset_id: str, principal: Principal = Depends(with_scope("assets:delete"))) -> Response:
    await run_in_threadpool(delete_asset, principal, asset_id)
    return Response(status_code=204)


routers = [router]
app = create_app(routers)
handler = http_handler(app)
