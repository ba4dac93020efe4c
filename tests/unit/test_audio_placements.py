"""Which reported audio segments are echoes of a stronger one, and the compare that drops them."""

from __future__ import annotations

import itertools

import numpy as np

from medialayer.media.audio.engine import AudioEngine
from medialayer.media.audio.placements import is_echo, without_echoes
from medialayer.models.match import Segment
from tests.unit._audio_fixtures import encode, synth_music


def seg(source: tuple[float, float], target_start: float, score: float = 0.9, rate: float = 1.0) -> Segment:
    s0, s1 = source
    return Segment(source_start=s0, source_end=s1, target_start=target_start,
                   target_end=target_start + (s1 - s0) * rate, score=score)


def test_the_same_audio_a_bar_off_is_an_echo_a_repeat_elsewhere_is_not() -> None:
    true = seg((0.0, 120.0), 30.0, score=1.0)
    assert is_echo(seg((0.0, 120.0), 28.9), true)  # a bar early over the whole copy
    assert is_echo(seg((35.0, 90.0), 60.6), true)  # 4.4 s early over part of it
    assert not is_echo(seg((9.0, 27.0), 56.4), true)  # a chorus 17.4 s later: 18 s of audio
    assert not is_echo(seg((0.0, 15.0), 12.5), true)  # a repeat 17.5 s earlier
    # The same occurrence of a 10 s clip traced again at 5 % faster crosses it: an echo.
    assert is_echo(seg((0.0, 10.0), 19.75, rate=1.05), seg((0.0, 10.0), 20.0))
    # Mostly other source audio: not an echo, however close.
    assert not is_echo(seg((0.0, 30.0), 30.5), seg((20.0, 120.0), 50.0))


def test_without_echoes_keeps_the_strongest_placement_and_every_repeat() -> None:
    true, bar_early, chorus = seg((0.0, 120.0), 30.0, 1.0), seg((0.0, 120.0), 28.9, 0.97), seg((9.0, 27.0), 56.4, 0.92)
    kept = without_echoes([bar_early, chorus, true])
    assert kept == [true, chorus]


def test_a_clip_over_a_looped_backing_reports_placements_at_least_half_its_length_apart() -> None:
    # A 2 s backing loop under a melody that never repeats: a 10 s clip from 12 s in matches there,
    # and its backing alone lines up every 2 s (before: 9 segments, 2 s apart).
    backing = np.tile(synth_music(2.0, seed=51), 20)
    track = backing + 0.7 * synth_music(40.0, seed=52)
    track = (0.5 * track / np.abs(track).max()).astype(np.float32)
    engine = AudioEngine()
    cmp = engine.compare(engine.fingerprint_bytes(encode(track[44100 * 12 : 44100 * 22], "mp3")),
                         engine.fingerprint_bytes(encode(track, "flac")))
    assert cmp.similarity >= 0.85
    best = max(cmp.segments, key=lambda s: s.score)
    assert abs(best.target_start - best.source_start - 12.0) <= 0.05
    starts = sorted(s.target_start - s.source_start for s in cmp.segments)
    assert all(b - a >= 5.0 - 0.1 for a, b in itertools.pairwise(starts)), starts
