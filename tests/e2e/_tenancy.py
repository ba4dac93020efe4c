"""Helpers for tenancy tests: fresh organisations driven through the management API."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx

from medialayer.logic.tenancy import create_organisation


@dataclass
class Org:
    base_url: str
    org_id: str
    owner_token: str
    project_id: str

    def as_user(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers={"authorization": f"Bearer {token}"}, timeout=60)

    @property
    def owner(self) -> httpx.Client:
        return self.as_user(self.owner_token)

    def invite(self, role: str, email: str | None = None) -> tuple[str, str]:
        """A new member's (user_id, token)."""
        email = email or f"{role}-{secrets.token_hex(4)}@example.com"
        with self.owner as owner:
            body = owner.post("/v1/members", json={"email": email, "role": role}).json()
        return body["user_id"], body["token"]

    def key(self, scopes: list[str], project_id: str | None = None, **extra: object) -> tuple[str, str]:
        """A new API key's (key_id, secret)."""
        with self.owner as owner:
            response = owner.post(f"/v1/projects/{project_id or self.project_id}/keys",
                                  json={"name": "test", "scopes": scopes, **extra})
        assert response.status_code == 201, response.text
        body = response.json()
        return body["key_id"], body["api_key"]

    def set_plan(self, plan: str) -> None:
        with self.owner as owner:
            assert owner.put("/v1/plan", json={"plan": plan}).status_code == 200


def new_org(base_url: str, name: str = "Acme") -> Org:
    org, _, token = create_organisation(name, f"owner@{name.lower()}.example")
    with httpx.Client(base_url=base_url, headers={"authorization": f"Bearer {token.secret}"}) as owner:
        project = owner.post("/v1/projects", json={"name": "main"}).json()
    return Org(base_url, org.org_id, token.secret, project["project_id"])
