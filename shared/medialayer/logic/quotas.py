"""Enforcing a plan: feature flags, monthly quotas, per-key request rate, and quota alerts.

Counters live under a key that names the month (``USAGE#2026-11``), so they reset without a cron
job: a new month simply starts a new item. Every increment is a conditional update, so a burst of
parallel requests can never take more than the allowance.
"""

from __future__ import annotations

from datetime import UTC, datetime

from medialayer.dal.usage import UsageRepository
from medialayer.errors import MediaLayerError
from medialayer.logic.plans import get_plan
from medialayer.models.common import MediaType
from medialayer.models.plans import Feature, Plan
from medialayer.models.tenancy import Principal
from medialayer.models.usage import QuotaAlert, QuotaUsage, UsageReport

SEARCH_BYTES = "search_bytes"
SEARCH_QUERIES = "search_queries"
# Alerts go out once per period when usage first reaches these percentages of a quota.
ALERT_PERCENTS = (80, 100)


def current_period(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m")


def period_reset(period: str) -> datetime:
    year, month = (int(p) for p in period.split("-"))
    return datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)


def _monthly_limits(plan: Plan) -> dict[str, int | None]:
    return {SEARCH_BYTES: plan.search_bytes_per_month, SEARCH_QUERIES: plan.search_queries_per_month}


def require_feature(principal: Principal, media_type: MediaType, feature: Feature) -> None:
    if not get_plan(principal.plan).allows(media_type, feature):
        raise MediaLayerError("feature_disabled",
                              f"the {principal.plan} plan does not include {media_type.value} {feature}")


def enforce_rate(principal: Principal, usage: UsageRepository | None = None) -> None:
    per_second = get_plan(principal.plan).requests_per_second
    if per_second is not None and not (usage or UsageRepository()).take_request(principal.key_id, per_second):
        raise MediaLayerError("rate_limited", f"more than {per_second} requests per second for this API key")


def consume(principal: Principal, quota: str, amount: int, usage: UsageRepository | None = None) -> int:
    """Take ``amount`` of a monthly quota for the caller's project, or raise ``quota_exceeded``."""
    usage = usage or UsageRepository()
    limit = _monthly_limits(get_plan(principal.plan))[quota]
    period = current_period()
    used = usage.add(principal.project_id, period, quota, amount, limit)
    if used is None:
        resets = period_reset(period).isoformat()
        raise MediaLayerError("quota_exceeded",
                              f"{quota} quota of {limit} for {period} is used up; it resets at {resets}")
    if limit:
        _alert_on_crossing(principal, usage, period, quota, used - amount, used, limit)
    return used


def _alert_on_crossing(principal: Principal, usage: UsageRepository, period: str, quota: str,
                       before: int, after: int, limit: int) -> None:
    for percent in ALERT_PERCENTS:
        threshold = limit * percent / 100
        if before < threshold <= after:
            detail = {"used": after, "limit": limit, "created_at": datetime.now(UTC).isoformat()}
            if usage.record_alert(principal.project_id, period, quota, percent, detail):
                usage.publish_alert(
                    f"MediaLayer: {quota} at {percent}% for project {principal.project_id}",
                    {"project_id": principal.project_id, "org_id": principal.org_id, "quota": quota,
                     "percent": percent, "period": period, **detail})


def admit_search(principal: Principal, media_type: MediaType) -> None:
    """Before a search or match does any work: the feature must be on and one more query must fit."""
    require_feature(principal, media_type, "search")
    consume(principal, SEARCH_QUERIES, 1)


def charge_search_bytes(principal: Principal, nbytes: int) -> None:
    """Once the media is downloaded, before it is fingerprinted: its bytes must fit the quota."""
    consume(principal, SEARCH_BYTES, nbytes)


def usage_report(project_id: str, plan_name: str, usage: UsageRepository | None = None) -> UsageReport:
    usage = usage or UsageRepository()
    plan = get_plan(plan_name)
    period = current_period()
    counters = usage.counters(project_id, period)
    resets = period_reset(period)
    quotas = {name: QuotaUsage(used=counters.get(name, 0), limit=limit, resets_at=resets)
              for name, limit in _monthly_limits(plan).items()}
    alerts = [QuotaAlert.model_validate(a) for a in usage.alerts(project_id)]
    return UsageReport(project_id=project_id, plan=plan_name, period=period, quotas=quotas, alerts=alerts)
