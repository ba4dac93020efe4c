"""Turning a presented API key into a ``Principal`` and checking its scopes."""

from __future__ import annotations

from datetime import UTC, datetime

from medialayer.dal.tenants import TenantRepository
from medialayer.errors import MediaLayerError
from medialayer.logic.secrets import hash_secret
from medialayer.models.tenancy import Principal


def extract_api_key(headers: dict[str, str]) -> str | None:
    """The key from ``x-api-key``, ``Authorization: Bearer`` or ``x-rapidapi-key`` (API.md)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if lowered.get("x-api-key"):
        return lowered["x-api-key"].strip()
    auth = lowered.get("authorization", "")
    if auth.lower().startswith("bearer ") and auth[7:].strip():
        return auth[7:].strip()
    if lowered.get("x-rapidapi-key"):
        return lowered["x-rapidapi-key"].strip()
    return None


def authenticate(secret: str | None, tenants: TenantRepository | None = None) -> Principal:
    if not secret:
        raise MediaLayerError("unauthorized", "missing API key: send it in the x-api-key header")
    key = (tenants or TenantRepository()).get_api_key(hash_secret(secret))
    if key is None or key.revoked:
        raise MediaLayerError("unauthorized", "unknown or revoked API key")
    if key.expires_at is not None and key.expires_at <= datetime.now(UTC):
        raise MediaLayerError("unauthorized", "API key expired")
    return Principal(key_id=key.key_id, project_id=key.project_id, org_id=key.org_id,
                     scopes=frozenset(key.scopes))


def require_scope(principal: Principal, scope: str) -> None:
    if not principal.has_scope(scope):
        raise MediaLayerError("forbidden", f"this API key lacks the {scope} scope")
