"""Per-block evidence along a known line, and the segment edges it places."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from medialayer.media.audio.alignment import (
    UNIT_SLOPE_REACH,
    Alignment,
    _confident_clip_runs,
    _on_unit_line,
    _without_traced_runs,
)
from medialayer.media.audio.fingerprint import AudioFingerprint
from medialayer.media.audio.line_blocks import (
    ABRUPT_PART_S,
    ABRUPT_WINDOW_S,
    OTHER_MUSIC_S,
    QUIET_DB,
    TAIL_RATIO,
    _belongs,
    _in_blocks,
    _other_music,
    _without_other_music,
    line_blocks,
    placed,
)
from medialayer.media.audio.runs import INLIER_FRAMES, AlignedRun, overlap_run, spanning
from medialayer.media.audio.spectrogram import FRAME_SECONDS
from tests.unit._audio_fixtures import RATE, encode, synth_music, with_white_noise
from tests.unit.test_audio_match import ENGINE, track_fp, track_pcm

START, SECONDS, SPLIT = 20.0, 10.0, 4.0
LINE = (1.0, START / FRAME_SECONDS)


def _clip(spliced: bool, snr_db: float | None = None) -> AudioFingerprint:
    """10 s of the track from START, or its first SPLIT s followed by other music as loud."""
    pcm = track_pcm()[int(START * RATE) : int((START + SECONDS) * RATE)].copy()
    if spliced:
        other = synth_music(SECONDS - SPLIT, seed=5, tempo_bpm=113)
        own = pcm[: int(SPLIT * RATE)]
        pcm[int(SPLIT * RATE) :] = other[: len(pcm) - int(SPLIT * RATE)] * np.sqrt(np.mean(own**2) / np.mean(other**2))
    if snr_db is not None:
        pcm = with_white_noise(pcm, snr_db)
    return ENGINE.fingerprint_bytes(encode(pcm.astype(np.float32), "mp3"))


def _clip_going_on(under_db: float, other_music: bool, snr_db: float | None = None) -> AudioFingerprint:
    """10 s of the track from START, ``under_db`` quieter after SPLIT, and there under other music as
    loud as the track's first SPLIT s (``other_music``)."""
    pcm = track_pcm()[int(START * RATE) : int((START + SECONDS) * RATE)].copy()
    cut = int(SPLIT * RATE)
    level = np.sqrt(np.mean(pcm[:cut] ** 2))
    pcm[cut:] *= 10 ** (-under_db / 20)
    if other_music:
        other = synth_music(SECONDS - SPLIT, seed=5, tempo_bpm=113)[: len(pcm) - cut]
        pcm[cut:] += other * level / np.sqrt(np.mean(other**2))
    if snr_db is not None:
        noise = np.random.default_rng(5).standard_normal(len(pcm)) * level * 10 ** (-snr_db / 20)
        pcm = pcm + noise.astype(np.float32)
    return ENGINE.fingerprint_bytes(encode(pcm.astype(np.float32), "mp3"))


def _traced(seconds: float) -> AlignedRun:
    return AlignedRun(source_start=0.0, source_end=seconds, target_start=START, target_end=START + seconds,
                      votes=8, z=9.0, line=LINE)


def test_blocks_of_the_copy_score_high_and_blocks_of_other_music_about_zero() -> None:
    blocks = line_blocks(_clip(spliced=True, snr_db=0.0), track_fp(), LINE[1])
    seconds = blocks.starts * FRAME_SECONDS
    copy, other = blocks.scores[seconds + 0.13 < SPLIT], blocks.scores[seconds > SPLIT]
    assert np.nanmean(copy) > 1.0
    assert abs(np.nanmean(other)) < 0.5


def test_a_partly_traced_run_reaches_over_the_rest_of_the_copy_and_no_further() -> None:
    reached = placed(_traced(2.0), _clip(spliced=False), track_fp(), traced=True)
    kept = placed(_traced(2.0), _clip(spliced=True), track_fp(), traced=True)
    assert reached.source_start == 0.0 and reached.source_end >= SECONDS - 0.5
    assert reached.target_end - reached.source_end == pytest.approx(START)
    assert abs(kept.source_end - SPLIT) <= 0.5


