"""A target's peaks read on a fresh clip's spectrogram: kept by fresh fingerprints only, found under
noise that leaves too few peaks to count, and held down between unrelated music on one beat grid."""

from __future__ import annotations

import dataclasses

from medialayer.media.audio.calibration import Z_KNOTS
from medialayer.media.audio.fingerprint import AudioFingerprint
from medialayer.media.audio.presence import scan_presence, source_map
from medialayer.media.audio.spectrogram import FRAME_SECONDS
from medialayer.media.audio.verification import offset_z, top_offsets
from tests.unit._audio_fixtures import encode, synth_music, with_white_noise
from tests.unit.test_audio_match import ENGINE, clip_fp, track_fp, track_pcm


def _under_white_noise(snr_db: float, start: float, seconds: float) -> AudioFingerprint:
    return clip_fp(start, seconds, "mp3", with_white_noise(track_pcm(), snr_db))


def test_only_a_fresh_fingerprint_reads_the_targets_peaks() -> None:
    fresh = clip_fp(30.0, 5.0)
    stored = ENGINE.from_bytes(ENGINE.to_bytes(fresh))
    assert source_map(fresh).shape == fresh.spectrogram.shape
    assert stored.spectrogram is None and source_map(stored) is None
    assert scan_presence(stored, track_fp()) is None


def test_a_clip_under_heavy_noise_is_found_where_its_peaks_no_longer_count() -> None:
    clip = _under_white_noise(-18.0, 30.0, 5.0)
    truth = 30.0 / FRAME_SECONDS
    (presence_z, at), = scan_presence(clip, track_fp()).best(1)
    (peak_z, _), = top_offsets(*offset_z(clip, track_fp()), 1)
    assert abs(at - truth) <= 1
    assert presence_z > peak_z


def test_the_presence_carries_a_clip_the_peaks_and_changes_alone_would_miss() -> None:
    clip = _under_white_noise(-20.0, 30.0, 5.0)
    with_presence = ENGINE.compare(clip, track_fp())
    without = ENGINE.compare(dataclasses.replace(clip, spectrogram=None, cache={}), track_fp())
    assert without.similarity < 0.8 <= with_presence.similarity
    assert abs(with_presence.details["offset_s"] - 30.0) <= 0.05


def test_unrelated_music_on_the_same_beat_grid_stays_low() -> None:
    # Same key, timbre and tempo: the hardest kind of unrelated pair for any peak evidence.
    for seed in (41, 42, 43, 44):
        other = ENGINE.fingerprint_bytes(encode(synth_music(10.0, seed=seed), "mp3"))
        (z, _), = scan_presence(other, track_fp()).best(1)
        assert z < Z_KNOTS[2] - 2.0, seed
