from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from medialayer.models.common import MediaType

Confidence = Literal["high", "medium", "low", "none"]


class MatchRequest(BaseModel):
    """Two media references: http(s) URLs or ``upload://ID`` from ``POST /v1/uploads``."""

    source_url: str = Field(min_length=1, max_length=4096)
    target_url: str = Field(min_length=1, max_length=4096)


class Segment(BaseModel):
    source_start: float
    source_end: float
    target_start: float
    target_end: float
    score: float


class MatchResponse(BaseModel):
    """Exactly the envelope of seed 001 / API.md."""

    match: bool
    confidence: Confidence
    similarity_score: float = Field(ge=0.0, le=1.0)
    processing_time_ms: int
    media_type: MediaType
    matched_segments: list[Segment] = Field(default_factory=list)
