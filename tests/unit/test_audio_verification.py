"""Peak-by-peak verification: the offset scan finds a weak line that triplet votes would miss."""

from __future__ import annotations

import numpy as np

from medialayer.media.audio.fingerprint import AudioFingerprint
from medialayer.media.audio.peaks import FREQ_SUBSTEPS
from medialayer.media.audio.spectrogram import band_count
from medialayer.media.audio.verification import (
    FRAME_TOLERANCE,
    FREQ_TOLERANCE,
    offset_z,
    peak_overlap_z,
    peak_overlap_zs,
    top_offsets,
)


def _fp(frames: np.ndarray, freqs: np.ndarray) -> AudioFingerprint:
    order = np.lexsort((freqs, frames))
    return AudioFingerprint(frames=frames[order].astype(np.uint32), freqs=freqs[order].astype(np.uint16),
                            duration_s=float(frames.max()) * 0.032 + 0.1)


def test_scan_finds_a_clip_whose_peaks_mostly_drowned() -> None:
    rng = np.random.default_rng(3)
    n, offset = 6000, 2345
    target = _fp(rng.integers(0, 9000, n), rng.integers(16, 900, n))
    inside = (target.frames >= offset) & (target.frames < offset + 300)
    kept = inside & (rng.random(n) < 0.3)  # 30 % of the clip's peaks survive ...
    noise = 300  # ... among as many new ones as the clip had
    source = _fp(np.concatenate([target.frames[kept] - offset, rng.integers(0, 300, noise)]),
                 np.concatenate([target.freqs[kept], rng.integers(16, 900, noise)]))
    z, found = top_offsets(*offset_z(source, target), 3)[0]
    assert abs(found - offset) <= 1
    assert z >= 7.5
    assert abs(peak_overlap_z(source, target, 1.0, found, 0.0)[0] - z) < 1.0


def test_scan_of_unrelated_peaks_stays_below_the_operating_point() -> None:
    rng = np.random.default_rng(4)
    target = _fp(rng.integers(0, 9000, 6000), rng.integers(16, 900, 6000))
    source = _fp(rng.integers(0, 300, 250), rng.integers(16, 900, 250))
    assert top_offsets(*offset_z(source, target), 1)[0][0] < 7.5


def _hits_by_definition(source: AudioFingerprint, target: AudioFingerprint, slope: float, intercept: float,
                        band_shift: float) -> int:
    """Source peaks with a target peak within FRAME_TOLERANCE frames of the rounded predicted frame
    and FREQ_TOLERANCE bands of the predicted frequency, one peak at a time."""
    hits = 0
    for frame, freq in zip(source.frames.astype(float), source.freqs.astype(float), strict=True):
        t = slope * frame + intercept
        if not 0 <= t <= float(target.frames[-1]):
            continue
        f = freq + band_shift * FREQ_SUBSTEPS
        near = (np.abs(target.frames.astype(float) - np.rint(t)) <= FRAME_TOLERANCE) & (
            np.abs(target.freqs.astype(float) - f) <= FREQ_TOLERANCE * FREQ_SUBSTEPS + 1e-6)
        hits += bool(near.any())
    return hits


def test_line_hits_are_the_peaks_that_land_within_tolerance() -> None:
    # Peaks up to the top band and down to the first, so windows meet both ends of the bit rows.
    rng = np.random.default_rng(5)
    top = band_count() * FREQ_SUBSTEPS - 1
    target = _fp(rng.integers(0, 400, 3000), rng.integers(0, top + 1, 3000))
    copy = (rng.random(len(target)) < 0.5) & (target.frames >= 8)  # source frames from 0 up
    source = _fp(np.rint((target.frames[copy] - 7.3) / 1.02).astype(np.int64), target.freqs[copy].astype(np.int64))
    for slope, intercept, band_shift in ((1.02, 7.3, 0.0), (1.0, 3.5, 0.5), (0.97, -2.25, -1.37), (1.0, 0.0, 2.0)):
        assert peak_overlap_z(source, target, slope, intercept, band_shift)[1] == _hits_by_definition(
            source, target, slope, intercept, band_shift)


def test_parts_checked_in_one_pass_score_as_each_alone() -> None:
    rng = np.random.default_rng(6)
    target = _fp(rng.integers(0, 600, 4000), rng.integers(16, 900, 4000))
    source = _fp(target.frames[:1500].astype(np.int64) + 40, target.freqs[:1500].astype(np.int64))
    parts = [(60.0, 300.0), (60.0, 180.0), (180.0, 300.0), (700.0, 710.0), None]
    together = peak_overlap_zs(source, target, 1.0, -40.0, 0.0, parts)
    alone = [peak_overlap_z(source, target, 1.0, -40.0, 0.0, part) for part in parts[:-1]]
    alone.append(peak_overlap_z(source, target, 1.0, -40.0, 0.0))
    assert together == alone
    assert together[3] == (0.0, 0, 0.0)  # no source peak there
    for (a, b), (_, hits, _) in zip(parts[:3], together, strict=False):
        inside = (source.frames >= a) & (source.frames <= b)
        part = _fp(source.frames[inside].astype(np.int64), source.freqs[inside].astype(np.int64))
        assert hits == _hits_by_definition(part, target, 1.0, -40.0, 0.0) > 0
