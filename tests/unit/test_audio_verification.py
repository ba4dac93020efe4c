"""Peak-by-peak verification: the offset scan finds a weak line that triplet votes would miss."""

from __future__ import annotations

import numpy as np

from medialayer.media.audio.fingerprint import AudioFingerprint
from medialayer.media.audio.verification import offset_z, peak_overlap_z, top_offsets


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
