"""``VideoEngine``: sampled frames and soundtrack in, time-aligned visual and audio evidence out."""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

from medialayer.media.audio.engine import AudioEngine
from medialayer.media.base import Comparison, MediaEngine
from medialayer.media.image.fingerprint import ImageFingerprint
from medialayer.media.video import fingerprint as fp
from medialayer.media.video.alignment import align_visual
from medialayer.media.video.calibration import audio_similarity, visual_similarity
from medialayer.media.video.crossmodal import audio_in_video, image_in_video
from medialayer.media.video.decode import DecodedVideo, decode_video
from medialayer.media.video.index import VideoIndex
from medialayer.media.video.pair import compare_media
from medialayer.models.common import MediaType
from medialayer.models.match import Segment
from medialayer.settings import get_settings

# Segments are reported from the low-confidence band up (confidence "low" starts at 0.60).
MIN_SEGMENT_SIMILARITY = 0.6
# When pictures and sound both point to the same offset (within this many seconds) and each is
# at least AGREEMENT_FLOOR, the weaker adds AGREEMENT_SHARE of its excess over the floor.
AGREEMENT_OFFSET_S = 1.0
AGREEMENT_FLOOR = 0.5
AGREEMENT_SHARE = 0.5


class VideoEngine(MediaEngine[DecodedVideo, fp.VideoFingerprint]):
    """Confidence (base class): high >= 0.875, medium >= 0.75 (match), low >= 0.60, else none."""

    media_type: ClassVar[MediaType] = MediaType.video
    default_threshold: ClassVar[float] = 0.75
    # A still finds the videos (and times) it appears in; an audio clip the videos it is heard in.
    cross_modal_queries: ClassVar[tuple[MediaType, ...]] = (MediaType.image, MediaType.audio)

    def __init__(self, max_bytes: int | None = None, max_seconds: float | None = None) -> None:
        settings = get_settings()
        self.max_bytes = settings.video_max_bytes if max_bytes is None else max_bytes
        self.max_seconds = settings.video_max_seconds if max_seconds is None else max_seconds

    @cached_property
    def audio_engine(self) -> AudioEngine:
        return AudioEngine(max_bytes=self.max_bytes, max_seconds=self.max_seconds)

    def decode(self, data: bytes) -> DecodedVideo:
        return decode_video(data, max_bytes=self.max_bytes, max_seconds=self.max_seconds)

    def fingerprint(self, decoded: DecodedVideo) -> fp.VideoFingerprint:
        return fp.fingerprint_video(decoded)

    def index_type(self) -> type[VideoIndex]:
        return VideoIndex

    def reported(self, comparison: Comparison) -> dict[str, Any]:
        """Which evidence matched (visual, audio) and the share of the source that matched (seed 000)."""
        return {"evidence": comparison.details.get("evidence"), "coverage": comparison.details.get("coverage")}

    def compare_bytes(self, source: bytes, target: bytes) -> Comparison:
        """Two videos, or a video and a still or an audio clip (told apart by their bytes)."""
        return compare_media(self, source, target)

    def compare_cross(self, query: Any, stored: fp.VideoFingerprint) -> Comparison:
        """An image fingerprint (where does the still appear?) or an audio one (is it in the soundtrack?)."""
        if isinstance(query, ImageFingerprint):
            return image_in_video(query, stored, image_is_source=True)
        return audio_in_video(query, stored, audio_is_source=True, engine=self.audio_engine)

    def to_bytes(self, fingerprint: fp.VideoFingerprint) -> bytes:
        return fp.to_bytes(fingerprint)

    def from_bytes(self, blob: bytes) -> fp.VideoFingerprint:
        return fp.from_bytes(blob)

    def compare(self, source: fp.VideoFingerprint, target: fp.VideoFingerprint) -> Comparison:
        visual = align_visual(source, target)
        v = visual_similarity(visual.evidence)
        visual_segments = [
            Segment(source_start=round(r.source_start, 3), source_end=round(r.source_end, 3),
                    target_start=round(r.target_start, 3), target_end=round(r.target_end, 3),
                    score=round(visual_similarity(r.evidence), 4))
            for r in visual.runs
        ]
        details: dict = {"visual_similarity": round(v, 4), "visual_evidence": round(visual.evidence, 2),
                         "offset_s": round(visual.offset_s, 3), "mirrored": visual.mirrored,
                         "frame_distance": round(visual.frame_distance, 1)}
        a, audio_segments, audio_offset = 0.0, [], None
        if source.audio is not None and target.audio is not None:
            heard = self.audio_engine.compare(source.audio, target.audio)
            a = audio_similarity(heard.similarity)
            audio_segments = [s.model_copy(update={"score": round(audio_similarity(s.score), 4)})
                              for s in heard.segments]
            audio_offset = heard.details.get("offset_s")
            details.update(audio_similarity=round(a, 4), audio_offset_s=audio_offset)
        similarity = max(v, a)
        if (audio_offset is not None and min(v, a) >= AGREEMENT_FLOOR
                and abs(audio_offset - visual.offset_s) <= AGREEMENT_OFFSET_S):
            similarity = min(1.0, similarity + AGREEMENT_SHARE * (min(v, a) - AGREEMENT_FLOOR))
        segments = visual_segments if v >= a else audio_segments
        segments = sorted((s for s in segments if s.score >= MIN_SEGMENT_SIMILARITY),
                          key=lambda s: (s.source_start, s.target_start))
        covered = visual.covered_s if v >= a else sum(s.source_end - s.source_start for s in segments)
        details["evidence"] = [kind for kind, score in (("visual", v), ("audio", a)) if score >= self.default_threshold]
        details["coverage"] = round(min(1.0, covered / source.duration_s), 4) if source.duration_s > 0 else 0.0
        return Comparison(similarity=round(similarity, 4), segments=segments, details=details)
