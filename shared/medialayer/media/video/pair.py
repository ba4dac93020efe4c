"""One /video/match: two videos, or a video and a still image or an audio clip, told apart by their bytes.

Both sides are decoded and fingerprinted at once (``on_both_sides``).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from medialayer.errors import MediaLayerError
from medialayer.fetch.sniff import SNIFF_BYTES, detect_format
from medialayer.media.audio.fingerprint import AudioFingerprint
from medialayer.media.base import Comparison, on_both_sides
from medialayer.media.image.decode import DecodedImage, decode_image
from medialayer.media.video.crossmodal import audio_in_video, image_in_video
from medialayer.media.video.fingerprint import VideoFingerprint
from medialayer.models.common import MediaType

if TYPE_CHECKING:  # the engine calls compare_media with itself
    from medialayer.media.video.engine import VideoEngine


def _read(engine: VideoEngine, data: bytes) -> VideoFingerprint | DecodedImage | AudioFingerprint:
    """The side's own medium: a video fingerprint, a decoded still, or an audio fingerprint."""
    detected = detect_format(data[:SNIFF_BYTES])
    kind = detected.media_type if detected is not None else MediaType.video
    if kind is MediaType.image:
        return decode_image(data)
    if kind is MediaType.audio:
        return engine.audio_engine.fingerprint_bytes(data)
    try:
        return engine.fingerprint_bytes(data)
    except MediaLayerError as exc:
        if exc.code != "unsupported_media":
            raise
        # A container sniffed as video may hold only sound (an .mp4 or .mkv without pictures).
        try:
            return engine.audio_engine.fingerprint_bytes(data)
        except MediaLayerError:
            raise exc from None


def compare_media(engine: VideoEngine, source: bytes, target: bytes) -> Comparison:
    """Compare two sides of which at least one is a video."""
    a, b = on_both_sides(partial(_read, engine), source, target)
    if isinstance(a, VideoFingerprint) and isinstance(b, VideoFingerprint):
        return engine.compare(a, b)
    if isinstance(b, VideoFingerprint):
        return _against_video(engine, a, b, other_is_source=True)
    if isinstance(a, VideoFingerprint):
        return _against_video(engine, b, a, other_is_source=False)
    raise MediaLayerError("unsupported_media",
                          f"/video/match needs a video on at least one side; got {_name(a)} and {_name(b)}")


def _against_video(engine: VideoEngine, other: Any, video: VideoFingerprint, other_is_source: bool) -> Comparison:
    if isinstance(other, DecodedImage):
        return image_in_video(other, video, image_is_source=other_is_source)
    return audio_in_video(other, video, audio_is_source=other_is_source, engine=engine.audio_engine)


def _name(side: Any) -> str:
    return "an image" if isinstance(side, DecodedImage) else "audio"
