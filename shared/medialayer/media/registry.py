"""Which engine serves which media type."""

from __future__ import annotations

from functools import cache

from medialayer.errors import MediaLayerError
from medialayer.media.base import MediaEngine
from medialayer.models.common import MediaType


@cache
def get_engine(media_type: MediaType | str) -> MediaEngine:
    """The engine for a media type; engines are imported lazily so a function only loads what it uses."""
    kind = MediaType(media_type)
    if kind is MediaType.image:
        from medialayer.media.image.engine import ImageEngine

        return ImageEngine()
    if kind is MediaType.audio:
        from medialayer.media.audio.engine import AudioEngine

        return AudioEngine()
    if kind is MediaType.video:
        from medialayer.media.video.engine import VideoEngine

        return VideoEngine()
    raise MediaLayerError("not_found", f"{kind.value} matching is not available yet")


def available_media_types() -> list[MediaType]:
    return [MediaType.image, MediaType.audio, MediaType.video]
