"""The plan catalogue: built in (``medialayer/plans.json``) or replaced by ``$MEDIALAYER_PLANS``."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from medialayer.errors import MediaLayerError
from medialayer.models.plans import Plan, PlanCatalog
from medialayer.settings import get_settings

BUILT_IN_PLANS = Path(__file__).resolve().parents[1] / "plans.json"


@cache
def _load(path: str) -> PlanCatalog:
    return PlanCatalog.model_validate_json(Path(path).read_text())


def catalog() -> PlanCatalog:
    return _load(get_settings().plans_path or str(BUILT_IN_PLANS))


def get_plan(name: str | None) -> Plan:
    plans = catalog()
    return plans.plans.get(name or plans.default) or plans.plans[plans.default]


def require_plan_name(name: str) -> str:
    if name not in catalog().plans:
        raise MediaLayerError("invalid_request", f"unknown plan {name!r}; plans: {sorted(catalog().plans)}")
    return name
