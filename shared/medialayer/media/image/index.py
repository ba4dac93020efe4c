"""Image search index: multi-index hashing over a few window hashes per image.

Each image stores the identity-orientation hashes of its frame and of a few large windows (the
sub-windows a crop of up to ~30% lands on). A query brings its windows in the identity and
mirrored orientations, and its stored-set windows in the six rarer ones. Any pair of hashes within
~40 bits of 256 almost surely agrees exactly on one of 16 16-bit chunks (multi-index hashing,
Norouzi et al. 2012), so each chunk is a bucket table; pairs that share a bucket get their full
Hamming distance, calibrated like ``compare`` to an estimate. The exact compare happens after.
"""

from __future__ import annotations

import numpy as np

from medialayer.media.base import Candidate, CandidateIndex, Tables
from medialayer.media.image.compare import FLAT_KNOTS, FULL_KNOTS, ORIENTATION_PENALTY, WINDOW_KNOTS, calibrate
from medialayer.media.image.fingerprint import THUMB, WINDOW_GRID, ImageFingerprint
from medialayer.media.image.hashing import hamming

# Grid positions stored per image: the frame, the four corner windows at scales 0.9 and 0.8 and
# the centred 0.8 window (fingerprint.AXIS_SPANS: span 1-2 = 0.9 at either end, 3/5 = 0.8 at either
# end, 4 = 0.8 centred); the untrimmed frame too when the image had borders. Measured on corpus
# photos (bench/search_recall.py): without the 0.8 corners a 20% corner crop was found 10 times in 60.
_SPAN = round(len(WINDOW_GRID) ** 0.5)
STORED_WINDOWS = tuple(r * _SPAN + c for r, c in (
    (0, 0), (1, 1), (1, 2), (2, 1), (2, 2), (3, 3), (3, 5), (5, 3), (5, 5), (4, 4)))
UNTRIMMED = len(WINDOW_GRID)
CHUNKS = 16
# Pairs estimated below this are chance agreements (unrelated hashes sit ~128 bits apart, ~0 here);
# the exact compare can still lift a candidate above this estimate by up to its detail bonus.
MIN_ESTIMATE = 0.4
# Orientations queried with every window (identity, mirrored); the rest query the stored set only.
COMMON_ORIENTATIONS = (0, 1)


def _stored_windows(fp: ImageFingerprint) -> np.ndarray:
    windows = list(STORED_WINDOWS) + ([UNTRIMMED] if fp.hashes.shape[1] > UNTRIMMED else [])
    return np.array([w for w in windows if fp.usable[w]], dtype=np.int64)


def _chunks(codes: np.ndarray) -> np.ndarray:
    """(n, 4) uint64 hashes to (n, 16) uint16 chunks."""
    return np.ascontiguousarray(codes, dtype=np.uint64).view(np.uint16).reshape(-1, CHUNKS)


class ImageIndex(CandidateIndex[ImageFingerprint]):
    @staticmethod
    def rows(fingerprint: ImageFingerprint) -> Tables:
        if not fingerprint.has_detail:
            return {"flat": {"thumb": fingerprint.thumb.reshape(1, -1)}}
        windows = _stored_windows(fingerprint)
        return {"codes": {"code": fingerprint.hashes[0, windows], "window": windows.astype(np.uint8)}}

    def __init__(self, tables: Tables, n_assets: int) -> None:
        codes = tables.get("codes", {})
        self.code = np.ascontiguousarray(codes.get("code", np.zeros((0, 4), np.uint64)), dtype=np.uint64)
        self.window = codes.get("window", np.zeros(0, np.uint8))
        self.asset = codes.get("asset", np.zeros(0, np.int32))
        chunks = _chunks(self.code)
        # Per chunk, code positions grouped by chunk value (CSR): bucket v is order[offsets[v]:offsets[v+1]].
        self.order = [np.argsort(chunks[:, j], kind="stable").astype(np.uint32) for j in range(CHUNKS)]
        self.offsets = [np.concatenate([[0], np.cumsum(np.bincount(chunks[:, j], minlength=1 << 16))])
                        for j in range(CHUNKS)]
        flat = tables.get("flat", {})
        self.flat_thumb = flat.get("thumb", np.zeros((0, THUMB * THUMB * 3), np.uint8))
        self.flat_asset = flat.get("asset", np.zeros(0, np.int32))

    def candidates(self, query: ImageFingerprint, limit: int) -> list[Candidate]:
        if not query.has_detail:
            return self._flat_candidates(query, limit)
        if len(self.code) == 0:
            return []
        q_code, q_window, q_orient = _query_codes(query)
        q_idx, s_idx = self._bucket_pairs(_chunks(q_code))
        if len(q_idx) == 0:
            return []
        distance = hamming(q_code[q_idx], self.code[s_idx]) + ORIENTATION_PENALTY[q_orient[q_idx]]
        whole = (q_window[q_idx] == 0) & (self.window[s_idx] == 0)
        estimate = np.where(whole, np.interp(distance, *zip(*FULL_KNOTS, strict=True)),
                            np.interp(distance, *zip(*WINDOW_KNOTS, strict=True)))
        keep = estimate >= MIN_ESTIMATE
        return _best_per_asset(self.asset[s_idx][keep], estimate[keep], limit)

    def _bucket_pairs(self, q_chunks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distinct (query code, stored code) pairs that agree on at least one chunk."""
        n_query = len(q_chunks)
        qs, ss = [], []
        for j in range(CHUNKS):
            values = q_chunks[:, j].astype(np.int64)
            starts, ends = self.offsets[j][values], self.offsets[j][values + 1]
            counts = ends - starts
            total = int(counts.sum())
            if total == 0:
                continue
            qs.append(np.repeat(np.arange(n_query), counts))
            positions = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)
            ss.append(self.order[j][positions])
        if not qs:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        key = np.unique(np.concatenate(qs) * len(self.code) + np.concatenate(ss))
        return key // len(self.code), key % len(self.code)

    def _flat_candidates(self, query: ImageFingerprint, limit: int) -> list[Candidate]:
        if len(self.flat_asset) == 0:
            return []
        diff = np.abs(self.flat_thumb.astype(np.int16) - query.thumb.reshape(1, -1).astype(np.int16)).mean(axis=1)
        estimate = np.array([calibrate(float(d), FLAT_KNOTS) for d in diff])
        return _best_per_asset(self.flat_asset, estimate, limit)


def _query_codes(query: ImageFingerprint) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The query's hashes to look up, with their window and orientation."""
    every = np.flatnonzero(query.usable)
    stored = _stored_windows(query)
    codes, windows, orients = [], [], []
    for orientation in range(query.hashes.shape[0]):
        windows_here = every if orientation in COMMON_ORIENTATIONS else stored
        codes.append(query.hashes[orientation, windows_here])
        windows.append(windows_here)
        orients.append(np.full(len(windows_here), orientation))
    return np.concatenate(codes), np.concatenate(windows), np.concatenate(orients)


def _best_per_asset(assets: np.ndarray, estimate: np.ndarray, limit: int) -> list[Candidate]:
    order = np.argsort(-estimate, kind="stable")
    _, first = np.unique(assets[order], return_index=True)
    best = order[first]
    best = best[np.argsort(-estimate[best], kind="stable")][:limit]
    return [Candidate(asset=int(assets[i]), evidence=float(estimate[i])) for i in best]
