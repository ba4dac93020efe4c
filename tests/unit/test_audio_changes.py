"""Dense band-energy changes: stored as signs, scanned over every offset, and what they add to a match."""

from __future__ import annotations

import dataclasses
import struct
import zlib

import numpy as np
import pytest

from medialayer.media.audio.calibration import CHANGE_Z_AT_OPERATING_POINT
from medialayer.media.audio.changes import _transform, correlations, part_z, scan_changes
from medialayer.media.audio.fingerprint import AudioFingerprint
from medialayer.media.audio.spectrogram import FRAME_SECONDS
from tests.unit._audio_fixtures import RATE, encode, synth_music
from tests.unit.test_audio_match import ENGINE, clip_fp, track_fp, track_pcm


def _without_changes(fp: AudioFingerprint) -> AudioFingerprint:
    # Its own compare-time caches: the track's hold what its changes give (their signs, for one).
    return dataclasses.replace(fp, changes=fp.changes[:0], changes_odd=None, changes_weighted=(), cache={})


def _under_a_louder_track(start: float, seconds: float) -> AudioFingerprint:
    # The track 12 dB under unrelated music at another tempo.
    mixed = (track_pcm() / 4.0 + synth_music(60.0, seed=77, tempo_bpm=97)) * 0.5
    return clip_fp(start, seconds, "mp3", mixed.astype(np.float32))


def test_changes_are_stored_as_one_sign_per_band_and_block() -> None:
    fp = track_fp()
    again = ENGINE.from_bytes(ENGINE.to_bytes(fp))
    assert again.changes.shape == fp.changes.shape and len(fp.changes) > 0
    assert set(np.unique(again.changes)) <= {-1.0, 1.0}
    assert np.array_equal(again.changes > 0, fp.changes > 0)
    assert again.changes_odd is None and fp.changes_odd is not None


def test_a_clip_under_a_louder_track_is_carried_by_the_changes() -> None:
    query = _under_a_louder_track(30.0, 5.0)
    peaks_only = ENGINE.compare(query, _without_changes(track_fp()))
    both = ENGINE.compare(query, track_fp())
    assert peaks_only.similarity < 0.8 <= both.similarity
    assert both.details["change_z"] >= CHANGE_Z_AT_OPERATING_POINT
    assert abs(both.details["offset_s"] - 30.0) <= 0.05


def test_a_stored_query_scans_every_other_frame_and_still_finds_its_offset() -> None:
    fresh = _under_a_louder_track(30.0, 5.0)
    stored = ENGINE.from_bytes(ENGINE.to_bytes(fresh))
    reference = np.sign(track_fp().changes)
    both, even = scan_changes([fresh.changes, fresh.changes_odd], reference), scan_changes([stored.changes], reference)
    assert (both.step, even.step) == (1, 2)
    true_offset = 30.0 / FRAME_SECONDS
    assert abs(both.best(1)[0][1] - true_offset) <= 1
    assert abs(even.best(1)[0][1] - true_offset) <= 2


def test_music_on_the_same_beat_grid_is_held_down_by_the_wrong_offsets_around_it() -> None:
    # Same key, timbre and tempo: against every offset alone such pairs reach the operating point.
    reference = np.sign(track_fp().changes)
    for seed in (41, 42, 43, 44):
        other = ENGINE.fingerprint_bytes(encode(synth_music(10.0, seed=seed), "mp3"))
        corr = correlations(other.changes, reference)
        spread = 1.4826 * np.median(np.abs(corr - np.median(corr)))
        assert (corr.max() - np.median(corr)) / spread > CHANGE_Z_AT_OPERATING_POINT
        assert scan_changes([other.changes, other.changes_odd], reference).best(1)[0][0] < CHANGE_Z_AT_OPERATING_POINT


def test_fingerprints_stored_before_the_changes_still_read_and_match() -> None:
    fp = track_fp()
    deltas = np.diff(fp.frames.astype(np.int64), prepend=0).astype(np.uint16)
    planes = [a.view(np.uint8).reshape(-1, 2).T.tobytes() for a in (deltas, fp.freqs.astype(np.uint16))]
    header = struct.pack("<4sIHBBfIB", b"MLA1", 8000, 256, 24, 8, fp.duration_s, len(fp.frames), 2)
    old = ENGINE.from_bytes(header + zlib.compress(b"".join(planes)))
    assert len(old.changes) == 0 and np.array_equal(old.frames, fp.frames)
    cmp = ENGINE.compare(clip_fp(23.37, 10.0), old)
    assert cmp.similarity >= 0.8 and cmp.details["change_z"] == 0.0


def test_the_search_screen_passes_a_clip_on_its_changes_when_its_peaks_are_gone() -> None:
    from medialayer.media.audio.index import AudioIndex

    query = _under_a_louder_track(30.0, 5.0)
    rng = np.random.default_rng(8)
    frames = np.sort(rng.integers(0, 150, 200)).astype(np.uint32)
    peaks_gone = dataclasses.replace(query, frames=frames, freqs=rng.integers(16, 900, 200).astype(np.uint16), cache={})
    assert AudioIndex.plausible(peaks_gone, track_fp())
    assert not AudioIndex.plausible(_without_changes(peaks_gone), track_fp())


