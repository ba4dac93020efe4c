"""The audio index's query side: wider query triplets and the screen of weak candidates."""

from __future__ import annotations

import numpy as np
import pytest

from medialayer.index.segment import Segment
from medialayer.media.audio import index as audio_index
from medialayer.media.audio.fingerprint import AudioFingerprint
from medialayer.media.audio.index import AudioIndex
from medialayer.media.audio.landmarks import FAN_OUT, build_landmarks, hash_landmarks


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


def _evidence(index: AudioIndex, query: AudioFingerprint) -> float:
    found = index.candidates(AudioFingerprint(query.frames, query.freqs, query.duration_s), 5)
    return found[0].evidence if found else 0.0


def test_a_wider_fan_out_keeps_every_narrow_triplet() -> None:
    fp = _music_like(np.random.default_rng(1), 2000)
    narrow = set(hash_landmarks(build_landmarks(fp)).tolist())
    wide = set(hash_landmarks(build_landmarks(fp, FAN_OUT + 3)).tolist())
    assert narrow <= wide and len(wide) > len(narrow)


def test_wider_query_triplets_find_more_of_a_clip_under_extra_peaks(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(2)
    ref = _music_like(rng, 9000)
    index = AudioIndex(Segment.of([("ref", AudioIndex.rows(ref))]).tables, 1)
    query = _excerpt(rng, ref, offset=4321, length=310, keep=1.0, extra=4 * 310)  # as many new peaks
    wide = _evidence(index, query)
    monkeypatch.setattr(audio_index, "QUERY_FAN_OUT", FAN_OUT)
    narrow = _evidence(index, query)
    assert wide >= 1.3 * narrow > 0


def test_the_screen_passes_a_drowned_clip_and_stops_unrelated_audio() -> None:
    rng = np.random.default_rng(3)
    ref = _music_like(rng, 9000)
    drowned = _excerpt(rng, ref, offset=2345, length=300, keep=0.3, extra=300)
    unrelated = _excerpt(rng, _music_like(rng, 9000), offset=2345, length=300, keep=1.0, extra=0)
    assert AudioIndex.plausible(drowned, ref)
    assert not AudioIndex.plausible(unrelated, ref)
