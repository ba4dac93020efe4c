"""The audio index's screen of weak candidates: the compare's own statistic, scanned cheaply."""

from __future__ import annotations

import numpy as np

from medialayer.media.audio.fingerprint import AudioFingerprint
from medialayer.media.audio.index import AudioIndex


def _fp(frames: np.ndarray, freqs: np.ndarray) -> AudioFingerprint:
    order = np.lexsort((freqs, frames))
    return AudioFingerprint(frames=frames[order].astype(np.uint32), freqs=freqs[order].astype(np.uint16),
                            duration_s=float(frames.max()) * 0.032 + 0.1)


def _music_like(rng: np.random.Generator, frames: int, per_frame: int = 4) -> AudioFingerprint:
    n = frames * per_frame
    return _fp(rng.integers(0, frames, n), rng.integers(16, 900, n))


def _excerpt(rng: np.random.Generator, ref: AudioFingerprint, offset: int, length: int, keep: float,
             extra: int) -> AudioFingerprint:
    """Frames [offset, offset + length) of ``ref``: ``keep`` of its peaks among ``extra`` new ones."""
    inside = (ref.frames >= offset) & (ref.frames < offset + length) & (rng.random(len(ref)) < keep)
    return _fp(np.concatenate([ref.frames[inside].astype(np.int64) - offset, rng.integers(0, length, extra)]),
               np.concatenate([ref.freqs[inside], rng.integers(16, 900, extra)]))


def test_the_screen_passes_a_drowned_clip_and_stops_unrelated_audio() -> None:
    rng = np.random.default_rng(3)
    ref = _music_like(rng, 9000)
    drowned = _excerpt(rng, ref, offset=2345, length=300, keep=0.3, extra=300)
    unrelated = _excerpt(rng, _music_like(rng, 9000), offset=2345, length=300, keep=1.0, extra=0)
    assert AudioIndex.plausible(drowned, ref)
    assert not AudioIndex.plausible(unrelated, ref)
