"""One-to-many search (API.md, Search)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer

from medialayer.models.common import MediaType
from medialayer.models.match import Segment, without_none


class SearchOptions(BaseModel):
    """The knobs of a search; ``threshold`` defaults to the medium's operating point."""

    threshold: float | None = Field(None, ge=0.0, le=1.0)
    top_k: int = Field(10, ge=1, le=100)
    min_coverage: float = Field(0.0, ge=0.0, le=1.0)
    # Indexed media types to search; default: the query's own type.
    media_types: list[MediaType] | None = Field(None, min_length=1, max_length=3)


class SearchRequest(SearchOptions):
    url: str = Field(min_length=1, max_length=4096)


class SearchQueryInfo(BaseModel):
    bytes: int
    duration_s: float | None = None


class SearchMatch(BaseModel):
    asset_id: str
    name: str | None = None
    media_type: MediaType
    similarity: float
    # Share of the query inside matched segments; null for images.
    coverage: float | None = None
    matched_segments: list[Segment] = Field(default_factory=list)
    # Audio: the query's pitch and tempo over the asset's (1.05: 5 % higher or faster); left out
    # for other media.
    pitch_ratio: float | None = Field(default=None, gt=0.0)
    tempo_ratio: float | None = Field(default=None, gt=0.0)

    # The fields a result takes from ``MediaEngine.reported``.
    REPORTED: ClassVar[tuple[str, ...]] = ("pitch_ratio", "tempo_ratio")

    @model_serializer(mode="wrap")
    def _drop_absent_extras(self, handler: SerializerFunctionWrapHandler) -> dict:
        return without_none(handler(self), self.REPORTED)


class SearchResponse(BaseModel):
    media_type: MediaType
    processing_time_ms: int
    query: SearchQueryInfo
    matches: list[SearchMatch]
