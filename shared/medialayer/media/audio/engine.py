"""``AudioEngine``: decode with PyAV, landmark fingerprints, offset-voting compare."""

from __future__ import annotations

from typing import Any, ClassVar

from medialayer.media.audio.alignment import align
from medialayer.media.audio.calibration import similarity_from_evidence
from medialayer.media.audio.decode import AudioSignal, decode_audio
from medialayer.media.audio.fingerprint import (
    AudioFingerprint,
    compute_fingerprint,
    fingerprint_from_bytes,
    fingerprint_to_bytes,
)
from medialayer.media.audio.index import AudioIndex
from medialayer.media.audio.placements import without_echoes
from medialayer.media.base import Comparison, MediaEngine
from medialayer.models.common import MediaType
from medialayer.models.match import Segment
from medialayer.settings import get_settings

# Below this much audio (or this few peaks) there is too little to tell a match from chance:
# compare answers similarity 0 with a reason instead of raising (docs/benchmarks.md, "Audio match").
MIN_DURATION_S = 2.0
MIN_PEAKS = 20
# Segments are reported from the low-confidence band up (API confidence "low" starts 0.15 below 0.80).
MIN_SEGMENT_SIMILARITY = 0.65


class AudioEngine(MediaEngine[AudioSignal, AudioFingerprint]):
    media_type: ClassVar[MediaType] = MediaType.audio
    default_threshold: ClassVar[float] = 0.80

    def __init__(self, max_bytes: int | None = None, max_seconds: float | None = None) -> None:
        settings = get_settings()
        self.max_bytes = settings.audio_max_bytes if max_bytes is None else max_bytes
        self.max_seconds = settings.audio_max_seconds if max_seconds is None else max_seconds

    def decode(self, data: bytes) -> AudioSignal:
        return decode_audio(data, max_bytes=self.max_bytes, max_seconds=self.max_seconds)

    def fingerprint(self, decoded: AudioSignal) -> AudioFingerprint:
        return compute_fingerprint(decoded)

    def index_type(self) -> type[AudioIndex]:
        return AudioIndex

    def reported(self, comparison: Comparison) -> dict[str, Any]:
        """The pitch and tempo factors of an alignment (source over target: 1.05 sounds 5 % higher, or
        plays 5 % faster; a speed change moves both), when there is one."""
        if not comparison.segments:
            return {}
        return {"pitch_ratio": comparison.details["pitch_ratio"], "tempo_ratio": comparison.details["tempo_ratio"]}

    def to_bytes(self, fingerprint: AudioFingerprint) -> bytes:
        return fingerprint_to_bytes(fingerprint)

    def from_bytes(self, blob: bytes) -> AudioFingerprint:
        return fingerprint_from_bytes(blob)

    def compare(self, source: AudioFingerprint, target: AudioFingerprint) -> Comparison:
        for side, fp in (("source", source), ("target", target)):
            if fp.duration_s < MIN_DURATION_S:
                return Comparison(0.0, [], {"reason": f"{side}_too_short", "duration_s": fp.duration_s})
            if len(fp) < MIN_PEAKS:
                return Comparison(0.0, [], {"reason": f"{side}_silent_or_featureless", "peaks": len(fp)})
        result = align(source, target)
        similarity = similarity_from_evidence(result.votes, result.chance_votes, result.overlap_z)
        segments = [
            Segment(
                source_start=round(run.source_start, 3), source_end=round(run.source_end, 3),
                target_start=round(run.target_start, 3), target_end=round(run.target_end, 3),
                score=round(similarity_from_evidence(run.votes, result.chance_votes, run.z), 4),
            )
            for run in result.runs
        ]
        segments = without_echoes([s for s in segments if s.score >= MIN_SEGMENT_SIMILARITY])
        segments.sort(key=lambda s: (s.source_start, s.target_start))
        details = {
            "votes": result.votes,
            "chance_votes": round(result.chance_votes, 3),
            "overlap_z": round(result.overlap_z, 2),
            "change_z": round(result.change_z, 2),
            "offset_s": round(result.offset_s, 3),
            # Source pitch over target pitch (1.05: the source sounds 5 % higher).
            "pitch_ratio": round(result.pitch_ratio, 4),
            # Source tempo over target tempo (1.05: the source plays 5 % faster).
            "tempo_ratio": round(result.time_scale, 4),
            "lookups": result.lookups,
        }
        return Comparison(similarity=similarity, segments=segments, details=details)
