from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

# Seed 000's scopes, in its order.
ALL_SCOPES: tuple[str, ...] = (
    "image:index",
    "image:search",
    "audio:index",
    "audio:search",
    "video:index",
    "video:search",
    "assets:read",
    "assets:delete",
    "jobs:read",
    "usage:read",
)


class ApiKey(BaseModel):
    """An API key record: the secret itself is never stored, only its hash."""

    key_id: str
    project_id: str
    org_id: str
    name: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None = None
    revoked: bool = False


Role = Literal["owner", "admin", "member"]


class Principal(BaseModel):
    """Who is calling the media API: resolved from an API key on every request."""

    key_id: str
    project_id: str
    org_id: str
    plan: str
    scopes: frozenset[str] = Field(default_factory=frozenset)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class UserPrincipal(BaseModel):
    """Who is calling the management API: resolved from a user token."""

    user_id: str
    org_id: str
    email: str
    role: Role
    plan: str


class Organisation(BaseModel):
    org_id: str
    name: str
    created_at: datetime
    plan: str | None = None  # None: the catalogue's default plan


class Project(BaseModel):
    project_id: str
    org_id: str
    name: str
    created_at: datetime


class User(BaseModel):
    user_id: str
    org_id: str
    email: str
    role: Role
    created_at: datetime
