"""The two peers of the audio benchmark.

* Chromaprint: ``fpcalc -raw`` fingerprints, matched by a sliding bit-error-rate search over every
  offset (AcoustID's own matcher only compares whole tracks from their start).
* An audfprint-style landmark baseline (``audfprint2`` needs numpy >= 2.3 and scipy, which the
  service venv pins out): audfprint's defaults - 11025 Hz, 512-point FFT, hop 256, ~20 peaks/s,
  fan-out 3, 20-bit hashes of (band, band delta, frame delta) - matched by hash join + offset vote.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile

import numpy as np

from medialayer.media.audio.decode import decode_audio

# Chromaprint: 11025 Hz, 4096-sample frames, hop 4096/3 samples.
CHROMA_ITEM_S = 4096 / 3 / 11025
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def chromaprint(data: bytes, suffix: str) -> np.ndarray:
    with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as f:
        f.write(data)
        path = f.name
    try:
        out = subprocess.run(["fpcalc", "-raw", "-length", "0", "-json", path], capture_output=True, text=True)
        if out.returncode != 0 and not out.stdout:
            return np.zeros(0, np.uint32)
        return np.array(json.loads(out.stdout).get("fingerprint", []), dtype=np.uint32)
    finally:
        os.unlink(path)


def chromaprint_match(query: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """Best (1 - bit error rate, offset seconds) over offsets where the query overlaps >= 60 %."""
    n, m = len(query), len(ref)
    if n < 4 or m < 4:
        return 0.0, 0.0
    min_overlap = max(4, int(0.6 * n))
    best, best_off = 0.0, 0
    padded = np.concatenate([np.zeros(n, np.uint32), ref, np.zeros(n, np.uint32)])
    valid = np.concatenate([np.zeros(n, bool), np.ones(m, bool), np.zeros(n, bool)])
    offsets = np.arange(-n + min_overlap, m - min_overlap + 1)
    idx = offsets[:, None] + n + np.arange(n)[None, :]
    for chunk in range(0, len(offsets), 2048):
        sl = slice(chunk, chunk + 2048)
        x = np.bitwise_xor(padded[idx[sl]], query[None, :])
        bits = _POPCOUNT[x.view(np.uint8)].reshape(x.shape[0], n, 4).sum(axis=2)
        ok = valid[idx[sl]]
        errors = (bits * ok).sum(axis=1)
        overlap = ok.sum(axis=1)
        score = 1.0 - errors / np.maximum(overlap * 32, 1)
        score[overlap < min_overlap] = 0.0
        i = int(np.argmax(score))
        if score[i] > best:
            best, best_off = float(score[i]), int(offsets[sl][i])
    return best, best_off * CHROMA_ITEM_S


# --- audfprint-style landmarks -------------------------------------------------------------------
AF_RATE, AF_NFFT, AF_HOP = 11025, 512, 256
AF_DENSITY, AF_FANOUT, AF_MAXDT, AF_MAXDF = 20.0, 3, 63, 31


def _af_spec(x: np.ndarray) -> np.ndarray:
    if len(x) < AF_NFFT:
        return np.zeros((0, AF_NFFT // 2), np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(x, AF_NFFT)[::AF_HOP] * np.hanning(AF_NFFT)
    s = np.abs(np.fft.rfft(frames, axis=1))[:, : AF_NFFT // 2]
    return np.log(np.maximum(s, np.max(s) * 1e-6 + 1e-12)).astype(np.float32)


def audfprint_peaks(data: bytes) -> tuple[np.ndarray, np.ndarray, float]:
    sig = decode_audio(data, max_bytes=10**9, max_seconds=10**5, sample_rate=AF_RATE)
    s = _af_spec(sig.samples)
    if s.size == 0:
        return np.zeros(0, int), np.zeros(0, int), sig.duration_s
    s = s - s.mean()
    # audfprint: a decaying spectral threshold, simplified to local maxima over +-4 bins and
    # +-8 frames (its masking spread), then the strongest DENSITY peaks per second.
    m = s.copy()
    for axis, half in ((1, 4), (0, 8)):
        for k in range(1, half + 1):
            m[tuple(slice(None) if a != axis else slice(0, -k) for a in range(2))] = np.maximum(
                m[tuple(slice(None) if a != axis else slice(0, -k) for a in range(2))],
                s[tuple(slice(None) if a != axis else slice(k, None) for a in range(2))])
            m[tuple(slice(None) if a != axis else slice(k, None) for a in range(2))] = np.maximum(
                m[tuple(slice(None) if a != axis else slice(k, None) for a in range(2))],
                s[tuple(slice(None) if a != axis else slice(0, -k) for a in range(2))])
    t, f = np.nonzero((s >= m) & (s > s.mean() + 1.0))
    level = s[t, f]
    per_block = int(AF_DENSITY * AF_HOP / AF_RATE * 43)  # peaks per 43-frame (~1 s) block
    block = t // 43
    order = np.lexsort((-level, block))
    t, f, block = t[order], f[order], block[order]
    rank = np.arange(len(t)) - np.searchsorted(block, block)
    keep = rank < per_block
    t, f = t[keep], f[keep]
    order = np.lexsort((f, t))
    return t[order], f[order], sig.duration_s


def audfprint_hashes(t: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hs, ts = [], []
    taken = np.zeros(len(t), int)
    for k in range(1, 30):
        i = np.arange(len(t) - k)
        j = i + k
        dt = t[j] - t[i]
        ok = (dt >= 2) & (dt <= AF_MAXDT) & (np.abs(f[j] - f[i]) <= AF_MAXDF) & (taken[i] < AF_FANOUT)
        i, j = i[ok], j[ok]
        taken[i] += 1
        hs.append((f[i] << 12) | ((f[j] - f[i] + 32) << 6) | (t[j] - t[i]))
        ts.append(t[i])
    return np.concatenate(hs), np.concatenate(ts)


def audfprint_match(q: tuple[np.ndarray, np.ndarray], r: tuple[np.ndarray, np.ndarray]) -> tuple[int, float]:
    """(votes in the best offset +-1 frame, offset seconds)."""
    qh, qt = q
    rh, rt = r
    order = np.argsort(rh, kind="stable")
    rh, rt = rh[order], rt[order]
    lo, hi = np.searchsorted(rh, qh, "left"), np.searchsorted(rh, qh, "right")
    counts = hi - lo
    if counts.sum() == 0:
        return 0, 0.0
    qi = np.repeat(np.arange(len(qh)), counts)
    pos = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
    off = rt[pos] - qt[qi]
    base = off.min()
    c = np.bincount(off - base)
    c3 = np.convolve(c, np.ones(3, int), mode="same")
    best = int(np.argmax(c3))
    return int(c3[best]), (best + base) * AF_HOP / AF_RATE
