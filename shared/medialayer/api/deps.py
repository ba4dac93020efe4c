"""FastAPI dependencies: who is calling, resolved by the same code locally and behind the authorizer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from medialayer.errors import MediaLayerError
from medialayer.logic.auth import authenticate, authenticate_user, extract_credential, require_scope
from medialayer.logic.quotas import enforce_rate
from medialayer.models.common import MediaType
from medialayer.models.tenancy import Principal, UserPrincipal


def _authorizer_context(request: Request) -> dict[str, Any] | None:
    """The Lambda authorizer's context when deployed behind API Gateway (Mangum keeps the event)."""
    event = request.scope.get("aws.event") or {}
    context = event.get("requestContext", {}).get("authorizer", {}).get("lambda")
    if context and "error_code" in context:
        raise MediaLayerError(context["error_code"], context["error_message"])
    return context


def _principal(request: Request) -> Principal:
    context = _authorizer_context(request)
    if context and "principal" in context:
        principal = Principal.model_validate_json(context["principal"])
    elif context and "user" in context:
        raise MediaLayerError("unauthorized", "this endpoint takes a project API key, not a user token")
    else:
        principal = authenticate(extract_credential(dict(request.headers)))
    enforce_rate(principal)
    return principal


def _user(request: Request) -> UserPrincipal:
    context = _authorizer_context(request)
    if context and "user" in context:
        return UserPrincipal.model_validate_json(context["user"])
    if context and "principal" in context:
        raise MediaLayerError("unauthorized", "the management API takes a user token, not a project API key")
    return authenticate_user(extract_credential(dict(request.headers)))


async def current_principal(request: Request) -> Principal:
    """The project, plan and scopes of the API key on the request, within its rate (401, 429)."""
    return await run_in_threadpool(_principal, request)


async def current_user(request: Request) -> UserPrincipal:
    """The user and role behind the user token on the request (401)."""
    return await run_in_threadpool(_user, request)


def with_scope(scope: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller, who must hold ``scope`` (checked before the body is validated)."""

    async def dependency(principal: Principal = Depends(current_principal)) -> Principal:
        require_scope(principal, scope)
        return principal

    return dependency


def with_media_scope(action: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller, who must hold ``{media_type}:{action}`` for the path's media type."""

    async def dependency(media_type: MediaType, principal: Principal = Depends(current_principal)) -> Principal:
        require_scope(principal, f"{media_type.value}:{action}")
        return principal

    return dependency
