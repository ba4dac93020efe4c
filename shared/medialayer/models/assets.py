"""Indexed assets and their lifecycle: pending -> processing -> ready | failed (seed 000)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from medialayer.models.common import ErrorBody, MediaType

AssetStatus = Literal["pending", "processing", "ready", "failed"]


class IndexUrlRequest(BaseModel):
    url: str = Field(min_length=1, max_length=4096)
    name: str | None = Field(None, max_length=512)
    metadata: dict[str, Any] = Field(default_factory=dict)


class Asset(BaseModel):
    asset_id: str
    project_id: str
    name: str | None = None
    media_type: MediaType
    status: AssetStatus
    error: ErrorBody | None = None
    bytes: int | None = None
    duration_s: float | None = None
    source: str | None = None  # the URL or upload it came from
    job_id: str | None = None  # the bulk job whose row this asset is (its status moves the job's counters)
    job_row: int | None = None
    created_at: datetime
    updated_at: datetime
    metadata: dict[str, Any] = Field(default_factory=dict)


class AssetAccepted(BaseModel):
    asset_id: str
    status: AssetStatus


class AssetList(BaseModel):
    assets: list[Asset]
    next_cursor: str | None = None
