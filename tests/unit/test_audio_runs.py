"""The least-squares refinement of a traced line's time scale (``runs.fit_line``)."""

from __future__ import annotations

import numpy as np

from medialayer.media.audio.runs import fit_line


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
