"""Organisations, users, projects and API keys in the main table."""

from __future__ import annotations

from datetime import datetime

from medialayer.dal.table import Table, api_key_key, org_key, project_key, user_key, user_token_key
from medialayer.models.tenancy import ApiKey, Organisation, Project, User


class TenantRepository:
    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()

    # -- organisations
    def put_organisation(self, org: Organisation) -> None:
        self.table.put({**org_key(org.org_id), **org.model_dump(mode="json"), "gsi1pk": "ORGS", "gsi1sk": org.org_id})

    def get_organisation(self, org_id: str) -> Organisation | None:
        item = self.table.get(org_key(org_id))
        return Organisation.model_validate(item) if item else None

    def set_plan(self, org_id: str, plan: str) -> None:
        self.table.update(org_key(org_id), {"plan": plan})

    # -- users and their tokens (the token item is keyed by the token's hash)
    def put_user(self, user: User, token_hash: str) -> None:
        self.table.put({**user_key(user.user_id), **user.model_dump(mode="json"), "token_hash": token_hash,
                        "gsi1pk": f"ORG#{user.org_id}#USERS", "gsi1sk": user.user_id})
        self.table.put({**user_token_key(token_hash), "user_id": user.user_id, "org_id": user.org_id})

    def get_user(self, user_id: str) -> User | None:
        item = self.table.get(user_key(user_id))
        return User.model_validate(item) if item else None

    def get_user_by_token(self, token_hash: str) -> User | None:
        token = self.table.get(user_token_key(token_hash))
        return self.get_user(token["user_id"]) if token else None

    def list_users(self, org_id: str) -> list[User]:
        return [User.model_validate(i) for i in self.table.query_gsi1(f"ORG#{org_id}#USERS")]

    def set_role(self, user_id: str, role: str) -> None:
        self.table.update(user_key(user_id), {"role": role})

    def delete_user(self, user_id: str) -> None:
        item = self.table.get(user_key(user_id))
        if item and item.get("token_hash"):
            self.table.delete(user_token_key(item["token_hash"]))
        self.table.delete(user_key(user_id))

    # -- projects
    def put_project(self, project: Project) -> None:
        self.table.put({**project_key(project.project_id), **project.model_dump(mode="json"),
                        "gsi1pk": f"ORG#{project.org_id}#PROJECTS", "gsi1sk": project.project_id})

    def get_project(self, project_id: str) -> Project | None:
        item = self.table.get(project_key(project_id))
        return Project.model_validate(item) if item else None

    def list_projects(self, org_id: str) -> list[Project]:
        return [Project.model_validate(i) for i in self.table.query_gsi1(f"ORG#{org_id}#PROJECTS")]

    # -- API keys: the item's key is the secret's hash, so a request costs one GetItem
    def put_api_key(self, key: ApiKey, secret_hash: str) -> None:
        self.table.put({**api_key_key(secret_hash), **key.model_dump(mode="json"),
                        "gsi1pk": f"PROJECT#{key.project_id}#KEYS", "gsi1sk": key.key_id}, if_absent=True)

    def get_api_key(self, secret_hash: str) -> ApiKey | None:
        item = self.table.get(api_key_key(secret_hash))
        return ApiKey.model_validate(item) if item else None

    def list_api_keys(self, project_id: str) -> list[ApiKey]:
        return [ApiKey.model_validate(i) for i in self.table.query_gsi1(f"PROJECT#{project_id}#KEYS")]

    def find_api_key(self, project_id: str, key_id: str) -> tuple[ApiKey, str] | None:
        """A project's key by id, with the hash its record is stored under."""
        for item in self.table.query_gsi1(f"PROJECT#{project_id}#KEYS"):
            if item["key_id"] == key_id:
                return ApiKey.model_validate(item), item["pk"].removeprefix("APIKEY#")
        return None

    def revoke_api_key(self, secret_hash: str, when: datetime) -> None:
        self.table.update(api_key_key(secret_hash), {"revoked": True, "revoked_at": when.isoformat()})
