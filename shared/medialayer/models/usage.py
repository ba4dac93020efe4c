from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class QuotaUsage(BaseModel):
    used: int
    limit: int | None
    resets_at: datetime | None  # None for limits that never reset (asset caps)


class QuotaAlert(BaseModel):
    quota: str
    percent: int
    period: str
    used: int
    limit: int
    created_at: datetime


class UsageReport(BaseModel):
    project_id: str
    plan: str
    period: str
    quotas: dict[str, QuotaUsage]
    alerts: list[QuotaAlert]
