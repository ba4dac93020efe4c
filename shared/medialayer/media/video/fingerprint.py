"""A video's fingerprint: timed PDQ-style frame hashes plus the soundtrack's audio fingerprint.

``VideoFingerprint`` (frozen; what search indexes and the compare read):

- ``times``: float32 (n,), seconds from the start of the video, ascending. Frames are sampled at
  ``sample_fps`` on a fixed grid; runs of near-identical consecutive frames (within
  ``COLLAPSE_BITS``) keep only their first frame, which stands for the run until the next time.
- ``ends``: float32 (n,), where each kept frame's run ends (its last sample + 1 / sample_fps):
  a gap between one frame's end and the next frame's time was not decoded (see decode.py).
- ``hashes``: uint64 (n, 4), 256-bit DCT hash of each kept frame, identity orientation, letterbox
  trimmed (one picture box per video).
- ``mirrored``: uint64 (n, 4), the same frames' hashes mirrored left-right.
- ``corners`` / ``corners_mirrored``: uint64 (n, 4, 4), hashes of four corner windows (0.7 of
  each axis: top-left, top-right, bottom-left, bottom-right; mirrored ones in the mirrored
  picture's order), so a logo in one corner leaves windows that still match.
- ``detail``: float32 (n,), mean neighbouring-block difference; below ``MIN_DETAIL`` (flat, black,
  fades) a hash is noise and takes no part in matching.
- ``duration_s``: float, the video's duration.
- ``audio``: ``AudioFingerprint`` of the soundtrack, or None when there is none.

``to_bytes``/``from_bytes``: ``MLV`` + version byte, then the arrays little-endian, then the
audio engine's own blob; ~330 bytes per kept frame (at most 2 per second) before the audio.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from medialayer.errors import MediaLayerError
from medialayer.media.audio.decode import AudioSignal
from medialayer.media.audio.fingerprint import (
    AudioFingerprint,
    compute_fingerprint,
    fingerprint_from_bytes,
    fingerprint_to_bytes,
)
from medialayer.media.image.hashing import hamming
from medialayer.media.video.decode import SAMPLE_FPS, DecodedVideo
from medialayer.media.video.frames import has_detail, hash_pictures, picture_box

# Consecutive frames this close (bits of 256) are one picture: re-encoding moves a still frame's
# hash by a few bits, any visible motion by more.
COLLAPSE_BITS = 8
# Soundtracks shorter than this are not fingerprinted (the audio engine needs ~2 s to say anything).
MIN_AUDIO_S = 2.0

_MAGIC = b"MLV"
FORMAT_VERSION = 1
# magic, version, sample fps, duration, frames, audio blob length
_HEADER = struct.Struct("<3sBffII")


@dataclass(frozen=True, eq=False)
class VideoFingerprint:
    times: np.ndarray
    ends: np.ndarray
    hashes: np.ndarray
    mirrored: np.ndarray
    corners: np.ndarray
    corners_mirrored: np.ndarray
    detail: np.ndarray
    duration_s: float
    audio: AudioFingerprint | None = None
    sample_fps: float = SAMPLE_FPS
    # Compare-time caches; not serialised.
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.times)

    @property
    def usable(self) -> np.ndarray:
        return has_detail(self.detail)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VideoFingerprint):
            return False
        exact = ("times", "hashes", "mirrored", "corners", "corners_mirrored")
        return (all(np.array_equal(getattr(self, k), getattr(other, k)) for k in exact)
                and np.allclose(self.ends, other.ends) and np.allclose(self.detail, other.detail, atol=0.05)
                and abs(self.duration_s - other.duration_s) < 1e-3 and self.audio == other.audio)

    __hash__ = None  # type: ignore[assignment]


def _collapse(times: np.ndarray, hashes: np.ndarray, usable: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the frames that start a new picture, and the time each one's run ends."""
    keep, ends = [0], [times[0] + step]
    for i in range(1, len(hashes)):
        last = keep[-1]
        adjacent = times[i] - times[i - 1] <= 1.5 * step  # never across frames that were not decoded
        same = usable[i] == usable[last] and (not usable[i] or int(hamming(hashes[i], hashes[last])) <= COLLAPSE_BITS)
        if adjacent and same:
            ends[-1] = times[i] + step
        else:
            keep.append(i)
            ends.append(times[i] + step)
    return np.asarray(keep, dtype=np.int64), np.asarray(ends)


