"""The development tenant: an organisation, its owner, a project and an all-scopes API key.

Credentials are kept in ``$MEDIALAYER_DEV_CREDENTIALS`` and re-seeded on every start, so the key
a developer copied keeps working across restarts of the (in-memory) embedded endpoint.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from medialayer.dal.tenants import TenantRepository
from medialayer.logic.secrets import hash_secret
from medialayer.logic.tenancy import create_api_key, create_organisation, create_project
from medialayer.models.tenancy import ALL_SCOPES, ApiKey, Organisation, Project, User

DEV_ORG = "Development"
DEV_OWNER = "owner@localhost"
DEV_PROJECT = "default"


class DevCredentials(BaseModel):
    api_key: str
    owner_token: str
    project_id: str
    base_url: str
    org_id: str
    user_id: str
    key_id: str


def ensure_dev_tenant(path: Path, base_url: str, tenants: TenantRepository | None = None) -> DevCredentials:
    tenants = tenants or TenantRepository()
    creds = _read(path)
    if creds is None:
        org, owner, token = create_organisation(DEV_ORG, DEV_OWNER, tenants)
        project = create_project(org.org_id, DEV_PROJECT, tenants)
        key, secret = create_api_key(project, "dev (all scopes)", list(ALL_SCOPES), tenants=tenants)
        creds = DevCredentials(api_key=secret.secret, owner_token=token.secret, project_id=project.project_id,
                               base_url=base_url, org_id=org.org_id, user_id=owner.user_id, key_id=key.key_id)
    elif tenants.get_api_key(hash_secret(creds.api_key)) is None:
        _reseed(creds, tenants)
    creds = creds.model_copy(update={"base_url": base_url})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(creds.model_dump_json(indent=2) + "\n")
    path.chmod(0o600)
    return creds


def _read(path: Path) -> DevCredentials | None:
    try:
        return DevCredentials.model_validate(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


def _reseed(creds: DevCredentials, tenants: TenantRepository) -> None:
    now = datetime.now(UTC)
    tenants.put_organisation(Organisation(org_id=creds.org_id, name=DEV_ORG, created_at=now))
    tenants.put_user(User(user_id=creds.user_id, org_id=creds.org_id, email=DEV_OWNER, role="owner",
                          created_at=now), hash_secret(creds.owner_token))
    project = Project(project_id=creds.project_id, org_id=creds.org_id, name=DEV_PROJECT, created_at=now)
    tenants.put_project(project)
    tenants.put_api_key(ApiKey(key_id=creds.key_id, project_id=project.project_id, org_id=creds.org_id,
                               name="dev (all scopes)", scopes=list(ALL_SCOPES), created_at=now),
                        hash_secret(creds.api_key))
