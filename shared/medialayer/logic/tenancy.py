"""Creating organisations, owners, projects and API keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from medialayer.dal.tenants import TenantRepository
from medialayer.errors import MediaLayerError
from medialayer.logic.plans import catalog
from medialayer.logic.secrets import (
    API_KEY_PREFIX,
    USER_TOKEN_PREFIX,
    hash_secret,
    new_id,
    new_secret,
)
from medialayer.models.tenancy import ALL_SCOPES, ApiKey, Organisation, Principal, Project, User


@dataclass(frozen=True)
class CreatedSecret:
    """A new credential: ``secret`` is shown to the caller once and never stored."""

    record_id: str
    secret: str


def create_organisation(name: str, owner_email: str, tenants: TenantRepository | None = None
                        ) -> tuple[Organisation, User, CreatedSecret]:
    tenants = tenants or TenantRepository()
    now = datetime.now(UTC)
    org = Organisation(org_id=new_id("org"), name=name, created_at=now)
    owner = User(user_id=new_id("usr"), org_id=org.org_id, email=owner_email, role="owner", created_at=now)
    token = new_secret(USER_TOKEN_PREFIX)
    tenants.put_organisation(org)
    tenants.put_user(owner, hash_secret(token))
    return org, owner, CreatedSecret(owner.user_id, token)


def create_project(org_id: str, name: str, tenants: TenantRepository | None = None) -> Project:
    tenants = tenants or TenantRepository()
    project = Project(project_id=new_id("prj"), org_id=org_id, name=name, created_at=datetime.now(UTC))
    tenants.put_project(project)
    return project


def create_api_key(project: Project, name: str, scopes: list[str] | None = None,
                   expires_at: datetime | None = None, tenants: TenantRepository | None = None
                   ) -> tuple[ApiKey, CreatedSecret]:
    tenants = tenants or TenantRepository()
    unknown = set(scopes or ()) - set(ALL_SCOPES)
    if unknown:
        raise ValueError(f"unknown scopes: {sorted(unknown)}")
    key = ApiKey(key_id=new_id("key"), project_id=project.project_id, org_id=project.org_id, name=name,
                 scopes=list(scopes if scopes is not None else ALL_SCOPES), created_at=datetime.now(UTC),
                 expires_at=expires_at)
    secret = new_secret(API_KEY_PREFIX)
    tenants.put_api_key(key, hash_secret(secret))
    return key, CreatedSecret(key.key_id, secret)


def project_principal(project_id: str, actor: str = "worker") -> Principal:
    """The project's identity and plan for work done on its behalf by ``actor`` (workers and bulk
    job steps have no API key)."""
    tenants = TenantRepository()
    project = tenants.get_project(project_id)
    if project is None:
        raise MediaLayerError("not_found", f"project {project_id} not found")
    org = tenants.get_organisation(project.org_id)
    return Principal(key_id=f"{actor}:{project_id}", project_id=project_id, org_id=project.org_id,
                     plan=(org.plan if org else None) or catalog().default)