def fingerprint_video(video: DecodedVideo) -> VideoFingerprint:
    box = picture_box(video.frames)
    windows, mirrored, detail = hash_pictures(video.frames, box)
    keep, ends = _collapse(video.times, windows[:, 0], has_detail(detail), 1.0 / SAMPLE_FPS)
    ends = np.minimum(ends, max(video.duration_s, float(video.times[-1])) + 1e-3)
    return VideoFingerprint(
        times=video.times[keep].astype(np.float32), ends=ends.astype(np.float32),
        hashes=windows[keep, 0], mirrored=mirrored[keep, 0], corners=windows[keep, 1:],
        corners_mirrored=mirrored[keep, 1:],
        detail=detail[keep], duration_s=float(video.duration_s), audio=_audio_fingerprint(video.audio),
    )


def _audio_fingerprint(signal: AudioSignal | None) -> AudioFingerprint | None:
    if signal is None or signal.duration_s < MIN_AUDIO_S:
        return None
    return compute_fingerprint(signal)


def to_bytes(fp: VideoFingerprint) -> bytes:
    audio = fingerprint_to_bytes(fp.audio) if fp.audio is not None else b""
    return b"".join((
        _HEADER.pack(_MAGIC, FORMAT_VERSION, fp.sample_fps, fp.duration_s, len(fp), len(audio)),
        fp.times.astype("<f4").tobytes(), fp.ends.astype("<f4").tobytes(),
        fp.hashes.astype("<u8").tobytes(), fp.mirrored.astype("<u8").tobytes(),
        fp.corners.astype("<u8").tobytes(), fp.corners_mirrored.astype("<u8").tobytes(),
        fp.detail.astype("<f2").tobytes(), audio,
    ))


def from_bytes(blob: bytes) -> VideoFingerprint:
    try:
        magic, version, fps, duration, n, audio_len = _HEADER.unpack_from(blob)
        if magic != _MAGIC:
            raise ValueError("not a video fingerprint")
        if version != FORMAT_VERSION:
            raise ValueError(f"fingerprint version {version}; re-index the asset")
        offset = _HEADER.size

        def take(dtype: str, count: int) -> np.ndarray:
            nonlocal offset
            out = np.frombuffer(blob, dtype=dtype, count=count, offset=offset)
            offset += out.nbytes
            return out

        times = take("<f4", n).astype(np.float32)
        ends = take("<f4", n).astype(np.float32)
        hashes = take("<u8", 4 * n).astype(np.uint64).reshape(n, 4)
        mirrored = take("<u8", 4 * n).astype(np.uint64).reshape(n, 4)
        corners = take("<u8", 16 * n).astype(np.uint64).reshape(n, 4, 4)
        corners_mirrored = take("<u8", 16 * n).astype(np.uint64).reshape(n, 4, 4)
        detail = take("<f2", n).astype(np.float32)
        if len(blob) != offset + audio_len:
            raise ValueError("truncated or padded fingerprint")
        audio = fingerprint_from_bytes(blob[offset:]) if audio_len else None
    except (struct.error, ValueError) as exc:
        raise MediaLayerError("invalid_request", f"corrupt video fingerprint: {exc}") from None
    return VideoFingerprint(times=times, ends=ends, hashes=hashes, mirrored=mirrored, corners=corners,
                            corners_mirrored=corners_mirrored, detail=detail, duration_s=float(duration),
                            audio=audio, sample_fps=float(fps))
