from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer

from medialayer.models.common import MediaType

Confidence = Literal["high", "medium", "low", "none"]
Evidence = Literal["visual", "audio"]


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
    # Video only (left out of the body when None, so image and audio responses keep the seeds'
    # exact envelope): which evidence matched, and the share of the source that matched (seed 000).
    evidence: list[Evidence] | None = None
    coverage: float | None = Field(default=None, ge=0.0, le=1.0)

    @model_serializer(mode="wrap")
    def _drop_absent_extras(self, handler: SerializerFunctionWrapHandler) -> dict:
        data = handler(self)
        for key in ("evidence", "coverage"):
            if data.get(key, 0) is None:
                del data[key]
        return data
