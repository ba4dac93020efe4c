"""Peaks to landmarks: triplets of nearby peaks hashed by anchor band, band differences and gaps.

Hashes are built at compare time from stored peaks, optionally after a pitch shift (whole bands
added to every frequency) and a time scale (gaps stretched), so one stored form serves every
shifted lookup. Band differences do not change under a pitch shift at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medialayer.media.audio.fingerprint import AudioFingerprint
from medialayer.media.audio.peaks import FREQ_SUBSTEPS
from medialayer.media.audio.sorting import stable_argsort

# Each anchor takes its next FAN_OUT peaks inside the target zone and forms a triplet with every
# two of them: a triplet hash is specific enough that tonal music in one key does not collide by
# chance the way peak pairs do (docs/benchmarks.md: false matches), and C(FAN_OUT, 2) triplets per
# anchor keep enough of them alive under noise.
FAN_OUT = 7
# How many later peaks (in time order) to examine for those partners.
LOOKAHEAD = 40
# Target zone: up to MAX_DT frames later (~1 s: short gaps barely change under a 5 % tempo change)
# and within +-MAX_DBAND bands (one octave + a third).
MAX_DT = 31
MAX_DBAND = 31
_DT_BITS = 5
_DB_BITS = 6
# Anchor bands that keep a hash within 31 bits (the bands reach ~118 after the largest shift).
_B1_LIMIT = 1 << (31 - 2 * _DB_BITS - 2 * _DT_BITS)


@dataclass(frozen=True)
class Landmarks:
    """Peak triplets of one fingerprint: anchor frame and band, partners' bands and gaps."""

    t1: np.ndarray  # int32 anchor frames
    f1: np.ndarray  # float32 anchor bands (fractional)
    f2: np.ndarray  # float32 first partner bands
    f3: np.ndarray  # float32 second partner bands
    dt2: np.ndarray  # int32 gap to the first partner (frames)
    dt3: np.ndarray  # int32 gap to the second partner (frames), >= dt2


def _partners(t: np.ndarray, f: np.ndarray) -> np.ndarray:
    """``(n, FAN_OUT)`` indices of each peak's first partners in the target zone, -1 where fewer."""
    n = len(t)
    out = np.full((n, FAN_OUT), -1, dtype=np.int64)
    taken = np.zeros(n, dtype=np.int64)
    for k in range(1, min(LOOKAHEAD, n - 1) + 1):
        i = np.arange(n - k)
        j = i + k
        in_time = t[j] - t[i] <= MAX_DT
        if not in_time.any():
            break
        ok = in_time & (np.abs(f[j] - f[i]) <= MAX_DBAND - 0.5) & (taken[i] < FAN_OUT)
        i, j = i[ok], j[ok]
        out[i, taken[i]] = j
        taken[i] += 1
    return out


def build_landmarks(fp: AudioFingerprint) -> Landmarks:
    cached = fp.cache.get("landmarks")
    if cached is not None:
        return cached
    t = fp.frames.astype(np.int64)
    f = fp.freqs.astype(np.float32) / FREQ_SUBSTEPS
    part = _partners(t, f)
    a, b = np.triu_indices(FAN_OUT, k=1)
    i = np.repeat(np.arange(len(t)), len(a))
    j = part[:, a].reshape(-1)
    k = part[:, b].reshape(-1)
    ok = (j >= 0) & (k >= 0)
    i, j, k = i[ok], j[ok], k[ok]
    lm = Landmarks(t1=t[i].astype(np.int32), f1=f[i], f2=f[j], f3=f[k],
                   dt2=(t[j] - t[i]).astype(np.int32), dt3=(t[k] - t[i]).astype(np.int32))
    fp.cache["landmarks"] = lm
    return lm


def hash_landmarks(lm: Landmarks, band_shift: float = 0.0, time_scale: float = 1.0) -> np.ndarray:
    """int32 hashes (29 bits) of ``lm`` as they would look after shifting pitch by ``band_shift``
    bands and stretching time by ``time_scale``; -1 marks landmarks pushed out of the hashable range.
    In 32-bit integers: the joins sort and search half the bytes of 64-bit ones."""
    b1 = np.rint(lm.f1 + band_shift).astype(np.int32)
    db2 = np.rint(lm.f2 + band_shift).astype(np.int32) - b1
    db3 = np.rint(lm.f3 + band_shift).astype(np.int32) - b1
    if time_scale == 1.0:
        dt2, dt3 = lm.dt2, lm.dt3
    else:
        dt2 = np.rint(lm.dt2 * time_scale).astype(np.int32)
        dt3 = np.rint(lm.dt3 * time_scale).astype(np.int32)
    top = (1 << _DT_BITS) - 1
    ok = (b1 >= 0) & (b1 < _B1_LIMIT) & (np.abs(db2) <= MAX_DBAND) & (np.abs(db3) <= MAX_DBAND) & (dt3 <= top)
    h = b1
    for part, bits in ((db2 + MAX_DBAND, _DB_BITS), (db3 + MAX_DBAND, _DB_BITS), (dt2, _DT_BITS), (dt3, _DT_BITS)):
        h = (h << bits) | part
    return np.where(ok, h, np.int32(-1))


@dataclass(frozen=True)
class HashIndex:
    """One fingerprint's unshifted landmarks grouped by hash, for ``searchsorted`` joins."""

    keys: np.ndarray  # sorted distinct int32 hashes
    starts: np.ndarray  # where each hash's landmarks start in t1/f1
    counts: np.ndarray  # how many landmarks share each hash
    t1: np.ndarray  # anchor frame per landmark, grouped by hash
    f1: np.ndarray  # anchor band per landmark, grouped by hash


def build_index(fp: AudioFingerprint) -> HashIndex:
    cached = fp.cache.get("index")
    if cached is not None:
        return cached
    lm = build_landmarks(fp)
    h = hash_landmarks(lm)
    valid = np.flatnonzero(h >= 0)
    order = valid[stable_argsort(h[valid])]
    grouped = h[order]
    # Already sorted: each hash starts where it differs from the one before (np.unique sorts again).
    starts = np.flatnonzero(np.diff(grouped, prepend=-1) != 0)
    counts = np.diff(starts, append=len(grouped))
    index = HashIndex(keys=grouped[starts], starts=starts, counts=counts, t1=lm.t1[order], f1=lm.f1[order])
    fp.cache["index"] = index
    return index


def join(query_hashes: np.ndarray, index: HashIndex) -> tuple[np.ndarray, np.ndarray]:
    """All (query landmark, index position) combinations with equal hashes."""
    if len(index.keys) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # Sorted needles: one pass of searchsorted over cache-friendly, ascending positions.
    valid = np.flatnonzero(query_hashes >= 0)
    order = valid[stable_argsort(query_hashes[valid])]
    needles = query_hashes[order]
    pos = np.minimum(np.searchsorted(index.keys, needles), len(index.keys) - 1)
    hit = index.keys[pos] == needles
    q, pos = order[hit], pos[hit]
    counts = index.counts[pos]
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    first = np.repeat(index.starts[pos] - np.cumsum(counts) + counts, counts)
    return np.repeat(q, counts), first + np.arange(total)
