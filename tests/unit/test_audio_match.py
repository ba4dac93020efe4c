"""AudioEngine fingerprint + compare on synthetic music: offsets, segments, repeats, speed, edge cases."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from medialayer.media.audio import alignment
from medialayer.media.audio.alignment import CONFIDENT_VOTES, VOTE_SUBSCALES, _settled
from medialayer.media.audio.decode import SAMPLE_RATE, AudioSignal
from medialayer.media.audio.engine import AudioEngine
from medialayer.media.audio.fingerprint import AudioFingerprint
from medialayer.media.audio.runs import AlignedRun, bridged, extend_edges, same_line
from medialayer.media.audio.spectrogram import FRAME_SECONDS
from tests.unit._audio_fixtures import RATE, encode, resample_linear, synth_music, with_white_noise

ENGINE = AudioEngine()


@cache
def track_pcm() -> np.ndarray:
    return synth_music(60.0, seed=11)


@cache
def track_fp() -> AudioFingerprint:
    return ENGINE.fingerprint_bytes(encode(track_pcm(), "flac"))


def clip_fp(start: float, seconds: float, fmt: str = "mp3", pcm: np.ndarray | None = None) -> AudioFingerprint:
    src = track_pcm() if pcm is None else pcm
    return ENGINE.fingerprint_bytes(encode(src[int(start * RATE) : int((start + seconds) * RATE)], fmt))


@pytest.mark.parametrize(("start", "seconds", "fmt"), [(23.37, 10.0, "mp3"), (41.81, 5.0, "opus"), (7.05, 8.0, "aac")])
def test_clip_is_found_at_its_offset_with_its_edges(start: float, seconds: float, fmt: str) -> None:
    cmp = ENGINE.compare(clip_fp(start, seconds, fmt), track_fp())
    assert cmp.similarity >= 0.9
    assert ENGINE.confidence(cmp.similarity) == "high"
    assert abs(cmp.details["offset_s"] - start) <= 0.05
    best = min(cmp.segments, key=lambda s: abs(s.target_start - s.source_start - start))
    assert abs(best.source_start - 0.0) <= 0.5 and abs(best.source_end - seconds) <= 0.5
    assert abs(best.target_start - start) <= 0.5 and abs(best.target_end - (start + seconds)) <= 0.5
    assert abs((best.target_start - best.source_start) - start) <= 0.05
    assert best.score >= 0.8


def test_clip_with_noise_still_matches() -> None:
    cmp = ENGINE.compare(clip_fp(30.0, 10.0, "mp3", with_white_noise(track_pcm(), 10.0)), track_fp())
    assert cmp.similarity >= 0.8
    assert abs(cmp.details["offset_s"] - 30.0) <= 0.05


def test_looped_section_yields_one_segment_per_occurrence() -> None:
    section = synth_music(8.0, seed=21)
    filler = [synth_music(6.0, seed=s) for s in (22, 23, 24)]
    # filler, loop, filler, loop, filler, loop: the loop starts at 6, 20 and 34 s.
    looped = np.concatenate([filler[0], section, filler[1], section, filler[2], section])
    target = ENGINE.fingerprint_bytes(encode(looped, "flac"))
    query = ENGINE.fingerprint_bytes(encode(section, "mp3"))
    cmp = ENGINE.compare(query, target)
    assert cmp.similarity >= 0.9
    starts = sorted(s.target_start - s.source_start for s in cmp.segments if s.score >= 0.8)
    assert len(starts) == 3
    assert np.allclose(starts, [6.0, 20.0, 34.0], atol=0.05)
    for seg in cmp.segments:
        assert seg.source_end - seg.source_start >= 7.0


def test_reordered_halves_yield_two_segments() -> None:
    a, b = synth_music(10.0, seed=31), synth_music(10.0, seed=32)
    cmp = ENGINE.compare(ENGINE.fingerprint_bytes(encode(np.concatenate([a, b]), "mp3")),
                         ENGINE.fingerprint_bytes(encode(np.concatenate([b, a]), "flac")))
    segs = sorted((s for s in cmp.segments if s.score >= 0.8), key=lambda s: s.source_start)
    assert len(segs) == 2
    assert abs(segs[0].source_start) <= 0.5 and abs(segs[0].target_start - 10.0) <= 0.5
    assert abs(segs[1].source_start - 10.0) <= 0.5 and abs(segs[1].target_start) <= 0.5


def test_unrelated_music_stays_below_the_operating_point() -> None:
    # Same key, same timbre, same tempo on the beat grid: the hardest kind of unrelated pair.
    for seed in (41, 42, 43, 44):
        other = ENGINE.fingerprint_bytes(encode(synth_music(10.0, seed=seed), "mp3"))
        cmp = ENGINE.compare(other, track_fp())
        assert cmp.similarity < 0.75, (seed, cmp.details)
        assert ENGINE.confidence(cmp.similarity) in ("none", "low")
        assert all(s.score < 0.8 for s in cmp.segments)


@pytest.mark.parametrize("factor", [1.05, 0.95])
def test_speed_change_still_matches_and_reports_the_factor(factor: float) -> None:
    start, seconds = 20.0, 10.0
    clip = track_pcm()[int(start * RATE) : int((start + seconds) * RATE)]
    # Played back `factor` times faster: pitch and tempo both change (ffmpeg asetrate).
    faster = resample_linear(clip, RATE * factor, RATE)
    cmp = ENGINE.compare(ENGINE.fingerprint_bytes(encode(faster, "mp3")), track_fp())
    assert cmp.similarity >= 0.8
    assert abs(cmp.details["tempo_ratio"] - factor) <= 0.01
    assert abs(cmp.details["pitch_ratio"] - factor) <= 0.01
    assert abs(cmp.details["offset_s"] - start) <= 0.1


def test_silence_and_too_short_input_give_similarity_zero_not_an_error() -> None:
    silence = ENGINE.fingerprint(AudioSignal(np.zeros(10 * SAMPLE_RATE, np.float32)))
    assert len(silence) == 0
    cmp = ENGINE.compare(silence, track_fp())
    assert cmp.similarity == 0.0 and cmp.segments == []
    assert cmp.details["reason"] == "source_silent_or_featureless"
    short = clip_fp(10.0, 1.5, "wav")
    cmp = ENGINE.compare(track_fp(), short)
    assert cmp.similarity == 0.0 and cmp.details["reason"] == "target_too_short"
    assert ENGINE.confidence(cmp.similarity) == "none"
    # Shorter than one analysis window, one frame, a block and a half: no changes, no error.
    for samples in (500, 1024, 1024 + 256, 1024 + 2 * 256):
        tiny = ENGINE.fingerprint(AudioSignal(track_pcm()[:samples].copy()))
        assert len(tiny.changes) == 0 and ENGINE.compare(tiny, track_fp()).details["reason"] == "source_too_short"


def test_bytes_round_trip_and_size_budget() -> None:
    fp = track_fp()
    blob = ENGINE.to_bytes(fp)
    again = ENGINE.from_bytes(blob)
    assert again == fp
    assert np.array_equal(again.frames, fp.frames) and np.array_equal(again.freqs, fp.freqs)
    assert len(blob) <= 20_000  # per minute of audio: the track is 60 s
    query = clip_fp(23.37, 10.0)
    assert ENGINE.compare(query, again).details == ENGINE.compare(query, fp).details


def test_corrupt_fingerprint_bytes_raise_a_clear_error() -> None:
    from medialayer.errors import MediaLayerError

    with pytest.raises(MediaLayerError):
        ENGINE.from_bytes(b"MLA1garbage")


def test_fingerprint_and_compare_are_deterministic() -> None:
    data = encode(track_pcm()[: 20 * RATE], "mp3")
    a, b = ENGINE.fingerprint_bytes(data), ENGINE.fingerprint_bytes(data)
    assert ENGINE.to_bytes(a) == ENGINE.to_bytes(b)
    query = clip_fp(5.0, 6.0)
    assert ENGINE.compare(query, a) == ENGINE.compare(query, b)


def test_edges_reach_through_silence_aligned_with_silence_only() -> None:
    # A track that opens and closes on a second of silence: clips cut there have no peaks in it,
    # yet the whole clip is aligned (the segment is where the two recordings overlap).
    silence = np.zeros(RATE, dtype=np.float32)
    track = np.concatenate([silence, synth_music(20.0, seed=41), silence])
    target = ENGINE.fingerprint_bytes(encode(track, "flac"))
    for start, seconds in ((0.0, 6.0), (16.0, 6.0)):
        query = ENGINE.fingerprint_bytes(encode(track[int(start * RATE): int((start + seconds) * RATE)], "wav"))
        cmp = ENGINE.compare(query, target)
        best = min(cmp.segments, key=lambda s: abs(s.target_start - s.source_start - start))
        assert abs(best.source_start) <= 0.1 and abs(best.source_end - seconds) <= 0.1
        assert abs(best.target_start - start) <= 0.1
    # Silence against music is not aligned: a clip padded with silence matches from its first sound.
    pad = np.zeros(int(1.5 * RATE), dtype=np.float32)
    padded = ENGINE.fingerprint_bytes(encode(np.concatenate([pad, track[8 * RATE: 14 * RATE], pad]), "wav"))
    best = max(ENGINE.compare(padded, target).segments, key=lambda s: s.score)
    assert abs(best.source_start - 1.5) <= 0.2 and 6.5 <= best.source_end <= 7.7  # not into the padding
    assert abs(best.target_start - 8.0) <= 0.2
    # Nor is the padding against the track's silent opening when the track's music starts in
    # between (0.3 s before the clip's cut): the segment starts at the clip's first sound.
    padded = ENGINE.fingerprint_bytes(encode(np.concatenate([pad, track[int(1.3 * RATE): 7 * RATE]]), "wav"))
    best = max(ENGINE.compare(padded, target).segments, key=lambda s: s.score)
    assert abs(best.source_start - 1.5) <= 0.1 and abs(best.target_start - 1.3) <= 0.1


def test_a_first_or_last_peak_within_the_margin_lets_the_edge_reach_the_clips_cut() -> None:
    # A clip cut from music: its first peak 2 frames after its start, its last one 12 frames
    # before its end; the target has music on both sides. The margins excuse the target's peaks
    # there, so the run spans the whole clip (the windows they leave are empty).
    frames = np.arange(2, 301, 2, dtype=np.uint32)
    source = AudioFingerprint(frames=frames, freqs=np.full(len(frames), 400, np.uint16), duration_s=10.0)
    every = np.arange(0, 10000, dtype=np.uint32)
    target = AudioFingerprint(frames=every, freqs=np.full(len(every), 400, np.uint16), duration_s=400.0)
    (run,) = extend_edges([(40.0, 280.0, 1.0, 1000.0, 30)], source, target, 10.0 / FRAME_SECONDS)
    assert run.source_start == 0.0 and abs(run.source_end - 10.0) < 1e-6


def test_a_repeat_of_the_same_audio_does_not_stop_an_edge_but_a_neighbouring_run_does() -> None:

    frames = np.arange(0, 310, 2, dtype=np.uint32)
    source = AudioFingerprint(frames=frames, freqs=np.full(len(frames), 400, np.uint16), duration_s=10.0)
    target = AudioFingerprint(frames=np.array([0, 9000], np.uint32), freqs=np.array([400, 400], np.uint16),
                              duration_s=300.0)
    # (source start, source end, slope, intercept, votes) in frames: the true line, whose matches
    # start 40 frames in, and a loop's repeat of most of the same source time elsewhere in the target.
    true_run, repeat = (40.0, 300.0, 1.0, 1000.0, 30), (5.0, 250.0, 1.0, 2000.0, 20)
    extended = extend_edges([true_run, repeat], source, target, 10.0 / FRAME_SECONDS)
    assert extended[0].source_start == 0.0 and abs(extended[0].source_end - 10.0) < 1e-6
    # Two halves of the source matched in two places: neither edge reaches into the other half.
    first, second = (0.0, 150.0, 1.0, 1000.0, 30), (160.0, 300.0, 1.0, 5000.0, 30)
    a, b = extend_edges([first, second], source, target, 10.0 / FRAME_SECONDS)
    assert abs(a.source_end - 150.0 * FRAME_SECONDS) < 1e-6 and abs(b.source_start - 160.0 * FRAME_SECONDS) < 1e-6


def test_only_a_confident_line_at_its_lookups_own_scale_ends_the_search() -> None:
    # (votes, band shift, lookup scale, vote scale, offset): a clip 5 % faster also gathers a
    # confident count at the unit lookup's +0.5 % or +1 %, where that slope keeps in step in part.
    step = VOTE_SUBSCALES[-1] - VOTE_SUBSCALES[-2]
    assert _settled((CONFIDENT_VOTES, 0.0, 1.0, 1.0, 0.0))
    assert _settled((CONFIDENT_VOTES, 0.0, 1.05, 1.05, 0.0))
    assert not _settled((CONFIDENT_VOTES - 1, 0.0, 1.0, 1.0, 0.0))
    assert not _settled((CONFIDENT_VOTES * 3, 0.0, 1.0, 1.0 + step, 0.0))
    assert not _settled((CONFIDENT_VOTES * 3, 0.0, 0.975, 0.975 - 2 * step, 0.0))


@pytest.mark.parametrize("factor", [1.05, 0.95])
def test_a_long_sources_sampled_search_is_not_ended_by_a_chance_line(monkeypatch: pytest.MonkeyPatch,
                                                                     factor: float) -> None:
    # Long sources search with every stride-th landmark. A smaller sample makes this 40 s source
    # sample 1 in ~14, as a 3-minute track does; its chance lines then hold 6-11 sampled votes,
    # which, scaled up by the stride, had ended the search at the unshifted lookups.
    monkeypatch.setattr(alignment, "GRID_MAX_LANDMARKS", 500)
    start, seconds = 10.0, 40.0
    clip = track_pcm()[int(start * RATE) : int((start + seconds) * RATE)]
    faster = resample_linear(clip, RATE * factor, RATE)
    cmp = ENGINE.compare(ENGINE.fingerprint_bytes(encode(faster, "mp3")), track_fp())
    assert cmp.similarity >= 0.8, cmp.details
    assert abs(cmp.details["tempo_ratio"] - factor) <= 0.005 and abs(cmp.details["pitch_ratio"] - factor) <= 0.01
    (segment,) = cmp.segments
    assert abs(segment.target_start - start) <= 0.1 and segment.source_end >= seconds / factor - 2.0


@pytest.mark.parametrize("bpm", [126.0, 114.0])
def test_a_tempo_change_keeps_the_pitch_and_the_whole_clip(bpm: float) -> None:
    # The same notes played at another tempo (pitch kept): the segment spans the whole clip.
    factor, start, seconds = bpm / 120.0, 20.0, 10.0
    stretched = synth_music(60.0 / factor, seed=11, tempo_bpm=bpm)
    clip = stretched[int(start / factor * RATE) : int((start / factor + seconds) * RATE)]
    cmp = ENGINE.compare(ENGINE.fingerprint_bytes(encode(clip, "mp3")), track_fp())
    assert cmp.similarity >= 0.8
    assert abs(cmp.details["tempo_ratio"] - factor) <= 0.005 and abs(cmp.details["pitch_ratio"] - 1.0) <= 0.005
    (segment,) = cmp.segments
    assert segment.source_start <= 0.5 and segment.source_end >= seconds - 0.5
    assert abs(segment.target_start - start) <= 0.1


def test_a_verified_line_is_new_only_beside_the_traced_lines_not_across_them() -> None:
    # A 10 s clip's traced line at 5 % faster, starting 20 s in; lines at unit slope are verified.
    def run(slope: float, start_s: float) -> AlignedRun:
        return AlignedRun(source_start=0.0, source_end=10.0, target_start=start_s, target_end=start_s + 10.0 * slope,
                          votes=7, line=(slope, start_s / FRAME_SECONDS))

    traced = run(1.05, 20.0)
    assert same_line(run(1.0, 20.25), traced)  # the same occurrence at the wrong slope crosses it
    assert same_line(run(1.0, 19.95), traced)  # within 3 frames at the clip's start
    assert not same_line(run(1.0, 24.6), traced)  # a loop's next occurrence runs beside it
    assert not same_line(run(1.0, 19.8), traced)  # 6 frames before it and drifting away


def test_a_long_sources_runs_join_across_a_gap_and_reach_the_edges_only_where_the_peaks_agree() -> None:
    # A 40 s copy from 10 s into the track; its traced runs given in pieces, as a louder mix leaves them.
    start = 10.0
    copy = track_pcm()[int(start * RATE) : int((start + 40.0) * RATE)].copy()
    replaced = copy.copy()
    # Other music (another tempo: the same key and beat grid lines peaks up by chance) at 15-25 s and
    # 0-5 s. The runs below leave 0.5 s of true audio before the second, which alone lifts 0-5.5 s
    # to z 4.5-5.8: only its first half, at z ~0, keeps that edge where it is.
    replaced[int(15 * RATE) : int(25 * RATE)] = synth_music(10.0, seed=72, tempo_bpm=97.0)
    replaced[: int(5 * RATE)] = synth_music(5.0, seed=62, tempo_bpm=97.0)
    line = (1.0, start / FRAME_SECONDS)

    def piece(s0: float, s1: float) -> AlignedRun:
        return AlignedRun(source_start=s0, source_end=s1, target_start=s0 + start, target_end=s1 + start,
                          votes=40, line=line)

    pieces = [piece(5.5, 15.0), piece(25.0, 40.0)]
    target = track_fp()
    (whole,) = bridged(pieces, ENGINE.fingerprint_bytes(encode(copy, "mp3")), target, 0.0)
    assert whole.source_start <= 0.1 and whole.source_end >= 39.5 and whole.votes == 80
    assert abs(whole.target_start - whole.source_start - start) <= 0.05
    kept = bridged(pieces, ENGINE.fingerprint_bytes(encode(replaced, "mp3")), target, 0.0)
    assert [(r.source_start, r.source_end) for r in kept] == [(5.5, 15.0), (25.0, 40.0)]
