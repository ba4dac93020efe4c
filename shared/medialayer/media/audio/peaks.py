"""Log spectrogram to sparse, prominent local maxima: the landmarks' raw material."""

from __future__ import annotations

import numpy as np

from medialayer.media.audio.spectrogram import FLOOR_DB, band_bins

# Neighbourhood a peak must dominate (frames x bands, each side). +-3 bands = +-1/8 octave keeps
# neighbouring partials of a chord; +-4 frames (+-128 ms) keeps note onsets. Together with
# MAX_PEAKS_PER_FRAME they set the density measured in docs/benchmarks.md (peaks/s, bytes/min).
PEAK_HALF_FRAMES = 3
PEAK_HALF_BANDS = 2
# Background for prominence: a box of +-BG_HALF_FRAMES x +-BG_HALF_BANDS around the peak.
BG_HALF_FRAMES = 16
BG_HALF_BANDS = 12
# A peak must stand this far above its background (dB): flat noise rarely does, partials do.
MIN_PROMINENCE_DB = 6.0
# At most this many peaks per frame (the most prominent ones).
MAX_PEAKS_PER_FRAME = 5
# Peaks of a frame are ranked by prominence times (effective FFT bins of the band) ** this: noise in a
# 1-2 bin low band throws 6 dB spikes that a 20-bin high band averages away, so the same prominence
# is more likely a partial up high (docs/benchmarks.md: pink noise rows, where low bands drown).
# 0.15 and 0.5 gave the same gain on a 20-track tuning run (pink 0 dB 0.80 -> 0.825, mixed 0.60 ->
# 0.70); above 0.15 clean synthetic clips lose votes (tests/unit/test_audio_match.py), so 0.15.
# On the full run it was about neutral (pink 0 dB 0.774 -> 0.786, white 0 dB 0.923 -> 0.911).
BINS_EXPONENT = 0.15
# Sub-band precision stored for each peak: 1/8 band = 1/192 octave.
FREQ_SUBSTEPS = 8


def _sliding_max(a: np.ndarray, half: int, axis: int) -> np.ndarray:
    """Max over a window of +-half along ``axis`` (edges padded with -inf)."""
    out = a.copy()
    n = a.shape[axis]
    for k in range(1, half + 1):
        if k >= n:
            break
        lo = [slice(None)] * a.ndim
        hi = [slice(None)] * a.ndim
        lo[axis], hi[axis] = slice(0, n - k), slice(k, n)
        np.maximum(out[tuple(lo)], a[tuple(hi)], out=out[tuple(lo)])
        np.maximum(out[tuple(hi)], a[tuple(lo)], out=out[tuple(hi)])
    return out


def _box_sum(a: np.ndarray, half: int, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Sums over +-half along ``axis`` (shrinking at the edges) from a running sum, and the
    window lengths."""
    n = a.shape[axis]
    running = np.cumsum(a, axis=axis, dtype=np.float64)
    shape = list(running.shape)
    shape[axis] = 1
    running = np.concatenate([np.zeros(shape), running], axis=axis)
    hi = np.minimum(np.arange(n) + half + 1, n)
    lo = np.maximum(np.arange(n) - half, 0)
    return running.take(hi, axis=axis) - running.take(lo, axis=axis), hi - lo


def _box_mean(a: np.ndarray, half_t: int, half_f: int) -> np.ndarray:
    """Mean over a (2*half_t+1) x (2*half_f+1) box, shrinking at the edges. One axis after the
    other: a 2-D summed-area table gathered at four corners took twice as long."""
    over_t, n_t = _box_sum(a, half_t, 0)
    total, n_f = _box_sum(over_t, half_f, 1)
    return (total / (n_t[:, None] * n_f[None, :])).astype(np.float32)


def prominence(spec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(level, prominence)`` of a dB spectrogram: the level floored at FLOOR_DB, and how far each
    cell stands above its background box (BG_HALF_FRAMES x BG_HALF_BANDS)."""
    level = np.maximum(spec, FLOOR_DB)
    return level, level - _box_mean(level, BG_HALF_FRAMES, BG_HALF_BANDS)


def find_peaks(spec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Peaks of a ``(frames, bands)`` dB spectrogram as ``(frame, band * FREQ_SUBSTEPS)`` arrays,
    sorted by frame then band. Deterministic: ties break by position."""
    if spec.size == 0:
        return np.zeros(0, np.uint32), np.zeros(0, np.uint16)
    level, above = prominence(spec)
    local_max = _sliding_max(_sliding_max(level, PEAK_HALF_BANDS, 1), PEAK_HALF_FRAMES, 0)
    is_peak = (level >= local_max) & (above >= MIN_PROMINENCE_DB) & (spec > FLOOR_DB + 10.0)
    is_peak[:, 0] = is_peak[:, -1] = False  # need both neighbours for interpolation
    frames, bands = np.nonzero(is_peak)
    if len(frames) == 0:
        return np.zeros(0, np.uint32), np.zeros(0, np.uint16)
    score = above[frames, bands] * (band_bins() ** BINS_EXPONENT)[bands]
    # Keep the MAX_PEAKS_PER_FRAME most prominent of each frame.
    order = np.lexsort((bands, -score, frames))
    frames, bands, score = frames[order], bands[order], score[order]
    first = np.searchsorted(frames, frames, side="left")
    keep = (np.arange(len(frames)) - first) < MAX_PEAKS_PER_FRAME
    frames, bands = frames[keep], bands[keep]
    # Parabolic interpolation along frequency: sub-band positions make shifted lookups exact.
    a, b, c = level[frames, bands - 1], level[frames, bands], level[frames, bands + 1]
    denom = a - 2.0 * b + c
    delta = np.where(denom < 0, 0.5 * (a - c) / np.where(denom < 0, denom, -1.0), 0.0)
    fine = np.round((bands + np.clip(delta, -0.5, 0.5)) * FREQ_SUBSTEPS).astype(np.uint16)
    order = np.lexsort((fine, frames))
    return frames[order].astype(np.uint32), fine[order]
