"""Search function: POST /v1/search/{media_type}, a query against the project's index (API.md, Search)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from medialayer.api.app import create_app
from medialayer.api.deps import with_media_scope
from medialayer.api.inputs import read_search
from medialayer.api.lambda_entry import http_handler
from medialayer.logic.search import search
from medialayer.models.common import MediaType
from medialayer.models.search import SearchRequest, SearchResponse
from medialayer.models.tenancy import Principal

router = APIRouter(prefix="/v1")
_BODY = {"requestBody": {"content": {"application/json": {"schema": SearchRequest.model_json_schema()}}}}


@router.post("/search/{media_type}", response_model=SearchResponse, openapi_extra=_BODY)
async def search_library(media_type: MediaType, request: Request,
                         principal: Principal = Depends(with_media_scope("search"))) -> SearchResponse:
    query, options = await read_search(request)
    return await run_in_threadpool(search, principal, media_type, query, options)


routers = [router]
app = create_app(routers)
handler = http_handler(app)
