"""GET /health: 200 once every dependency answers, 503 with the reasons otherwise."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from medialayer.logic.health import check_storage

router = APIRouter()


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    checks = [check_storage, *request.app.state.health_checks]
    problems = [p for p in [await run_in_threadpool(check) for check in checks] if p]
    if problems:
        return JSONResponse(status_code=503, content={"status": "unavailable", "problems": problems})
    return JSONResponse(content={"status": "ok"})
