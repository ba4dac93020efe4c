"""Request and response bodies of the management API (API.md, Management)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from medialayer.models.tenancy import ALL_SCOPES, ApiKey, Organisation, Project, User


class MemberInvite(BaseModel):
    # A plausibility check only: the address is an identifier here, nothing is sent to it.
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)
    role: Literal["admin", "member"] = "member"


class MemberCreated(BaseModel):
    user_id: str
    token: str


class RoleChange(BaseModel):
    role: Literal["admin", "member"]


class ProjectCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class KeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] = Field(min_length=1)
    expires_at: datetime | None = None

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, scopes: list[str]) -> list[str]:
        unknown = sorted(set(scopes) - set(ALL_SCOPES))
        if unknown:
            raise ValueError(f"unknown scopes {unknown}; known: {list(ALL_SCOPES)}")
        return sorted(set(scopes), key=ALL_SCOPES.index)


class KeyCreated(BaseModel):
    key_id: str
    api_key: str
    scopes: list[str]


class PlanChange(BaseModel):
    plan: str


class Me(BaseModel):
    user: User
    organisation: Organisation
    role: str


class MemberList(BaseModel):
    members: list[User]


class ProjectList(BaseModel):
    projects: list[Project]


class KeyList(BaseModel):
    keys: list[ApiKey]