@pytest.mark.parametrize("snr_db", [None, 0.0])
def test_an_untraced_line_shrinks_to_the_copy_and_a_whole_copy_keeps_its_overlap(snr_db: float | None) -> None:
    spliced, whole = _clip(spliced=True, snr_db=snr_db), _clip(spliced=False, snr_db=snr_db)
    shrunk = placed(overlap_run(spliced, track_fp(), *LINE, votes=0, z=9.0), spliced, track_fp(), traced=False)
    kept = placed(overlap_run(whole, track_fp(), *LINE, votes=0, z=9.0), whole, track_fp(), traced=False)
    assert shrunk.source_start <= 0.5 and abs(shrunk.source_end - SPLIT) <= 0.5
    # Within a frame: an untraced line goes where its blocks are strongest (the fixture's clip sits
    # between two frames of the track: its blocks score about as well on both).
    assert abs(shrunk.target_start - shrunk.source_start - START) <= FRAME_SECONDS + 1e-6
    assert kept.source_start <= 0.5 and kept.source_end >= SECONDS - 0.5


def test_a_stored_clip_places_its_edges_by_its_changes_alone() -> None:
    # Signs of one frame phase, no spectrogram: no presence, and changes on every other offset.
    stored = ENGINE.from_bytes(ENGINE.to_bytes(_clip(spliced=True)))
    blocks = line_blocks(stored, track_fp(), LINE[1] + 1.0)
    assert np.all(blocks.starts % 2 == 0)
    shrunk = placed(overlap_run(stored, track_fp(), *LINE, votes=0, z=9.0), stored, track_fp(), traced=False)
    assert shrunk.source_start <= 0.5 and abs(shrunk.source_end - SPLIT) <= 0.5


def test_blocks_beyond_belong_when_quieter_than_the_copy_or_scoring_like_it() -> None:
    copy, beyond = slice(0, 40), slice(40, 120)
    scores = np.r_[np.full(40, 4.0), np.full(80, 0.4)]  # beyond: weak, but past TAIL_MEAN and TAIL_Z
    loud, quiet = np.zeros(120), np.r_[np.zeros(40), np.full(80, -QUIET_DB - 1.0)]
    assert _belongs(scores, None, beyond, copy)  # a stored source: no levels to tell a fade by
    assert _belongs(scores, quiet, beyond, copy)
    assert not _belongs(scores, loud, beyond, copy)
    scores[beyond] = TAIL_RATIO * 4.0 + 0.01
    assert _belongs(scores, loud, beyond, copy)


def test_loud_other_music_leaning_the_lines_way_is_not_the_copy() -> None:
    # The track goes on 34 dB under other music as loud as the copy: its blocks lean the line's way
    # (~0.4, as a fade under noise does), but at the copy's loudness the copy scored ~3.4.
    kept = placed(_traced(2.0), _clip_going_on(34.0, other_music=True), track_fp(), traced=True)
    assert abs(kept.source_end - SPLIT) <= 0.5


def test_a_copy_fading_under_noise_keeps_its_tail_unless_the_run_is_confident() -> None:
    faded = _clip_going_on(25.0, other_music=False, snr_db=0.0)
    kept = placed(_traced(2.0), faded, track_fp(), traced=True)
    reached = placed(_traced(2.0), faded, track_fp(), traced=True, confident=True)
    assert kept.source_end >= SECONDS - 0.5
    assert abs(reached.source_end - SPLIT) <= 0.5


def test_a_confident_clips_best_line_only_reaches_and_other_lines_stay() -> None:
    faded = _clip_going_on(25.0, other_music=False, snr_db=0.0)
    elsewhere = replace(_traced(2.0), line=(1.0, LINE[1] + 40.0))
    reached, other = _confident_clip_runs([_traced(2.0), elsewhere], 0.0, LINE, _clip(spliced=False), track_fp())
    stopped, = _confident_clip_runs([_traced(2.0)], 0.0, LINE, faded, track_fp())
    shifted, = _confident_clip_runs([_traced(2.0)], 1.0, LINE, faded, track_fp())
    assert reached.source_end >= SECONDS - 0.5
    assert other == elsewhere
    assert abs(stopped.source_end - SPLIT) <= 0.5  # blocks beyond that only lean its way stay out
    assert shifted == _traced(2.0)


@pytest.mark.parametrize("confident", [False, True])
def test_a_run_traced_on_into_other_music_gives_it_back(confident: bool) -> None:
    # A few chance triplets of the other music on the line carried the run over the whole clip.
    cut = placed(_traced(SECONDS), _clip(spliced=True), track_fp(), traced=True, confident=confident)
    assert cut.source_start == 0.0 and abs(cut.source_end - SPLIT) <= 0.5


