from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel


class MediaType(StrEnum):
    image = "image"
    audio = "audio"
    video = "video"


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorEnvelope(BaseModel):
    """What every non-2xx response carries."""

    error: ErrorBody
