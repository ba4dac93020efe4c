"""Check a candidate alignment peak by peak.

Landmark votes need all three peaks of a triplet to survive, so under heavy noise or a louder
mix they thin out as p**3. Single peaks survive as p: counting the source peaks that land on a
target peak along the candidate line, against the same count on deliberately wrong offsets nearby
(the background of this very music), gives a z-score that separates weak true matches from the
best chance line far better than votes alone (docs/benchmarks.md: noise 0 dB and mixed rows).
The same count over every offset at once (``offset_z``) finds lines too weak to be voted at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from medialayer.media.audio.peaks import FREQ_SUBSTEPS
from medialayer.media.audio.spectrogram import band_count

if TYPE_CHECKING:  # the fingerprint module imports changes, which imports top_offsets from here
    from medialayer.media.audio.fingerprint import AudioFingerprint

# Wrong offsets (frames) sampling the background: far enough to leave the true line's +-1 frame
# tolerance and any beat-synchronous echo of it, unequal so no single tempo lines them all up.
BACKGROUND_OFFSETS = (-251, -223, -197, -173, -151, -131, -113, -97, -83, -71, -59, -47, -37, -29,
                      29, 37, 47, 59, 71, 83, 97, 113, 131, 151, 173, 197, 223, 251)
# A source peak hits when a target peak lies within +-FRAME_TOLERANCE frames and within
# +-FREQ_TOLERANCE bands of its predicted (sub-band) frequency. 0.5 band replaced "the band the
# prediction rounds up or down to" (up to ~1.2 bands off): on a 20-track tuning run, scanning every
# offset, the highest z of ~900 unrelated pairs stayed 6.1 while true lines at z >= 7.5 went from
# 0.90 / 0.75 / 0.62 to 0.97 / 0.82 / 0.78 (white 0 dB / pink 0 dB / mixed -6 dB).
FRAME_TOLERANCE = 1
FREQ_TOLERANCE = 0.5
# Background spread floor: never below the binomial sqrt(mean), which a few offsets can underestimate,
# nor below 2 hits: chance hits cluster (shared notes of one key), and with the offset scan a sparse
# 43 s track met a 5 s clip with 11 hits against a background of 1.1 (z 9.2 at a floor of 1, a false
# match in 2668 full-run pairs; 4.9 at 2). The 20-track tuning clips lost no match at 2.
MIN_BACKGROUND_STD = 2.0
_TOL_STEPS = int(FREQ_TOLERANCE * FREQ_SUBSTEPS)
# Occupancy: one bit per frequency substep, _WORDS 64-bit words per frame (every band's substeps).
_WORDS = -(-band_count() * FREQ_SUBSTEPS // 64)
_ONE = np.uint64(1)


def _occupancy(fp: AudioFingerprint) -> np.ndarray:
    """Bits of ``fp``'s peaks, each set in its own frame and the FRAME_TOLERANCE frames beside it,
    ``_WORDS`` words per frame and one spare word (cached on ``fp``). A peak's tolerance window
    (8-9 substeps) then reads as at most two words instead of a binary search over sorted keys per
    peak and offset."""
    cached = fp.cache.get("occupancy")
    if cached is None:
        rows = (int(fp.frames[-1]) if len(fp) else 0) + FRAME_TOLERANCE + 1
        cached = np.zeros(rows * _WORDS + 1, dtype=np.uint64)
        frames, freqs = fp.frames.astype(np.int64), fp.freqs.astype(np.int64)
        for d in range(-FRAME_TOLERANCE, FRAME_TOLERANCE + 1):
            ok = frames + d >= 0
            np.bitwise_or.at(cached, (frames[ok] + d) * _WORDS + (freqs[ok] >> 6),
                             _ONE << (freqs[ok] & 63).astype(np.uint64))
        fp.cache["occupancy"] = cached
    return cached


def _occupied(words: np.ndarray, rows: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Whether any bit of substeps ``[lo, hi]`` is set in frame ``rows`` (broadcast)."""
    # Substeps past the bands are never set: clipping the window there keeps the reads in bounds.
    lo = np.clip(lo, 0, _WORDS * 64 - 1)
    hi = np.minimum(hi, _WORDS * 64 - 1)
    width = np.maximum(hi - lo + 1, 0).astype(np.uint64)
    shift = (lo & 63).astype(np.uint64)
    at = rows * _WORDS + (lo >> 6)
    # The window's bits from its first word and (shifted down past the first's end) the next.
    low = words[at] >> shift
    high = np.where(shift == 0, np.uint64(0), words[at + 1] << (np.uint64(64) - shift))
    return ((low | high) & ((_ONE << width) - _ONE)) != 0


