"""Match function: POST /{media_type}/match and /v1/match/{media_type}, plus GET /health."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from medialayer.api.app import create_app
from medialayer.api.deps import with_media_scope
from medialayer.api.health import router as health_router
from medialayer.api.inputs import read_pair
from medialayer.api.lambda_entry import http_handler
from medialayer.logic.match import match_pair
from medialayer.models.common import MediaType
from medialayer.models.match import MatchRequest, MatchResponse
from medialayer.models.tenancy import Principal

router = APIRouter()
_BODY = {"requestBody": {"content": {"application/json": {"schema": MatchRequest.model_json_schema()}}}}


@router.post("/{media_type}/match", response_model=MatchResponse, openapi_extra=_BODY)
@router.post("/v1/match/{media_type}", response_model=MatchResponse, openapi_extra=_BODY)
async def match(media_type: MediaType, request: Request,
                principal: Principal = Depends(with_media_scope("search"))) -> MatchResponse:
    source, target = await read_pair(request)
    return await run_in_threadpool(match_pair, media_type, source, target, principal)


routers = [router, health_router]
app = create_app(routers)
handler = http_handler(app)
