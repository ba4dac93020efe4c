from __future__ import annotations

from typing import ClassVar, Literal

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
    """The envelope of seed 001 / API.md, then what the medium reports beside it
    (``MediaEngine.reported``): each of those is left out of the body when None, so a medium that
    reports nothing (image) keeps the exact envelope."""

    match: bool
    confidence: Confidence
    similarity_score: float = Field(ge=0.0, le=1.0)
    processing_time_ms: int
    media_type: MediaType
    matched_segments: list[Segment] = Field(default_factory=list)
    # Video: which evidence matched, and the share of the source that matched (seed 000).
    evidence: list[Evidence] | None = None
    coverage: float | None = Field(default=None, ge=0.0, le=1.0)
    # Audio, when aligned: the source's pitch and tempo over the target's (1.05: 5 % higher or faster).
    pitch_ratio: float | None = Field(default=None, gt=0.0)
    tempo_ratio: float | None = Field(default=None, gt=0.0)

    # The fields a response takes from ``MediaEngine.reported``.
    REPORTED: ClassVar[tuple[str, ...]] = ("evidence", "coverage", "pitch_ratio", "tempo_ratio")

    @model_serializer(mode="wrap")
    def _drop_absent_extras(self, handler: SerializerFunctionWrapHandler) -> dict:
        return without_none(handler(self), self.REPORTED)


def without_none(data: dict, keys: tuple[str, ...]) -> dict:
    """``data`` without those of ``keys`` whose value is None."""
    for key in keys:
        if key in data and data[key] is None:
            del data[key]
    return data
