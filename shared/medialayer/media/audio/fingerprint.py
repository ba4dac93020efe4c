"""The stored fingerprint: sparse spectral peaks and dense band-energy changes, serialised compactly.

Peaks, not hashes, are stored: hashing happens at compare time, so one stored form serves the
pitch- and speed-shifted lookups (``alignment``) and stays ~3 bytes per peak after zlib. The
changes (``changes``) keep one sign bit per band and 64 ms block.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

from medialayer.errors import MediaLayerError
from medialayer.media.audio.changes import BLOCK_FRAMES, band_changes, pack_signs, unpack_signs
from medialayer.media.audio.decode import SAMPLE_RATE, AudioSignal
from medialayer.media.audio.peaks import FREQ_SUBSTEPS, find_peaks
from medialayer.media.audio.spectrogram import BANDS_PER_OCTAVE, HOP, band_count, log_spectrogram

_MAGIC = b"MLA2"
# Peaks only: still read (no changes), so assets indexed before them keep matching.
_MAGIC_PEAKS_ONLY = b"MLA1"
# magic, sample rate, hop, bands/octave, substeps, duration (s), peak count, frame-delta width
_HEADER = struct.Struct("<4sIHBBfIB")
# MLA2 only: frames per change block, change blocks, bands
_CHANGES_HEADER = struct.Struct("<BIH")


def _no_changes() -> np.ndarray:
    return np.zeros((0, band_count()), dtype=np.float32)


@dataclass(frozen=True, eq=False)
class AudioFingerprint:
    """Peaks as ``frames`` (hop index, ascending) and ``freqs`` (log band * FREQ_SUBSTEPS)."""

    frames: np.ndarray  # uint32
    freqs: np.ndarray  # uint16
    duration_s: float
    # (blocks, bands) float32 band-energy changes (``changes.py``); +-1 once stored.
    changes: np.ndarray = field(default_factory=_no_changes, repr=False, compare=False)
    # Blocks starting one frame later, kept by a fresh fingerprint only: a fresh query scans odd
    # offsets too.
    changes_odd: np.ndarray | None = field(default=None, repr=False, compare=False)
    # Both phases weighted above the clip's steady noise floor (``changes.NOISE_FLOOR_PERCENTILE``),
    # kept by a fresh fingerprint only.
    changes_weighted: tuple[np.ndarray, ...] = field(default=(), repr=False, compare=False)
    # The log spectrogram (``spectrogram.log_spectrogram``), kept by a fresh fingerprint only: a fresh
    # source reads a target's peaks on it (``presence``).
    spectrogram: np.ndarray | None = field(default=None, repr=False, compare=False)
    # Compare-time caches (pairs, sorted hash index); not serialised.
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.frames)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, AudioFingerprint)
            and np.array_equal(self.frames, other.frames)
            and np.array_equal(self.freqs, other.freqs)
            and abs(self.duration_s - other.duration_s) < 1e-3
            and np.array_equal(self.changes > 0, other.changes > 0)
        )

    __hash__ = None  # type: ignore[assignment]


def compute_fingerprint(signal: AudioSignal) -> AudioFingerprint:
    if signal.sample_rate != SAMPLE_RATE:
        raise ValueError(f"expected {SAMPLE_RATE} Hz PCM, got {signal.sample_rate}")
    spec = log_spectrogram(signal.samples)
    frames, freqs = find_peaks(spec)
    (changes, changes_odd), weighted = band_changes(spec)
    return AudioFingerprint(frames=frames, freqs=freqs, duration_s=float(signal.duration_s),
                            changes=changes, changes_odd=changes_odd, changes_weighted=tuple(weighted),
                            spectrogram=spec)


def _split_bytes(values: np.ndarray) -> bytes:
    """Little-endian bytes grouped by significance: high bytes are mostly zero and zlib loves them."""
    return values.view(np.uint8).reshape(-1, values.dtype.itemsize).T.tobytes()


def _join_bytes(raw: bytes, dtype: np.dtype, count: int) -> np.ndarray:
    width = np.dtype(dtype).itemsize
    planes = np.frombuffer(raw, dtype=np.uint8, count=count * width).reshape(width, count)
    return np.ascontiguousarray(planes.T).view(dtype).reshape(count)


def fingerprint_to_bytes(fp: AudioFingerprint) -> bytes:
    deltas = np.diff(fp.frames.astype(np.int64), prepend=0)
    delta_dtype = np.uint16 if (len(deltas) == 0 or deltas.max() < 65536) else np.uint32
    header = _HEADER.pack(
        _MAGIC, SAMPLE_RATE, HOP, BANDS_PER_OCTAVE, FREQ_SUBSTEPS, fp.duration_s, len(fp.frames),
        np.dtype(delta_dtype).itemsize,
    )
    changes = _CHANGES_HEADER.pack(BLOCK_FRAMES, *fp.changes.shape) + pack_signs(fp.changes)
    body = _split_bytes(deltas.astype(delta_dtype)) + _split_bytes(fp.freqs.astype(np.uint16)) + changes
    return header + zlib.compress(body, 9)


def fingerprint_from_bytes(blob: bytes) -> AudioFingerprint:
    try:
        magic, rate, hop, bpo, substeps, duration, count, width = _HEADER.unpack_from(blob)
        if magic not in (_MAGIC, _MAGIC_PEAKS_ONLY):
            raise ValueError("not an audio fingerprint")
        if (rate, hop, bpo, substeps) != (SAMPLE_RATE, HOP, BANDS_PER_OCTAVE, FREQ_SUBSTEPS):
            raise ValueError("fingerprint made with other parameters; re-index the asset")
        body = zlib.decompress(blob[_HEADER.size :])
        delta_dtype = {2: np.uint16, 4: np.uint32}[width]
        split = count * width
        deltas = _join_bytes(body[:split], delta_dtype, count)
        freqs = _join_bytes(body[split:], np.uint16, count)
        changes = _no_changes()
        if magic == _MAGIC:
            start = split + 2 * count
            block, blocks, bands = _CHANGES_HEADER.unpack_from(body, start)
            if (block, bands) != (BLOCK_FRAMES, band_count()):
                raise ValueError("fingerprint made with other parameters; re-index the asset")
            changes = unpack_signs(body[start + _CHANGES_HEADER.size :], blocks, bands)
    except (struct.error, zlib.error, ValueError, KeyError) as exc:
        raise MediaLayerError("invalid_request", f"corrupt audio fingerprint: {exc}") from exc
    frames = np.cumsum(deltas.astype(np.int64)).astype(np.uint32)
    return AudioFingerprint(frames=frames, freqs=freqs.copy(), duration_s=float(duration), changes=changes)