def test_a_traced_whole_copy_keeps_its_faded_tail_and_a_stored_clip_its_traced_edges() -> None:
    faded = _clip_going_on(25.0, other_music=False, snr_db=0.0)
    stored = ENGINE.from_bytes(ENGINE.to_bytes(_clip(spliced=True)))
    assert placed(_traced(SECONDS), faded, track_fp(), traced=True).source_end >= SECONDS - 0.5
    assert placed(_traced(SECONDS), stored, track_fp(), traced=True).source_end == SECONDS


def test_only_a_long_loud_part_beside_a_long_stretch_is_other_music() -> None:
    least = int(np.ceil(_in_blocks(OTHER_MUSIC_S)))
    n = 2 * least
    stretch, part = slice(0, least), slice(least, n)
    scores, loud = np.r_[np.full(least, 3.0), np.zeros(least)], np.zeros(n)
    quiet = np.r_[np.zeros(least), np.full(least, -QUIET_DB - 1.0)]
    assert _other_music(scores, loud, part, stretch)
    assert not _other_music(scores, loud, slice(least + 1, n), stretch)  # the part is too short
    assert not _other_music(scores, loud, part, slice(1, least))  # the stretch is too short
    assert not _other_music(scores, quiet, part, stretch)  # a fade
    assert not _other_music(scores, None, part, stretch)  # a stored source
    scores[part] = TAIL_RATIO * 3.0 + 0.05  # weak, but scoring like the copy (TAIL_RATIO)
    assert not _other_music(scores, loud, part, stretch)


def test_a_traced_span_gives_back_other_music_past_a_weaker_stretch_of_the_copy() -> None:
    least = int(np.ceil(_in_blocks(OTHER_MUSIC_S)))
    # The copy scores 2.0, goes on at 0.9 (under PLACE_EXCESS), then other music at 0. All beyond the
    # strongest stretch belongs on the whole (mean 0.45); past the weaker copy it is other music.
    scores = np.r_[np.full(least, 2.0), np.full(least, 0.9), np.zeros(least)]
    loud = np.zeros(len(scores))
    assert _without_other_music(scores, loud, 0, len(scores) - 1) == (0, 2 * least - 1)
    mirrored = scores[::-1].copy()
    assert _without_other_music(mirrored, loud, 0, len(scores) - 1) == (least, len(scores) - 1)
    assert _without_other_music(scores, None, 0, len(scores) - 1) == (0, len(scores) - 1)


def _opening_other(seconds: float) -> AudioFingerprint:
    """``seconds`` of other music as loud as the track, then the track from START + ``seconds``."""
    pcm = track_pcm()[int(START * RATE) : int((START + SECONDS) * RATE)].copy()
    cut = int(seconds * RATE)
    other = synth_music(seconds, seed=5, tempo_bpm=97)[:cut]
    pcm[:cut] = other * np.sqrt(np.mean(pcm[cut:] ** 2) / np.mean(other**2))
    return ENGINE.fingerprint_bytes(encode(pcm.astype(np.float32), "mp3"))


@pytest.mark.parametrize("confident", [False, True])
def test_a_run_traced_back_over_a_second_of_other_music_gives_it_back(confident: bool) -> None:
    # Shorter than OTHER_MUSIC_S, but the copy starts at full strength where the other music ends.
    clip = _opening_other(1.0)
    cut = placed(_traced(SECONDS), clip, track_fp(), traced=True, confident=confident)
    assert abs(cut.source_start - 1.0) <= 0.25 and cut.source_end == SECONDS


def test_a_short_part_is_given_back_only_where_a_strong_copy_meets_it_at_full_strength() -> None:
    window = round(_in_blocks(ABRUPT_WINDOW_S))
    least = int(np.ceil(_in_blocks(OTHER_MUSIC_S)))
    short = int(np.ceil(_in_blocks(ABRUPT_PART_S)))

    def cut(part: int, copy: np.ndarray, levels: bool = True) -> tuple[int, int]:
        scores = np.r_[np.zeros(part), copy]
        return _without_other_music(scores, np.zeros(len(scores)) if levels else None, 0, len(scores) - 1)

    strong = np.full(least, 4.0)
    assert cut(short, strong) == (short, short + least - 1)
    mirrored = np.r_[strong, np.zeros(short)]
    assert _without_other_music(mirrored, np.zeros(len(mirrored)), 0, len(mirrored) - 1) == (0, least - 1)
    assert cut(short - 1, strong) == (0, short - 2 + least)  # too short a part
    assert cut(short, np.full(least, 1.8)) == (0, short + least - 1)  # too weak a copy
    assert cut(short, np.full(least, 2.2)) == (0, short + least - 1)  # too little short of it
    assert cut(short, np.full(least - 1, 4.0)) == (0, short + least - 2)  # too short a stretch
    fading_in = np.r_[np.full(window, 1.5), np.full(least, 4.0)]  # weaker where it meets the part
    assert cut(short, fading_in) == (0, short + window + least - 1)
    assert cut(short, strong, levels=False) == (0, short + least - 1)  # a stored source


