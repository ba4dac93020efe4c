"""API keys: every endpoint against every scope, expiry, revocation, rotation, and project isolation."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medialayer.local.template import Stack, load_template
from medialayer.models.tenancy import ALL_SCOPES
from tests.e2e._tenancy import Org, new_org

MEDIA = ("image", "audio", "video")

# Endpoint -> the scope it needs (None: any key of the project). Bodies and ids are invalid on purpose:
# an allowed call gets past the scope check and fails validation (400) or lookup (404), or lists
# (200); a refused one gets 403 first.
SCOPED = [
    *[("POST", path.format(m), f"{m}:search") for m in MEDIA for path in ("/{}/match", "/v1/match/{}")],
    *[("POST", f"/v1/index/{m}/{how}", f"{m}:index") for m in MEDIA for how in ("url", "upload")],
    ("GET", "/v1/usage", "usage:read"),
    ("POST", "/v1/uploads", None),
    ("GET", "/v1/uploads/upl_unknown", None),
    ("GET", "/v1/assets", "assets:read"),
    ("GET", "/v1/assets/ast_unknown", "assets:read"),
    ("DELETE", "/v1/assets/ast_unknown", "assets:delete"),
]
# Functions whose routes take API keys (the others take user tokens or none).
API_KEY_FUNCTIONS = ("MatchFunction", "UploadsFunction", "IndexFunction")


@pytest.fixture(scope="module")
def org(runtime) -> Org:
    return new_org(runtime.base_url, "Keys")


@pytest.fixture(scope="module")
def keys_by_scope(org: Org) -> dict[str, str]:
    return {scope: org.key([scope])[1] for scope in ALL_SCOPES}


@pytest.mark.parametrize("scope", ALL_SCOPES)
@pytest.mark.parametrize(("method", "path", "needs"), SCOPED, ids=[f"{m} {p}" for m, p, _ in SCOPED])
def test_scope_matrix(runtime, keys_by_scope, scope: str, method: str, path: str, needs: str | None) -> None:
    response = httpx.request(method, runtime.base_url + path, headers={"x-api-key": keys_by_scope[scope]},
                             json={"unexpected": True})
    if needs is None or needs == scope:
        assert response.status_code in (200, 400, 404), response.text
    else:
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "forbidden"
        assert needs in response.json()["error"]["message"]


def test_the_scope_matrix_covers_every_api_key_route() -> None:
    stack = Stack(load_template(), "matrix", "us-east-1")
    routes = {route for spec in stack.functions() if spec.logical_id in API_KEY_FUNCTIONS
              for route in spec.http_routes if route[1] != "/health"}
    routes.add(("GET", "/v1/usage"))
    covered = set()
    for method, path, _ in SCOPED:
        for route_method, route_path in routes:
            pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", route_path) + "$"
            if method == route_method and re.match(pattern, path):
                covered.add((route_method, route_path))
    assert covered == routes


def _usage(runtime, key: str) -> int:
    return httpx.get(f"{runtime.base_url}/v1/usage", headers={"x-api-key": key}).status_code


def test_expired_key_stops_working(runtime, org: Org) -> None:
    expires = datetime.now(UTC) + timedelta(seconds=2)
    _, key = org.key(["usage:read"], expires_at=expires.isoformat())
    assert _usage(runtime, key) == 200
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.2)
    assert _usage(runtime, key) == 401


def test_past_expiry_is_refused(org: Org) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    with org.owner as owner:
        response = owner.post(f"/v1/projects/{org.project_id}/keys",
                              json={"name": "k", "scopes": ["usage:read"], "expires_at": past})
    assert response.json()["error"]["code"] == "invalid_request"


def test_revoked_key_stops_working_within_seconds(runtime, org: Org) -> None:
    key_id, key = org.key(["usage:read"])
    assert _usage(runtime, key) == 200  # now cached in the API process
    with org.owner as owner:
        assert owner.delete(f"/v1/projects/{org.project_id}/keys/{key_id}").status_code == 204
    deadline = time.monotonic() + 6  # the auth cache's TTL is 5 s
    while _usage(runtime, key) != 401:
        assert time.monotonic() < deadline, "revoked key still works"
        time.sleep(0.2)


def test_rotation_revokes_the_old_secret(runtime, org: Org) -> None:
    key_id, old = org.key(["usage:read", "image:search"])
    with org.owner as owner:
        rotated = owner.post(f"/v1/projects/{org.project_id}/keys/{key_id}/rotate").json()
        listed = owner.get(f"/v1/projects/{org.project_id}/keys").json()["keys"]
    assert rotated["scopes"] == ["image:search", "usage:read"]
    assert _usage(runtime, rotated["api_key"]) == 200
    assert _usage(runtime, old) == 401
    assert all("api_key" not in k and "secret" not in str(k) for k in listed)
    assert {k["key_id"]: k["revoked"] for k in listed}[key_id] is True


# -- isolation: project B's ids through project A's credentials are simply not found
@pytest.fixture(scope="module")
def two_orgs(runtime) -> tuple[Org, Org, dict[str, str]]:
    a, b = new_org(runtime.base_url, "Alpha"), new_org(runtime.base_url, "Beta")
    b_key_id, b_key = b.key(list(ALL_SCOPES))
    b_member_id, _ = b.invite("member")
    upload = httpx.post(f"{runtime.base_url}/v1/uploads", headers={"x-api-key": b_key},
                        json={"filename": "b.jpg", "bytes": 10}).json()
    ids = {"project": b.project_id, "key": b_key_id, "member": b_member_id, "upload": upload["upload_id"]}
    return a, b, ids


OPERATIONS = {
    "get project": ("GET", "/v1/projects/{project}", None),
    "project usage": ("GET", "/v1/projects/{project}/usage", None),
    "list keys": ("GET", "/v1/projects/{project}/keys", None),
    "create key": ("POST", "/v1/projects/{project}/keys", {"name": "x", "scopes": ["image:search"]}),
    "rotate key": ("POST", "/v1/projects/{project}/keys/{key}/rotate", None),
    "revoke key": ("DELETE", "/v1/projects/{project}/keys/{key}", None),
    "change role": ("PATCH", "/v1/members/{member}", {"role": "admin"}),
    "remove member": ("DELETE", "/v1/members/{member}", None),
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operation=st.sampled_from(sorted(OPERATIONS)), mix=st.sampled_from(["theirs", "random", "own-project"]),
       salt=st.text(alphabet="abcdef0123456789", min_size=4, max_size=20))
def test_other_organisations_ids_are_not_found(two_orgs, operation: str, mix: str, salt: str) -> None:
    a, _, b_ids = two_orgs
    ids = dict(b_ids)
    if mix == "random":
        ids = {name: f"{value.split('_')[0]}_{salt}" for name, value in ids.items()}
    elif mix == "own-project":  # A's own project, B's key and member ids
        ids["project"] = a.project_id
    method, path, body = OPERATIONS[operation]
    if mix == "own-project" and "{key}" not in path and "{member}" not in path:
        return  # nothing of B's left in the call
    with a.owner as owner:
        response = owner.request(method, path.format(**ids), json=body)
    assert response.status_code == 404, f"{operation} {mix}: {response.status_code} {response.text}"
    assert response.json()["error"]["code"] == "not_found"
    requested = path.format(**ids)
    for value in b_ids.values():  # nothing of B's beyond what the caller sent comes back
        if value not in requested:
            assert value not in response.text


def test_other_projects_uploads_are_not_found_by_api_key(runtime, two_orgs) -> None:
    a, _, b_ids = two_orgs
    _, a_key = a.key(list(ALL_SCOPES))
    headers = {"x-api-key": a_key}
    got = httpx.get(f"{runtime.base_url}/v1/uploads/{b_ids['upload']}", headers=headers)
    assert got.status_code == 404
    ref = f"upload://{b_ids['upload']}"
    match = httpx.post(f"{runtime.base_url}/image/match", headers=headers,
                       json={"source_url": ref, "target_url": ref})
    assert match.status_code == 404
    assert match.json()["error"]["code"] == "not_found"
