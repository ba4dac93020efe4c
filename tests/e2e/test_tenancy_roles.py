"""Every management endpoint against every role, and the owner's permanence (seed 000)."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import httpx
import pytest

from tests.e2e._tenancy import Org, new_org

ROLES = ("owner", "admin", "member")


@pytest.fixture(scope="module")
def org(runtime) -> Org:
    return new_org(runtime.base_url, "Roles")


@pytest.fixture(scope="module")
def tokens(org: Org) -> dict[str, str]:
    return {"owner": org.owner_token, "admin": org.invite("admin")[1], "member": org.invite("member")[1]}


def _email() -> str:
    return f"{secrets.token_hex(6)}@example.com"


# (name, request builder, roles allowed). Builders get the org and make fresh targets where the call
# consumes one (a member to remove, a key to revoke), so every role meets the same situation.
Call = Callable[[Org, httpx.Client], httpx.Response]
MATRIX: list[tuple[str, Call, set[str]]] = [
    ("get me", lambda o, c: c.get("/v1/me"), {"owner", "admin", "member"}),
    ("invite member", lambda o, c: c.post("/v1/members", json={"email": _email(), "role": "member"}),
     {"owner", "admin"}),
    ("invite admin", lambda o, c: c.post("/v1/members", json={"email": _email(), "role": "admin"}),
     {"owner", "admin"}),
    ("list members", lambda o, c: c.get("/v1/members"), {"owner", "admin", "member"}),
    ("promote member", lambda o, c: c.patch(f"/v1/members/{o.invite('member')[0]}", json={"role": "admin"}),
     {"owner", "admin"}),
    ("demote admin", lambda o, c: c.patch(f"/v1/members/{o.invite('admin')[0]}", json={"role": "member"}),
     {"owner"}),
    ("remove member", lambda o, c: c.delete(f"/v1/members/{o.invite('member')[0]}"), {"owner", "admin"}),
    ("remove admin", lambda o, c: c.delete(f"/v1/members/{o.invite('admin')[0]}"), {"owner", "admin"}),
    ("create project", lambda o, c: c.post("/v1/projects", json={"name": "p"}), {"owner", "admin"}),
    ("list projects", lambda o, c: c.get("/v1/projects"), {"owner", "admin", "member"}),
    ("get project", lambda o, c: c.get(f"/v1/projects/{o.project_id}"), {"owner", "admin", "member"}),
    ("project usage", lambda o, c: c.get(f"/v1/projects/{o.project_id}/usage"), {"owner", "admin", "member"}),
    ("create key", lambda o, c: c.post(f"/v1/projects/{o.project_id}/keys",
                                       json={"name": "k", "scopes": ["image:search"]}), {"owner", "admin"}),
    ("list keys", lambda o, c: c.get(f"/v1/projects/{o.project_id}/keys"), {"owner", "admin"}),
    ("rotate key", lambda o, c: c.post(f"/v1/projects/{o.project_id}/keys/{o.key(['image:search'])[0]}/rotate"),
     {"owner", "admin"}),
    ("revoke key", lambda o, c: c.delete(f"/v1/projects/{o.project_id}/keys/{o.key(['image:search'])[0]}"),
     {"owner", "admin"}),
    ("get plan", lambda o, c: c.get("/v1/plan"), {"owner", "admin"}),
    ("change plan", lambda o, c: c.put("/v1/plan", json={"plan": "roomy"}), {"owner"}),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "call", "allowed"), MATRIX, ids=[m[0] for m in MATRIX])
def test_role_matrix(org: Org, tokens: dict[str, str], role: str, name: str, call: Call, allowed: set[str]) -> None:
    with org.as_user(tokens[role]) as client:
        response = call(org, client)
    if role in allowed:
        assert response.status_code < 300, f"{role} should be allowed to {name}: {response.text}"
    else:
        assert response.status_code == 403, f"{role} should be refused {name}: {response.text}"
        assert response.json()["error"]["code"] == "forbidden"


def test_owner_is_permanent(org: Org, tokens: dict[str, str]) -> None:
    owner_id = org.owner.get("/v1/me").json()["user"]["user_id"]
    for role in ("owner", "admin"):
        with org.as_user(tokens[role]) as client:
            assert client.patch(f"/v1/members/{owner_id}", json={"role": "member"}).status_code == 403
            assert client.delete(f"/v1/members/{owner_id}").status_code == 403
    with org.owner as owner:
        assert owner.patch(f"/v1/members/{owner_id}", json={"role": "owner"}).status_code == 400
        assert owner.get("/v1/me").json()["role"] == "owner"


def test_removed_member_loses_access_and_promoted_member_gains_it(org: Org) -> None:
    user_id, token = org.invite("member")
    with org.as_user(token) as member:
        assert member.get(f"/v1/projects/{org.project_id}/keys").status_code == 403
        assert org.owner.patch(f"/v1/members/{user_id}", json={"role": "admin"}).status_code == 200
        assert member.get(f"/v1/projects/{org.project_id}/keys").status_code == 200
        assert org.owner.delete(f"/v1/members/{user_id}").status_code == 204
        assert member.get("/v1/me").status_code == 401


def test_duplicate_invite_and_bad_bodies_are_invalid_requests(org: Org) -> None:
    with org.owner as owner:
        assert owner.post("/v1/members", json={"email": "dup@e.com"}).status_code == 201
        assert owner.post("/v1/members", json={"email": "DUP@e.com"}).json()["error"]["code"] == "invalid_request"
        assert owner.post("/v1/members", json={"email": "not-an-email"}).status_code == 400
        bad_scope = owner.post(f"/v1/projects/{org.project_id}/keys", json={"name": "k", "scopes": ["root"]})
        assert bad_scope.json()["error"]["code"] == "invalid_request"
        assert owner.put("/v1/plan", json={"plan": "platinum"}).status_code == 400


def test_credentials_go_to_their_own_api(runtime, org: Org) -> None:
    _, api_key = org.key(["usage:read"])
    assert httpx.get(f"{runtime.base_url}/v1/me", headers={"x-api-key": api_key}).status_code == 401
    usage = httpx.get(f"{runtime.base_url}/v1/usage", headers={"authorization": f"Bearer {org.owner_token}"})
    assert usage.status_code == 401
    assert httpx.get(f"{runtime.base_url}/v1/me").json()["error"]["code"] == "unauthorized"