def _z_scores(centre: np.ndarray, background: np.ndarray) -> np.ndarray:
    """z of hit counts ``centre`` against rows of background counts (NaN: offset not available)."""
    mean = np.nanmean(background, axis=1)
    std = np.maximum(np.maximum(np.nanstd(background, axis=1), MIN_BACKGROUND_STD), np.sqrt(mean))
    return (centre - mean) / std


def _span(source: AudioFingerprint, frames: tuple[float, float] | None) -> slice:
    """The source's peaks between source ``frames`` (all without): frames ascend, so a slice."""
    if frames is None:
        return slice(0, len(source))
    return slice(int(np.searchsorted(source.frames, frames[0], side="left")),
                 int(np.searchsorted(source.frames, frames[1], side="right")))


def _line_hits(source: AudioFingerprint, target: AudioFingerprint, slope: float, intercept_frames: float,
               band_shift: float, span: slice) -> np.ndarray:
    """Whether each source peak of ``span`` (a column) lands on a target peak along the line (row 0)
    and along each background offset of it (the other rows)."""
    t = slope * source.frames[span].astype(np.float64)
    f = source.freqs[span].astype(np.float64) + band_shift * FREQ_SUBSTEPS
    f_lo = np.ceil(f - _TOL_STEPS - 1e-6).astype(np.int64)
    f_hi = np.floor(f + _TOL_STEPS + 1e-6).astype(np.int64)
    # The line and its background offsets in one batch: a row per offset, a column per source peak.
    predicted = t[None, :] + (intercept_frames + np.array((0.0, *BACKGROUND_OFFSETS)))[:, None]
    last = int(target.frames[-1])
    inside = (predicted >= 0) & (predicted <= float(last))
    rows = np.clip(np.rint(predicted).astype(np.int64), 0, last)
    return _occupied(_occupancy(target), rows, f_lo, f_hi) & inside


def _line_z(counts: np.ndarray) -> tuple[float, int, float]:
    """(z-score, hits, background mean) of per-row hit counts (the line's first)."""
    hits, background = int(counts[0]), counts[None, 1:].astype(np.float64)
    return float(_z_scores(np.array([hits]), background)[0]), hits, float(background.mean())


def peak_overlap_z(source: AudioFingerprint, target: AudioFingerprint, slope: float, intercept_frames: float,
                   band_shift: float, frames: tuple[float, float] | None = None) -> tuple[float, int, float]:
    """(z-score, hits, background mean) of source peaks landing on target peaks along the line
    ``t_target = slope * t_source + intercept`` with bands shifted by ``band_shift``; with
    ``frames``, of the source's peaks between those source frames only."""
    return peak_overlap_zs(source, target, slope, intercept_frames, band_shift, [frames])[0]


def peak_overlap_zs(source: AudioFingerprint, target: AudioFingerprint, slope: float, intercept_frames: float,
                    band_shift: float, parts: list[tuple[float, float] | None]) -> list[tuple[float, int, float]]:
    """``peak_overlap_z`` of each of ``parts`` of the source, from one pass over the peaks they
    cover: a long source's gaps and edges check ~40 parts per compare, each part and its halves."""
    spans = [_span(source, frames) for frames in parts]
    first, stop = min(s.start for s in spans), max(s.stop for s in spans)
    if stop <= first or len(target) == 0:
        return [(0.0, 0, 0.0)] * len(spans)
    hits = _line_hits(source, target, slope, intercept_frames, band_shift, slice(first, stop))
    running = np.zeros((len(hits), stop - first + 1), dtype=np.int64)
    np.cumsum(hits, axis=1, out=running[:, 1:])
    return [_line_z(running[:, s.stop - first] - running[:, s.start - first]) if s.stop > s.start else (0.0, 0, 0.0)
            for s in spans]


