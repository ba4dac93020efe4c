"""Turning presented credentials into principals, and checking scopes.

API keys (``ml_…``) call the media API; user tokens (``mlu_…``) call the management API. Both are
looked up by their hash; a resolved credential is trusted for ``auth_cache_ttl_s`` seconds per
process, which bounds how long a revoked key keeps working.
"""

from __future__ import annotations

from datetime import UTC, datetime

from medialayer.dal.tenants import TenantRepository
from medialayer.errors import MediaLayerError
from medialayer.logic.plans import catalog
from medialayer.logic.secrets import API_KEY_PREFIX, USER_TOKEN_PREFIX, hash_secret
from medialayer.models.tenancy import ApiKey, Principal, UserPrincipal
from medialayer.settings import get_settings
from medialayer.ttl_cache import TtlCache

_keys: TtlCache[tuple[ApiKey, str] | None] = TtlCache(lambda: get_settings().auth_cache_ttl_s)
_users: TtlCache[UserPrincipal | None] = TtlCache(lambda: get_settings().auth_cache_ttl_s)


def extract_credential(headers: dict[str, str]) -> str | None:
    """The credential from ``x-api-key``, ``Authorization: Bearer`` or ``x-rapidapi-key`` (API.md)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if lowered.get("x-api-key"):
        return lowered["x-api-key"].strip()
    auth = lowered.get("authorization", "")
    if auth.lower().startswith("bearer ") and auth[7:].strip():
        return auth[7:].strip()
    if lowered.get("x-rapidapi-key"):
        return lowered["x-rapidapi-key"].strip()
    return None


def _org_plan(tenants: TenantRepository, org_id: str) -> str:
    org = tenants.get_organisation(org_id)
    return (org.plan if org else None) or catalog().default


def authenticate(secret: str | None, tenants: TenantRepository | None = None) -> Principal:
    if not secret:
        raise MediaLayerError("unauthorized", "missing API key: send it in the x-api-key header")
    if secret.startswith(USER_TOKEN_PREFIX):
        raise MediaLayerError("unauthorized", "this endpoint takes a project API key, not a user token")
    repo = tenants or TenantRepository()

    def load() -> tuple[ApiKey, str] | None:
        key = repo.get_api_key(hash_secret(secret))
        return (key, _org_plan(repo, key.org_id)) if key else None

    found = _keys.get(hash_secret(secret), load)
    if found is None or found[0].revoked:
        raise MediaLayerError("unauthorized", "unknown or revoked API key")
    key, plan = found
    if key.expires_at is not None and key.expires_at <= datetime.now(UTC):
        raise MediaLayerError("unauthorized", "API key expired")
    return Principal(key_id=key.key_id, project_id=key.project_id, org_id=key.org_id, plan=plan,
                     scopes=frozenset(key.scopes))


def authenticate_user(secret: str | None, tenants: TenantRepository | None = None) -> UserPrincipal:
    if not secret:
        raise MediaLayerError("unauthorized", "missing user token: send it as Authorization: Bearer TOKEN")
    if secret.startswith(API_KEY_PREFIX) and not secret.startswith(USER_TOKEN_PREFIX):
        raise MediaLayerError("unauthorized", "the management API takes a user token, not a project API key")
    repo = tenants or TenantRepository()

    def load() -> UserPrincipal | None:
        user = repo.get_user_by_token(hash_secret(secret))
        if user is None:
            return None
        return UserPrincipal(user_id=user.user_id, org_id=user.org_id, email=user.email, role=user.role,
                             plan=_org_plan(repo, user.org_id))

    found = _users.get(hash_secret(secret), load)
    if found is None:
        raise MediaLayerError("unauthorized", "unknown or revoked user token")
    return found


def require_scope(principal: Principal, scope: str) -> None:
    if not principal.has_scope(scope):
        raise MediaLayerError("forbidden", f"this API key lacks the {scope} scope")


def forget_cached_credentials() -> None:
    """Drop every cached lookup (tests; an operator's emergency revocation in a long-lived process)."""
    _keys.clear()
    _users.clear()


def authorizer_context(headers: dict[str, str]) -> dict[str, str]:
    """What the API Gateway Lambda authorizer hands to the functions for one request.

    The verdict travels as context rather than as a deny, so the function answers with the one
    error envelope (HTTP APIs cannot reshape an authorizer's deny). Functions trust this context
    instead of looking the credential up again.
    """
    secret = extract_credential(headers)
    try:
        if secret and secret.startswith(USER_TOKEN_PREFIX):
            return {"user": authenticate_user(secret).model_dump_json()}
        return {"principal": authenticate(secret).model_dump_json()}
    except MediaLayerError as exc:
        return {"error_code": exc.code, "error_message": exc.message}
