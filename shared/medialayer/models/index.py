"""The manifest of a project's index for one media type: live segments and tombstones."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SegmentInfo(BaseModel):
    assets: int
    bytes: int


class Manifest(BaseModel):
    segments: dict[str, SegmentInfo] = Field(default_factory=dict)
    # Deleted assets still present in some segment: filtered out of every search until compaction.
    tombstones: set[str] = Field(default_factory=set)