def _by_freq(fp: AudioFingerprint) -> tuple[np.ndarray, np.ndarray]:
    cached = fp.cache.get("by_freq")
    if cached is None:
        order = np.argsort(fp.freqs, kind="stable")
        cached = fp.freqs[order].astype(np.int64), fp.frames[order].astype(np.int64)
        fp.cache["by_freq"] = cached
    return cached


def _offset_hits(source: AudioFingerprint, target: AudioFingerprint) -> tuple[np.ndarray, int]:
    """``(hits, base)``: ``hits[o + base]`` source peaks meet a target peak at whole-frame offset
    ``o``, unchanged pitch and tempo. A source peak with two target peaks in its tolerance counts
    twice (they would have to tie as local maxima)."""
    tf, tt = _by_freq(target)
    sf, st = source.freqs.astype(np.int64), source.frames.astype(np.int64)
    lo = np.searchsorted(tf, sf - _TOL_STEPS)
    n = np.searchsorted(tf, sf + _TOL_STEPS, side="right") - lo
    total = int(n.sum())
    pos = np.repeat(lo - np.cumsum(n) + n, n) + np.arange(total)
    base = int(st.max()) + FRAME_TOLERANCE
    off = tt[pos] - np.repeat(st, n) + base  # >= FRAME_TOLERANCE
    size = int(tt.max()) + base + FRAME_TOLERANCE + 1
    # A pair at offset o hits every offset within +-FRAME_TOLERANCE of o.
    hits = sum(np.bincount(off + d, minlength=size + 1)[:size].astype(np.float64)
               for d in range(-FRAME_TOLERANCE, FRAME_TOLERANCE + 1))
    return hits, base


def around(values: np.ndarray, shifts: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """``(len(values), len(shifts))`` rows of ``values[i + d]`` (NaN outside), and whether at least
    half of each row exists: the background of every offset at once."""
    pad = max(abs(d) for d in shifts)
    padded = np.full(len(values) + 2 * pad, np.nan)
    padded[pad : pad + len(values)] = values
    idx = np.arange(len(values)) + pad
    rows = np.stack([padded[idx + d] for d in shifts], axis=1)
    return rows, np.count_nonzero(~np.isnan(rows), axis=1) >= len(shifts) // 2


def offset_z(source: AudioFingerprint, target: AudioFingerprint) -> tuple[np.ndarray, np.ndarray]:
    """``(offsets, z)``: the statistic of ``peak_overlap_z`` at every whole-frame offset at unchanged
    pitch and tempo that keeps the source's peaks inside the target's, from one histogram.

    Under heavy noise or a louder mix too few triplets survive to vote the true offset into the
    candidates at all. Re-verify what it finds.
    """
    none = np.zeros(0), np.zeros(0)
    if len(source) == 0 or len(target) == 0:
        return none
    hits, base = _offset_hits(source, target)
    first = int(target.frames.min()) - int(source.frames.min()) + base
    last = int(target.frames.max()) - int(source.frames.max()) + base
    if last < first:
        return none
    # Background offsets outside [first, last] are NaN: partial overlaps would understate it.
    background, enough = around(hits[first : last + 1], BACKGROUND_OFFSETS)
    idx = np.arange(first, last + 1)[enough]
    return (idx - base).astype(np.float64), _z_scores(hits[idx], background[enough])


def top_offsets(offsets: np.ndarray, z: np.ndarray, k: int) -> list[tuple[float, float]]:
    """The ``k`` best ``(z, offset)``, each at least 3 frames from the ones before."""
    z = z.copy()
    out: list[tuple[float, float]] = []
    for _ in range(min(k, len(z))):
        best = int(np.argmax(z))
        if not np.isfinite(z[best]):
            break
        out.append((float(z[best]), float(offsets[best])))
        z[np.abs(offsets - offsets[best]) < 3] = -np.inf
    return out

