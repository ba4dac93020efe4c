"""The management API's operations: members, projects, keys and the plan, each checked against the
caller's role and confined to the caller's organisation (other organisations' ids are not found)."""

from __future__ import annotations

from datetime import UTC, datetime

from medialayer.dal.tenants import TenantRepository
from medialayer.errors import MediaLayerError
from medialayer.logic.auth import forget_cached_credentials
from medialayer.logic.plans import catalog, require_plan_name
from medialayer.logic.quotas import usage_report
from medialayer.logic.roles import can, require_permission
from medialayer.logic.secrets import USER_TOKEN_PREFIX, hash_secret, new_id, new_secret
from medialayer.logic.tenancy import create_api_key, create_project
from medialayer.models.management import KeyCreate, KeyCreated, Me, MemberCreated, MemberInvite
from medialayer.models.plans import Plan
from medialayer.models.tenancy import ApiKey, Project, User, UserPrincipal
from medialayer.models.usage import UsageReport


class Management:
    def __init__(self, caller: UserPrincipal, tenants: TenantRepository | None = None) -> None:
        self.caller = caller
        self.tenants = tenants or TenantRepository()

    # -- who am I
    def me(self) -> Me:
        user = self.tenants.get_user(self.caller.user_id)
        org = self.tenants.get_organisation(self.caller.org_id)
        if user is None or org is None:
            raise MediaLayerError("unauthorized", "this user no longer exists")
        return Me(user=user, organisation=org, role=user.role)

    # -- members
    def invite(self, invite: MemberInvite) -> MemberCreated:
        require_permission(self.caller, "members:manage")
        email = invite.email.lower()
        if any(u.email.lower() == email for u in self.tenants.list_users(self.caller.org_id)):
            raise MediaLayerError("invalid_request", f"{invite.email} is already a member")
        user = User(user_id=new_id("usr"), org_id=self.caller.org_id, email=email, role=invite.role,
                    created_at=datetime.now(UTC))
        token = new_secret(USER_TOKEN_PREFIX)
        self.tenants.put_user(user, hash_secret(token))
        return MemberCreated(user_id=user.user_id, token=token)

    def members(self) -> list[User]:
        require_permission(self.caller, "members:read")
        return self.tenants.list_users(self.caller.org_id)

    def change_role(self, user_id: str, role: str) -> User:
        require_permission(self.caller, "members:manage")
        target = self._member(user_id)
        if target.role == "owner":
            raise MediaLayerError("forbidden", "the owner's role is permanent")
        if target.role == "admin" and role == "member" and not can(self.caller, "members:demote"):
            raise MediaLayerError("forbidden", "only the owner may demote an admin")
        self.tenants.set_role(user_id, role)
        forget_cached_credentials()
        return target.model_copy(update={"role": role})

    def remove(self, user_id: str) -> None:
        require_permission(self.caller, "members:manage")
        if self._member(user_id).role == "owner":
            raise MediaLayerError("forbidden", "the owner cannot be removed")
        self.tenants.delete_user(user_id)
        forget_cached_credentials()

    def _member(self, user_id: str) -> User:
        user = self.tenants.get_user(user_id)
        if user is None or user.org_id != self.caller.org_id:
            raise MediaLayerError("not_found", f"member {user_id} not found")
        return user

    # -- projects
    def create_project(self, name: str) -> Project:
        require_permission(self.caller, "projects:create")
        return create_project(self.caller.org_id, name, self.tenants)

    def projects(self) -> list[Project]:
        require_permission(self.caller, "projects:read")
        return self.tenants.list_projects(self.caller.org_id)

    def project(self, project_id: str) -> Project:
        require_permission(self.caller, "projects:read")
        project = self.tenants.get_project(project_id)
        if project is None or project.org_id != self.caller.org_id:
            raise MediaLayerError("not_found", f"project {project_id} not found")
        return project

    def project_usage(self, project_id: str) -> UsageReport:
        require_permission(self.caller, "usage:read")
        return usage_report(self.project(project_id).project_id, self.caller.plan)

    # -- keys
    def create_key(self, project_id: str, request: KeyCreate) -> KeyCreated:
        require_permission(self.caller, "keys:manage")
        if request.expires_at is not None and request.expires_at <= datetime.now(UTC):
            raise MediaLayerError("invalid_request", "expires_at must be in the future")
        key, secret = create_api_key(self.project(project_id), request.name, request.scopes, request.expires_at,
                                     self.tenants)
        return KeyCreated(key_id=key.key_id, api_key=secret.secret, scopes=key.scopes)

    def keys(self, project_id: str) -> list[ApiKey]:
        require_permission(self.caller, "keys:manage")
        return self.tenants.list_api_keys(self.project(project_id).project_id)

    def rotate_key(self, project_id: str, key_id: str) -> KeyCreated:
        """A new key with the same name, scopes and expiry; the old one is revoked."""
        old, _ = self._key(project_id, key_id)
        created = self.create_key(project_id, KeyCreate(name=old.name, scopes=old.scopes, expires_at=old.expires_at))
        self.revoke_key(project_id, key_id)
        return created

    def revoke_key(self, project_id: str, key_id: str) -> None:
        _, secret_hash = self._key(project_id, key_id)
        self.tenants.revoke_api_key(secret_hash, datetime.now(UTC))
        forget_cached_credentials()

    def _key(self, project_id: str, key_id: str) -> tuple[ApiKey, str]:
        """A live key of one of the caller's projects, with the hash its record is stored under."""
        require_permission(self.caller, "keys:manage")
        found = self.tenants.find_api_key(self.project(project_id).project_id, key_id)
        if found is None or found[0].revoked:
            raise MediaLayerError("not_found", f"key {key_id} not found")
        return found

    # -- plan
    def plan(self) -> tuple[str, Plan]:
        require_permission(self.caller, "billing:read")
        return self.caller.plan, catalog().plans[self.caller.plan]

    def change_plan(self, name: str) -> tuple[str, Plan]:
        require_permission(self.caller, "billing:manage")
        self.tenants.set_plan(self.caller.org_id, require_plan_name(name))
        forget_cached_credentials()
        return name, catalog().plans[name]
