"""Management function: the organisation's members, projects, keys and plan (user tokens), and
the project's usage (API keys with usage:read)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from starlette.concurrency import run_in_threadpool

from medialayer.api.app import create_app
from medialayer.api.deps import current_user, with_scope
from medialayer.api.lambda_entry import http_handler
from medialayer.logic.management import Management
from medialayer.logic.quotas import usage_report
from medialayer.models.management import (
    KeyCreate,
    KeyCreated,
    KeyList,
    Me,
    MemberCreated,
    MemberInvite,
    MemberList,
    PlanChange,
    ProjectCreate,
    ProjectList,
    RoleChange,
)
from medialayer.models.tenancy import Principal, Project, User, UserPrincipal
from medialayer.models.usage import UsageReport

router = APIRouter(prefix="/v1")


def _manage(user: UserPrincipal = Depends(current_user)) -> Management:
    return Management(user)


@router.get("/me", response_model=Me)
async def me(m: Management = Depends(_manage)) -> Me:
    return await run_in_threadpool(m.me)


@router.post("/members", status_code=201, response_model=MemberCreated)
async def invite(body: MemberInvite, m: Management = Depends(_manage)) -> MemberCreated:
    return await run_in_threadpool(m.invite, body)


@router.get("/members", response_model=MemberList)
async def members(m: Management = Depends(_manage)) -> MemberList:
    return MemberList(members=await run_in_threadpool(m.members))


@router.patch("/members/{user_id}", response_model=User)
async def change_role(user_id: str, body: RoleChange, m: Management = Depends(_manage)) -> User:
    return await run_in_threadpool(m.change_role, user_id, body.role)


@router.delete("/members/{user_id}", status_code=204)
async def remove(user_id: str, m: Management = Depends(_manage)) -> Response:
    await run_in_threadpool(m.remove, user_id)
    return Response(status_code=204)


@router.post("/projects", status_code=201, response_model=Project)
async def create_project(body: ProjectCreate, m: Management = Depends(_manage)) -> Project:
    return await run_in_threadpool(m.create_project, body.name)


@router.get("/projects", response_model=ProjectList)
async def projects(m: Management = Depends(_manage)) -> ProjectList:
    return ProjectList(projects=await run_in_threadpool(m.projects))


@router.get("/projects/{project_id}", response_model=Project)
async def project(project_id: str, m: Management = Depends(_manage)) -> Project:
    return await run_in_threadpool(m.project, project_id)


@router.get("/projects/{project_id}/usage", response_model=UsageReport)
async def project_usage(project_id: str, m: Management = Depends(_manage)) -> UsageReport:
    return await run_in_threadpool(m.project_usage, project_id)


@router.post("/projects/{project_id}/keys", status_code=201, response_model=KeyCreated)
async def create_key(project_id: str, body: KeyCreate, m: Management = Depends(_manage)) -> KeyCreated:
    return await run_in_threadpool(m.create_key, project_id, body)


@router.get("/projects/{project_id}/keys", response_model=KeyList)
async def keys(project_id: str, m: Management = Depends(_manage)) -> KeyList:
    return KeyList(keys=await run_in_threadpool(m.keys, project_id))


@router.post("/projects/{project_id}/keys/{key_id}/rotate", status_code=201, response_model=KeyCreated)
async def rotate_key(project_id: str, key_id: str, m: Management = Depends(_manage)) -> KeyCreated:
    return await run_in_threadpool(m.rotate_key, project_id, key_id)


@router.delete("/projects/{project_id}/keys/{key_id}", status_code=204)
async def revoke_key(project_id: str, key_id: str, m: Management = Depends(_manage)) -> Response:
    await run_in_threadpool(m.revoke_key, project_id, key_id)
    return Response(status_code=204)


@router.get("/plan")
async def plan(m: Management = Depends(_manage)) -> dict[str, Any]:
    name, limits = await run_in_threadpool(m.plan)
    return {"plan": name, "limits": limits.model_dump(mode="json")}


@router.put("/plan")
async def change_plan(body: PlanChange, m: Management = Depends(_manage)) -> dict[str, Any]:
    name, limits = await run_in_threadpool(m.change_plan, body.plan)
    return {"plan": name, "limits": limits.model_dump(mode="json")}


@router.get("/usage", response_model=UsageReport)
async def usage(principal: Principal = Depends(with_scope("usage:read"))) -> UsageReport:
    return await run_in_threadpool(usage_report, principal.project_id, principal.plan)


routers = [router]
app = create_app(routers)
handler = http_handler(app)
