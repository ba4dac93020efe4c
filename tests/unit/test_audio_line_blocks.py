"""Per-block evidence along a known line, and the segment edges it places."""

from __future__ import annotations

import numpy as np
import pytest

from medialayer.media.audio.fingerprint import AudioFingerprint
from medialayer.media.audio.line_blocks import line_blocks, placed
from medialayer.media.audio.runs import AlignedRun, overlap_run
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
    assert shrunk.target_start - shrunk.source_start == pytest.approx(START)
    assert kept.source_start <= 0.5 and kept.source_end >= SECONDS - 0.5


def test_a_stored_clip_places_its_edges_by_its_changes_alone() -> None:
    # Signs of one frame phase, no spectrogram: no presence, and changes on every other offset.
    stored = ENGINE.from_bytes(ENGINE.to_bytes(_clip(spliced=True)))
    blocks = line_blocks(stored, track_fp(), LINE[1] + 1.0)
    assert np.all(blocks.starts % 2 == 0)
    shrunk = placed(overlap_run(stored, track_fp(), *LINE, votes=0, z=9.0), stored, track_fp(), traced=False)
    assert shrunk.source_start <= 0.5 and abs(shrunk.source_end - SPLIT) <= 0.5
