"""FastAPI dependencies: who is calling."""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from medialayer.logic.auth import authenticate, extract_api_key
from medialayer.models.tenancy import Principal


async def current_principal(request: Request) -> Principal:
    """The project and scopes of the API key on the request (401 without a valid one)."""
    return await run_in_threadpool(authenticate, extract_api_key(dict(request.headers)))
