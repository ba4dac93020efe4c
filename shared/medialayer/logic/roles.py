"""What each organisation role may do (seed 000, Roles & Permissions)."""

from __future__ import annotations

from medialayer.errors import MediaLayerError
from medialayer.models.tenancy import Role, UserPrincipal

# Members see the team, projects and usage; admins run the team and keys; the owner also billing.
_MEMBER = frozenset({"members:read", "projects:read", "usage:read"})
_ADMIN = _MEMBER | {"members:manage", "keys:manage", "projects:create", "billing:read"}
_OWNER = _ADMIN | {"billing:manage", "members:demote"}

PERMISSIONS: dict[Role, frozenset[str]] = {"member": _MEMBER, "admin": _ADMIN, "owner": _OWNER}


def can(user: UserPrincipal, permission: str) -> bool:
    return permission in PERMISSIONS[user.role]


def require_permission(user: UserPrincipal, permission: str) -> None:
    if not can(user, permission):
        raise MediaLayerError("forbidden", f"the {user.role} role may not do this ({permission})")