def test_an_untraced_line_stops_where_loud_music_only_leans_its_way() -> None:
    # The track goes on 34 dB under other music as loud as the copy: on the whole its blocks beyond
    # pass (TAIL_MEAN, TAIL_Z), but as loud as the copy they score far less than it.
    going_on = _clip_going_on(34.0, other_music=True)
    kept = placed(overlap_run(going_on, track_fp(), *LINE, votes=0, z=9.0), going_on, track_fp(), traced=False)
    assert kept.source_start <= 0.5 and abs(kept.source_end - SPLIT) <= 0.5


def _tilted(seconds: float, slope: float) -> AlignedRun:
    """The first ``seconds`` of the copy, traced at ``slope`` through their true middle."""
    middle = seconds / 2.0 / FRAME_SECONDS
    line = (slope, LINE[1] + (1.0 - slope) * middle)
    return spanning(replace(_traced(seconds), line=line), 0.0, seconds / FRAME_SECONDS)


def test_a_short_run_traced_slightly_off_the_unit_slope_is_put_on_the_unit_line() -> None:
    unit = _on_unit_line(_tilted(2.0, 0.99), band_shift=0.0)
    assert unit is not None and unit.line == pytest.approx(LINE)
    assert (unit.source_start, unit.source_end) == (0.0, 2.0)
    # Over 8 s the same slope drifts 2.5 frames from the unit line: the triplets can tell them apart.
    assert abs(0.01 * 8.0 / FRAME_SECONDS) > INLIER_FRAMES and _on_unit_line(_tilted(8.0, 0.99), 0.0) is None
    assert _on_unit_line(_tilted(1.0, 1.0 - 1.5 * UNIT_SLOPE_REACH), 0.0) is None  # a tempo change's short run
    assert _on_unit_line(_tilted(2.0, 0.99), band_shift=0.5) is None  # a pitch shift
    near = _tilted(8.0, 1.004)
    assert _on_unit_line(near, 0.0) == near  # within a frame over a 10 s clip: its own line


def test_a_confident_run_traced_slightly_off_the_unit_slope_reaches_over_the_copy() -> None:
    tilted = _tilted(2.0, 0.99)
    reached, = _confident_clip_runs([tilted], 0.0, tilted.line, _clip(spliced=False), track_fp())
    assert reached.source_start == 0.0 and reached.source_end >= SECONDS - 0.5
    assert reached.target_end - reached.source_end == pytest.approx(START)


@pytest.mark.parametrize("start", [-1.0, 2.0])
def test_an_untraced_line_off_the_copy_moves_a_frame_toward_it(start: float) -> None:
    whole = _clip(spliced=False, snr_db=0.0)
    off = overlap_run(whole, track_fp(), 1.0, LINE[1] + start, votes=0, z=9.0)
    kept = placed(off, whole, track_fp(), traced=False)
    assert abs(kept.line[1] - (LINE[1] + start)) == 1.0
    assert abs(kept.line[1] - LINE[1]) < abs(start)
    assert kept.source_start <= 0.5 and kept.source_end >= SECONDS - 0.5


def test_an_untraced_results_offset_is_its_best_line_as_placed() -> None:
    whole = _clip(spliced=False, snr_db=0.0)
    moved = placed(overlap_run(whole, track_fp(), 1.0, LINE[1] + 2.0, votes=0, z=9.0), whole, track_fp(), traced=False)
    verified_at = (3, 0.0, 1.0, 1.0, LINE[1] + 2.0)  # (votes, shift, lookup scale, vote scale, offset)
    result = _without_traced_runs(Alignment(), 3, 9.0, verified_at, [moved])
    assert result.offset_s == pytest.approx(moved.line[1] * FRAME_SECONDS) and moved.line[1] != verified_at[4]
