"""Tracing runs: the least-squares refinement of a line's time scale (``runs.fit_line``) and where
a run's edges stop (``runs.gap_limit``)."""

from __future__ import annotations

import numpy as np

from medialayer.media.audio.fingerprint import AudioFingerprint
from medialayer.media.audio.runs import WINDOW_FRAMES, fit_line, peel_runs
from medialayer.media.audio.spectrogram import FRAME_SECONDS
from medialayer.media.audio.voting import Matches


def matches_on(slope: float, intercept: float, span_frames: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Matches along ``t_target = slope * t_source + intercept`` over ``span_frames``, with the
    +-0.5 frame jitter of whole-frame peaks."""
    rng = np.random.default_rng(seed)
    tq = np.sort(rng.uniform(0, span_frames, 40))
    tq[0], tq[-1] = 0.0, float(span_frames)
    return tq, slope * tq + intercept + rng.uniform(-0.5, 0.5, len(tq))


def test_a_sped_up_clip_voted_a_grid_step_off_gets_its_scale() -> None:
    # A 5 s clip sped up 5 % whose lookup settled at 1.025: inliers over ~3.5 s only.
    tq, tt = matches_on(1.05, 300.0, span_frames=110)
    slope, intercept = fit_line(tq, tt, scale=1.025, offset=300.0)
    assert abs(slope - 1.05) < 0.005
    assert abs(intercept - 300.0) < 1.0  # frames: the start within ~32 ms


def test_a_unit_scale_line_needs_the_longer_span() -> None:
    # Noise moves a few matches; over 3.5 s that would tilt a line the lookups found at scale 1.
    tq, tt = matches_on(1.012, 300.0, span_frames=110)
    assert fit_line(tq, tt, scale=1.0, offset=300.0)[0] == 1.0
    tq, tt = matches_on(1.012, 300.0, span_frames=140)
    assert abs(fit_line(tq, tt, scale=1.0, offset=300.0)[0] - 1.012) < 0.005


def test_a_fit_far_from_the_voted_scale_is_not_trusted() -> None:
    tq, tt = matches_on(1.08, 300.0, span_frames=200)
    slope, intercept = fit_line(tq, tt, scale=1.025, offset=300.0)
    assert slope == 1.025
    assert abs(intercept - float(np.mean(tt - 1.025 * tq))) < 1e-9


TRACK = np.random.default_rng(7).integers(100, 2700, 2000).astype(np.uint16)  # a peak a frame


def _track() -> AudioFingerprint:
    frames = np.arange(len(TRACK), dtype=np.uint32)
    return AudioFingerprint(frames=frames, freqs=TRACK, duration_s=len(TRACK) * FRAME_SECONDS)


def _clip(frames: int, other_from: int | None = None) -> AudioFingerprint:
    """The track's frames from 500 on, or from ``other_from`` on other music's peaks."""
    freqs = TRACK[500 : 500 + frames].copy()
    if other_from is not None:
        freqs[other_from:] = np.random.default_rng(8).integers(100, 2700, frames - other_from)
    return AudioFingerprint(frames=np.arange(frames, dtype=np.uint32), freqs=freqs, duration_s=frames * FRAME_SECONDS)


def _on_line(anchors: np.ndarray, intercept: float) -> Matches:
    tq = anchors.astype(np.float64)
    return Matches(tq=tq, tt=tq + intercept, dq=np.full(len(tq), 10.0), fq=np.zeros(len(tq)), ft=np.zeros(len(tq)))


def test_a_dense_run_ends_where_its_matches_do_not_at_a_chance_match_beyond() -> None:
    # A clip whose first 200 frames (6.4 s) are the track, then other music: two chance matches on
    # the line 1.6 and 2.6 s later, and the other music's peaks, must not carry the segment on.
    anchors = np.concatenate([np.arange(0, 200, 2), [250, 280]])
    runs, _, _ = peel_runs(_on_line(anchors, 500.0), 1.0, _clip(313, other_from=200), _track(), 313.0)
    end = max(run.source_end for run in runs) / FRAME_SECONDS
    assert 198 + 10 <= end <= 198 + 10 + WINDOW_FRAMES + 1


def test_a_sparse_run_spans_the_gaps_its_rate_makes_likely() -> None:
    # Under heavy noise a copy keeps a match every ~1.5 s: one run over the whole clip.
    anchors = np.arange(0, 313, 48)
    runs, _, _ = peel_runs(_on_line(anchors, 500.0), 1.0, _clip(313), _track(), 313.0)
    assert len(runs) == 1
    assert runs[0].source_start == 0.0 and runs[0].source_end / FRAME_SECONDS >= 300


def test_an_edge_reaches_past_a_gap_where_the_peaks_agree() -> None:
    # A dense run whose matches stop 2 s before the clip's end, where the peaks still sit on the
    # line (triplets lost to noise): the edge reaches the end.
    runs, _, _ = peel_runs(_on_line(np.arange(0, 250, 2), 500.0), 1.0, _clip(313), _track(), 313.0)
    assert max(run.source_end for run in runs) / FRAME_SECONDS >= 312
