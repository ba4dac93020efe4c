"""Band-energy changes: a dense companion to the sparse peaks for the heaviest noise and mixes.

Each peak must survive on its own, and under 0 dB noise or 6 dB under a louder track most do not.
Whether a band's energy rises or falls from one 64 ms block to the next, relative to the block's
overall change, is decided by every partial in the band at once and survives far more of either.
A clip's changes correlated with a track's at every offset, against that pair's own spread over
all offsets (median and MAD: music repeats, so the spread is the pair's, not a model's) and against
the wrong offsets around each one, find lines whose peaks are too few to tell (docs/benchmarks.md,
"Audio match": dense changes).

A stored fingerprint keeps one sign bit per band and block (~14 kB per minute). A fresh one also
keeps the real values, at both frame phases, so a fresh query scans every whole-frame offset, and
the same values weighted by how far the music stands above the clip's steady noise floor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from medialayer.media.audio.spectrogram import band_power
from medialayer.media.audio.verification import top_offsets

if TYPE_CHECKING:  # the fingerprint stores these changes
    from medialayer.media.audio.fingerprint import AudioFingerprint

# Frames per block: 64 ms blocks beat 128 and 256 ms (onsets blur) on a 40-track tuning run
# (docs/benchmarks.md, "Audio match").
BLOCK_FRAMES = 2
# A fresh clip's changes are also scanned weighted by the share of both their blocks' power above the
# band's steady floor (this percentile of its blocks): under steady noise the blocks where the music
# is loud carry the evidence, the rest only add noise. The higher z of the two scans counts; a mix
# under louder music has no steady floor, and weighting alone lost some of those. On a 40-track tuning
# run (changes' z >= 6 on the true line): white 0 dB 0.938 -> 0.988, pink 0 dB 0.825 -> 0.887, the
# rest unchanged, the highest of 1175 unrelated pairs 5.44 both ways (docs/benchmarks.md).
NOISE_FLOOR_PERCENTILE = 20.0
# The floor is read from evenly spaced blocks, at most this many (a steady floor needs no more).
FLOOR_BLOCKS = 512
# Wrong offsets (frames) each line's changes are weighed against: every prime from 29 to 251 on either
# side (90; unequal gaps, so no single tempo lines them all up), beyond the true line's echo. The
# peak z's 28 (verification.BACKGROUND_OFFSETS) left the spread of the background a rough estimate,
# and the z of a weak true line often fell with it: on the 40-track tuning run (changes' z >= 6 on
# the true line) pink 0 dB 0.887 -> 0.912, mixed 0.775 -> 0.812, white 0 dB 0.988 both ways, and
# the three highest of 1175 unrelated pairs stayed 5.30, 5.36, 5.44 (they are held down by the
# median and MAD over every offset). The peak z kept its 28: 90 raised its unrelated high.
LOCAL_OFFSETS = tuple(sorted(s * p for p in range(29, 252) if all(p % k for k in range(2, int(p**0.5) + 1))
                             for s in (-1, 1)))
# Below this many scanned offsets the median and MAD of the background are not worth trusting.
MIN_SCAN_OFFSETS = 200
MAD_TO_STD = 1.4826
# Overlap-save chunks (blocks) of a scan: the next power of two at least this many times the query,
# and at least MIN_CHUNK_BLOCKS. Larger chunks waste less of each transform on the query's overlap,
# smaller ones cost less each; from 2 to 8 times a clip's scan against 5 minutes costs about the
# same, at 1 or 16 about twice as much.
CHUNK_PER_QUERY = 4
MIN_CHUNK_BLOCKS = 64


def band_changes(spec: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``(plain, weighted)``, each ``(blocks - 1, bands)`` float32 for blocks starting at frame 0
    and at frame 1: each band's log-energy change from one block to the next, minus the block's mean
    change (volume and broadband swells cancel), and the same weighted (NOISE_FLOOR_PERCENTILE).
    Power is computed once for both phases, the floor once from up to FLOOR_BLOCKS blocks."""
    power = band_power(spec)
    blocks = [_blocks(power, phase) for phase in range(BLOCK_FRAMES)]
    if len(blocks[0]) < 2:
        empty = [np.zeros((0, power.shape[1]), dtype=np.float32)] * BLOCK_FRAMES
        return empty, empty
    step = -(-len(blocks[0]) // FLOOR_BLOCKS)
    floor = np.percentile(blocks[0][::step], NOISE_FLOOR_PERCENTILE, axis=0)
    phases = [_phase_changes(b, floor) for b in blocks]
    return [p[0] for p in phases], [p[1] for p in phases]


def _blocks(power: np.ndarray, phase: int) -> np.ndarray:
    n = (len(power) - phase) // BLOCK_FRAMES
    # The band count spelled out: with no whole block, -1 cannot be inferred from an empty array.
    return power[phase : phase + n * BLOCK_FRAMES].reshape(n, BLOCK_FRAMES, power.shape[1]).sum(axis=1)


def _phase_changes(blocks: np.ndarray, floor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(blocks) < 2:
        empty = np.zeros((0, blocks.shape[1]), dtype=np.float32)
        return empty, empty
    change = np.diff(np.log10(blocks), axis=0)
    change -= change.mean(axis=1, keepdims=True)
    above = np.clip(1.0 - floor / blocks, 0.0, 1.0).astype(np.float32)
    change = change.astype(np.float32)
    return change, change * np.sqrt(above[1:] * above[:-1])


def pack_signs(changes: np.ndarray) -> bytes:
    """One bit per value: set where it rose above the block's mean change."""
    return np.packbits(changes > 0, axis=1).tobytes()


def unpack_signs(raw: bytes, blocks: int, bands: int) -> np.ndarray:
    """``pack_signs`` back to +-1 float32 values."""
    width = -(-bands // 8)
    bits = np.unpackbits(np.frombuffer(raw, np.uint8, count=blocks * width).reshape(blocks, width), axis=1)
    return bits[:, :bands].astype(np.float32) * 2.0 - 1.0


@dataclass(frozen=True)
class _Transform:
    """A reference's changes transformed once for queries of up to ``longest`` blocks, in chunks of
    ``size`` blocks that start ``hop`` apart (overlap-save): a query pays for transforms of its own
    scale, not of the whole reference. A search candidate's screen, one such scan and a peak scan,
    fell from 26-34 to 13-18 ms (``bench/audio_candidates.py``; docs/benchmarks.md, "Audio match")."""

    spectra: np.ndarray  # (chunks, bands, size // 2 + 1)
    size: int
    hop: int
    energy: np.ndarray  # running sum of the reference's squared changes, from 0


def _transform(reference: np.ndarray, longest: int, shortest: int) -> _Transform:
    m, bands = reference.shape
    whole = 1 << (longest + m - 1).bit_length()  # one chunk holding every offset
    size = min(whole, max(MIN_CHUNK_BLOCKS, 1 << (CHUNK_PER_QUERY * longest - 1).bit_length()))
    hop = size - longest + 1  # offsets per chunk that no query's circular wrap reaches
    chunks = -(-(m - shortest + 1) // hop)
    padded = np.zeros(((chunks - 1) * hop + size, bands), dtype=reference.dtype)
    padded[:m] = reference
    windows = np.lib.stride_tricks.sliding_window_view(padded, size, axis=0)[::hop]
    energy = np.concatenate(([0.0], np.cumsum(np.sum(reference.astype(np.float64) ** 2, axis=1))))
    return _Transform(spectra=np.fft.rfft(windows, axis=2), size=size, hop=hop, energy=energy)


def correlations(query: np.ndarray, reference: np.ndarray, transform: _Transform | None = None) -> np.ndarray:
    """Normalised correlation of ``query`` with ``reference[j : j + len(query)]`` for every j;
    ``transform``: the reference's, for queries at least this long, when already made."""
    n, m = len(query), len(reference)
    if transform is None:
        transform = _transform(reference, n, n)
    spectrum = np.conj(np.fft.rfft(query, transform.size, axis=0)).T  # (bands, size // 2 + 1)
    per_chunk = np.fft.irfft((spectrum * transform.spectra).sum(axis=1), transform.size, axis=1)
    dot = per_chunk[:, : transform.hop].reshape(-1)[: m - n + 1]
    window = transform.energy[n:] - transform.energy[: m - n + 1]
    norm = np.sqrt(window * float(np.sum(query.astype(np.float64) ** 2)))
    return np.divide(dot, norm, out=np.zeros_like(dot), where=norm > 0)


@dataclass(frozen=True)
class OffsetScan:
    """z of a scan's correlations at offsets ``first + step * i`` (frames; -inf where unknown)."""

    first: int
    step: int
    z: np.ndarray

    def z_near(self, offsets: np.ndarray) -> np.ndarray:
        """Best z within one scanned offset of each of ``offsets`` (-inf outside the scan)."""
        i = np.rint((np.asarray(offsets, dtype=np.float64) - self.first) / self.step).astype(np.int64)
        out = np.full(len(i), -np.inf)
        for j in (i - 1, i, i + 1):
            inside = (j >= 0) & (j < len(self.z))
            out[inside] = np.maximum(out[inside], self.z[j[inside]])
        return out

    def z_at(self, offset: float) -> float:
        return float(self.z_near(np.array([offset]))[0])

    def best(self, k: int) -> list[tuple[float, float]]:
        """The ``k`` best ``(z, offset)``, each at least 3 frames from the ones before."""
        return top_offsets(self.first + self.step * np.arange(len(self.z), dtype=np.float64), self.z, k)


def _local_z(corr: np.ndarray, step: int) -> np.ndarray:
    """z of each offset against the wrong offsets around it (LOCAL_OFFSETS, in frames), from running
    sums: a kernel over every offset at once, shrinking where the scan ends."""
    shifts = np.array(sorted({round(d / step) for d in LOCAL_OFFSETS}))
    pad = int(np.abs(shifts).max())
    kernel = np.zeros(2 * pad + 1)
    kernel[pad - shifts] = 1.0  # out[i] sums corr[i + shift] over the shifts

    def summed(values: np.ndarray) -> np.ndarray:
        return np.convolve(values, kernel)[pad : pad + len(values)]

    count = summed(np.ones(len(corr)))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = summed(corr) / count
        std = np.sqrt(np.maximum(summed(corr * corr) / count - mean * mean, 0.0))
        z = (corr - mean) / np.maximum(std, 1e-9)
    return np.where(count >= len(shifts) // 2, z, -np.inf)


def scan_changes(phases: list[np.ndarray], reference: np.ndarray,
                 weighted: list[np.ndarray] | None = None) -> OffsetScan | None:
    """Correlate a source's changes (``phases[p]``: blocks starting at frame ``p``, one or both
    phases) with a reference's (phase 0) at every offset that keeps the source inside the reference;
    with ``weighted`` (the same phases weighted, NOISE_FLOOR_PERCENTILE), the higher z of both.

    The z is the lower of two: against every offset of the pair (median, MAD) and against the
    wrong offsets around it. Synthetic music in one key on one beat grid reached 7.0 on the first
    alone and stayed under 4.8 on both; real unrelated pairs reached 6.0 and 5.5 (docs/benchmarks.md).
    """
    if not 0 < len(phases) <= BLOCK_FRAMES or any(not 0 < len(q) <= len(reference) for q in phases):
        return None
    lengths = [len(q) for q in phases + (weighted or [])]
    transform = _transform(reference, max(lengths), min(lengths))  # shared by every phase and weighting
    z = _scan_z(phases, reference, transform)
    if z is not None and weighted:
        z_weighted = _scan_z(weighted, reference, transform)
        z = z if z_weighted is None else np.maximum(z, z_weighted)
    return None if z is None else OffsetScan(first=1 - len(phases), step=BLOCK_FRAMES // len(phases), z=z)


def _scan_z(phases: list[np.ndarray], reference: np.ndarray, transform: _Transform) -> np.ndarray | None:
    """``scan_changes``' z of one set of phases (None when too few offsets or no spread)."""
    corrs = [correlations(q, reference, transform) for q in phases]
    n = min(len(c) for c in corrs)
    # Source frame BLOCK_FRAMES * i + p meets reference frame BLOCK_FRAMES * (j + i): offset
    # BLOCK_FRAMES * j - p, so interleaving the phases in reverse gives one uniform grid.
    corr = np.empty(n * len(phases))
    for p, c in enumerate(corrs):
        corr[len(phases) - 1 - p :: len(phases)] = c[:n]
    return offset_scan_z(corr, BLOCK_FRAMES // len(phases))


def offset_scan_z(corr: np.ndarray, step: int) -> np.ndarray | None:
    """z of each of a scan's correlations (offsets ``step`` frames apart), the lower of two: against
    every offset of the pair (median, MAD) and against the wrong offsets around it (LOCAL_OFFSETS).
    None when too few offsets or no spread."""
    if len(corr) < MIN_SCAN_OFFSETS:
        return None
    median = float(np.median(corr))
    spread = MAD_TO_STD * float(np.median(np.abs(corr - median)))
    if spread <= 0:
        return None
    return np.minimum((corr - median) / spread, _local_z(corr, step))


def phases_of(fp: AudioFingerprint) -> list[np.ndarray]:
    """``fp``'s changes by frame phase: blocks starting at frame 0, and at frame 1 where it keeps them
    (a fresh fingerprint)."""
    return [fp.changes] + ([fp.changes_odd] if fp.changes_odd is not None else [])


def scan_fingerprints(source: AudioFingerprint, target: AudioFingerprint) -> OffsetScan | None:
    """``scan_changes`` of two fingerprints: the source's phases as it has them, the target's changes
    as signs (whether stored or fresh: real values on both sides reach chance highs more often)."""
    if not (len(source.changes) and len(target.changes)):
        return None
    return scan_changes(phases_of(source), np.sign(target.changes), list(source.changes_weighted))


def part_z(source: AudioFingerprint, target: AudioFingerprint, intercept: float, frames: tuple[float, float]) -> float:
    """The changes' z of the line ``t_target = t_source + intercept`` from the source's changes between
    source ``frames`` alone, scanned as a query of its own."""
    first = max(0, int(np.ceil(frames[0] / BLOCK_FRAMES)))
    # Blocks of either phase that end (a change spans two blocks) by the part's last frame.
    stop = int((frames[1] - 2 * BLOCK_FRAMES - (BLOCK_FRAMES - 1)) // BLOCK_FRAMES) + 1
    if stop - first < 2 or not len(target.changes):
        return -np.inf
    scan = scan_changes([p[first:stop] for p in phases_of(source)], np.sign(target.changes),
                        [w[first:stop] for w in source.changes_weighted])
    # The part's own frame 0 is the source's frame BLOCK_FRAMES * first.
    return -np.inf if scan is None else scan.z_at(intercept + BLOCK_FRAMES * first)