def test_peaks_and_changes_count_together_only_where_each_shows_on_its_own() -> None:
    from medialayer.media.audio.calibration import Z_KNOTS, evidence_z

    match = Z_KNOTS[2]  # the peak z of the 0.80 knot
    assert evidence_z(6.0, 5.0) >= match > max(evidence_z(6.0, 0.0), evidence_z(0.0, 5.0))
    # A beat grid shared by unrelated music lifts the peak z far more than the changes' z.
    assert evidence_z(7.0, 3.6) < match
    both = evidence_z(np.array([6.0, 7.0]), np.array([5.0, 3.6]))
    assert np.allclose(both, [evidence_z(6.0, 5.0), evidence_z(7.0, 3.6)])


def test_a_loop_under_a_louder_track_reports_every_occurrence() -> None:
    section = synth_music(8.0, seed=21)
    filler = [synth_music(6.0, seed=s) for s in (22, 23, 24)]
    # filler, loop, filler, loop, filler, loop: the loop starts at 6, 20 and 34 s.
    looped = np.concatenate([filler[0], section, filler[1], section, filler[2], section])
    target = ENGINE.fingerprint_bytes(encode(looped, "flac"))
    clip = ((section / 4.0 + synth_music(8.0, seed=77, tempo_bpm=97)) * 0.5).astype(np.float32)
    cmp = ENGINE.compare(ENGINE.fingerprint_bytes(encode(clip, "mp3")), target)
    assert cmp.similarity >= 0.8
    starts = sorted(s.target_start - s.source_start for s in cmp.segments if s.score >= 0.8)
    assert np.allclose(starts, [6.0, 20.0, 34.0], atol=0.05)


def test_under_steady_noise_the_changes_weighted_above_its_floor_find_the_line() -> None:
    # 6 s whose first half is 26 dB quieter, under white noise as loud as the clip: the quiet half's
    # changes are the noise's, and weighting them down lifts the true line (6.4 -> 7.9 when written).
    start, seconds = 30.0, 6.0
    a, b = int(start * RATE), int((start + seconds) * RATE)
    pcm = track_pcm().copy()
    clip = pcm[a:b].copy()
    clip[: len(clip) // 2] *= 0.05
    noise = np.random.default_rng(3).standard_normal(len(clip)) * np.sqrt(np.mean(clip**2))
    pcm[a:b] = clip + noise.astype(np.float32)
    fp = clip_fp(start, seconds, "mp3", pcm)
    reference = np.sign(track_fp().changes)
    phases = [fp.changes, fp.changes_odd]
    plain, both = scan_changes(phases, reference), scan_changes(phases, reference, list(fp.changes_weighted))
    true_offset = start / FRAME_SECONDS
    assert both.z_at(true_offset) >= max(plain.z_at(true_offset) + 1.0, CHANGE_Z_AT_OPERATING_POINT)
    assert abs(both.best(1)[0][1] - true_offset) <= 1
    # Stored fingerprints keep signs only: the weighted phases are a fresh query's.
    assert ENGINE.from_bytes(ENGINE.to_bytes(fp)).changes_weighted == ()


def test_a_part_of_a_source_scanned_alone_confirms_its_line_and_nothing_else() -> None:
    # A 40 s copy from 10 s into the track, its 12-22 s mixed 12 dB under unrelated music.
    start = 10.0
    copy = track_pcm()[int(start * RATE) : int((start + 40.0) * RATE)].copy()
    part = slice(int(12 * RATE), int(22 * RATE))
    copy[part] = (copy[part] / 4.0 + synth_music(10.0, seed=81, tempo_bpm=97.0)) * 0.5
    source = ENGINE.fingerprint_bytes(encode(copy, "mp3"))
    frames = (12.0 / FRAME_SECONDS, 22.0 / FRAME_SECONDS)
    assert part_z(source, track_fp(), start / FRAME_SECONDS, frames) >= 4.0
    # Wrong lines, and a part with no source audio at all.
    assert max(part_z(source, track_fp(), (start + d) / FRAME_SECONDS, frames) for d in (-7.3, 4.1, 13.9)) < 4.0
    assert part_z(source, track_fp(), start / FRAME_SECONDS, (0.0, 1.0)) == -np.inf


def test_phases_whose_lengths_straddle_a_transform_size_scan_together() -> None:
    # 1000 + 3097 - 1 = 4096 takes an 8192-point transform, 999 + 3097 - 1 = 4095 a 4096-point one:
    # the phases share the larger (they raised a broadcasting error, a 500 through the API).
    rng = np.random.default_rng(5)
    reference = np.sign(rng.standard_normal((3097, 20))).astype(np.float32)
    phases = [reference[500:1500].copy(), reference[500:1499].copy()]
    scan = scan_changes(phases, reference)
    assert scan is not None and scan.z_at(500 * 2) > 10.0


@pytest.mark.parametrize("length", [1, 7, 63, 64, 65, 200, 699, 700])
def test_the_chunked_correlation_equals_the_plain_one_at_every_offset(length: int) -> None:
    # Overlap-save chunks: an offset at a chunk's edge must not wrap round into the next chunk's audio.
    rng = np.random.default_rng(length)
    reference = np.sign(rng.standard_normal((700, 12))).astype(np.float32)
    query = rng.standard_normal((length, 12)).astype(np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(reference.astype(np.float64), length, axis=0)
    dot = np.einsum("jbi,ib->j", windows, query.astype(np.float64))
    norm = np.sqrt(np.einsum("jbi->j", windows**2) * np.sum(query.astype(np.float64) ** 2))
    assert np.allclose(correlations(query, reference), dot / norm, atol=1e-5)
    # Shared by a phase one block longer: the shorter query still reads every offset right.
    shared = _transform(reference, length + 1, length) if length < 700 else None
    assert np.allclose(correlations(query, reference, shared), dot / norm, atol=1e-5)
