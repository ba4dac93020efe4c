"""A still image or an audio clip against a video: where the still appears, or the sound is heard.

Segments keep the API's sides: when the image (or audio) is the source, ``source_*`` is 0 for an
image (it has no time) and ``target_*`` are the video's times, and the other way round.
"""

from __future__ import annotations

import numpy as np

from medialayer.media.audio.engine import AudioEngine
from medialayer.media.audio.fingerprint import AudioFingerprint
from medialayer.media.base import Comparison
from medialayer.media.image.decode import DecodedImage
from medialayer.media.image.fingerprint import WINDOW_GRID, ImageFingerprint
from medialayer.media.video.calibration import audio_similarity
from medialayer.media.video.fingerprint import VideoFingerprint
from medialayer.media.video.frames import MIRRORED_CORNER, frame_distances, has_detail, hash_pictures
from medialayer.models.match import Segment

# Best distance between the still (either orientation) and any frame -> similarity. One still
# meets up to ~720 frame orientations, so the 0.75 knot sits below the closest distinct
# still/video pairs measured (docs/benchmarks.md, Video match: still frames).
STILL_KNOTS = ((0, 1.0), (20, 0.95), (44, 0.75), (60, 0.5), (80, 0.0))
# Frames within this similarity of the best one (and above the low band) form the segments.
STILL_SEGMENT_SIMILARITY = 0.6
# Frames this close in time (seconds) belong to one appearance.
STILL_GAP_S = 1.0


def _segment(start: float, end: float, score: float, still_is_source: bool) -> Segment:
    still, video = (0.0, 0.0), (round(start, 3), round(end, 3))
    (s0, s1), (t0, t1) = (still, video) if still_is_source else (video, still)
    return Segment(source_start=s0, source_end=s1, target_start=t0, target_end=t1, score=round(score, 4))


# The image engine's grid windows that are the frame hashes' corner windows (0.7 of each axis at
# either end: fingerprint.AXIS_SPANS rows/columns 6 and 8), in frames.CORNERS order.
_GRID_SPAN = round(len(WINDOW_GRID) ** 0.5)
_STILL_WINDOWS = (0, 6 * _GRID_SPAN + 6, 6 * _GRID_SPAN + 8, 8 * _GRID_SPAN + 6, 8 * _GRID_SPAN + 8)


def still_pictures(image: DecodedImage | ImageFingerprint) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A still's whole and corner hashes as ``frames.hash_pictures`` makes them for frames: from
    its pixels, or read off its image fingerprint (the same windows, bit for bit), so a search
    can send a still's fingerprint rather than its pixels."""
    if isinstance(image, DecodedImage):
        return hash_pictures([image.luma])
    mirrored_windows = [_STILL_WINDOWS[0]] + [_STILL_WINDOWS[1 + k] for k in MIRRORED_CORNER]
    return (image.hashes[0, list(_STILL_WINDOWS)][None], image.hashes[1, mirrored_windows][None],
            image.detail[:1].astype(np.float32))


def image_in_video(image: DecodedImage | ImageFingerprint, video: VideoFingerprint, image_is_source: bool
                   ) -> Comparison:
    """Where (if anywhere) the still appears in the video, mirrored or not."""
    hashes, mirrored, detail = still_pictures(image)
    usable = video.usable
    if not has_detail(detail)[0] or not usable.any():
        return Comparison(0.0, [], {"reason": "no_detail", "evidence": [], "coverage": 0.0})
    distances = np.minimum(frame_distances(hashes[:, 0], hashes[:, 1:], video.hashes, video.corners)[0],
                           frame_distances(mirrored[:, 0], mirrored[:, 1:], video.hashes, video.corners)[0])
    distances = np.where(usable, distances, 256)
    xs, ys = zip(*STILL_KNOTS, strict=True)
    scores = np.interp(distances, xs, ys)
    best = int(np.argmax(scores))
    similarity = float(scores[best])
    segments: list[Segment] = []
    frames = np.nonzero(scores >= STILL_SEGMENT_SIMILARITY)[0]
    if len(frames):
        start, end, score = float(video.times[frames[0]]), float(video.ends[frames[0]]), float(scores[frames[0]])
        for k in frames[1:]:
            if video.times[k] - end <= STILL_GAP_S:
                end, score = float(video.ends[k]), max(score, float(scores[k]))
            else:
                segments.append(_segment(start, end, score, image_is_source))
                start, end, score = float(video.times[k]), float(video.ends[k]), float(scores[k])
        segments.append(_segment(start, end, score, image_is_source))
    details = {"best_time_s": round(float(video.times[best]), 3), "frame_distance": int(distances[best]),
               "evidence": ["visual"] if similarity >= 0.75 else [],
               "coverage": round(sum(s.target_end - s.target_start if image_is_source else s.source_end -
                                     s.source_start for s in segments) / max(video.duration_s, 1e-9), 4)}
    return Comparison(round(similarity, 4), segments, details)


def audio_in_video(audio: AudioFingerprint, video: VideoFingerprint, audio_is_source: bool,
                   engine: AudioEngine) -> Comparison:
    """The audio clip against the video's soundtrack, on the video scale."""
    if video.audio is None:
        return Comparison(0.0, [], {"reason": "video_has_no_soundtrack", "evidence": [], "coverage": 0.0})
    heard = engine.compare(audio, video.audio) if audio_is_source else engine.compare(video.audio, audio)
    similarity = audio_similarity(heard.similarity)
    segments = [s.model_copy(update={"score": round(audio_similarity(s.score), 4)}) for s in heard.segments]
    source_duration = audio.duration_s if audio_is_source else video.duration_s
    covered = sum(s.source_end - s.source_start for s in segments)
    details = {**heard.details, "evidence": ["audio"] if similarity >= 0.75 else [],
               "coverage": round(min(1.0, covered / max(source_duration, 1e-9)), 4)}
    return Comparison(round(similarity, 4), segments, details)
