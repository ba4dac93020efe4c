"""Plans: quotas and feature flags, every limit per project (``None`` = unlimited)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from medialayer.models.common import MediaType

Feature = Literal["index", "search"]


class Plan(BaseModel):
    search_bytes_per_month: int | None = Field(None, ge=0)
    search_queries_per_month: int | None = Field(None, ge=0)
    assets: dict[MediaType, int | None] = Field(default_factory=dict)
    features: dict[MediaType, list[Feature]] = Field(default_factory=dict)
    requests_per_second: int | None = Field(None, ge=1)

    def allows(self, media_type: MediaType, feature: Feature) -> bool:
        return feature in self.features.get(media_type, [])


class PlanCatalog(BaseModel):
    default: str
    plans: dict[str, Plan]

    @model_validator(mode="after")
    def _default_exists(self) -> PlanCatalog:
        if self.default not in self.plans:
            raise ValueError(f"default plan {self.default!r} is not defined")
        return self
