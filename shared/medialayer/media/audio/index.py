"""Audio search index: sorted landmark-hash postings with offset voting.

Each asset contributes a deterministic sample (1 in SAMPLING, chosen by hash) of its unshifted
landmark triplets as (hash, anchor frame) postings. A query hashes its own landmarks under the
same pitch-shift and time-scale grid as the pairwise alignment, keeps the same sample, joins them
with the postings and votes per (asset, offset) line; the assets with the strongest lines get the
exact ``compare``. Sampling by hash keeps both sides' surviving landmarks the same ones, so a
match loses votes in proportion but chance hits shrink as much.
"""

from __future__ import annotations

import numpy as np

from medialayer.media.audio.alignment import BAND_SHIFTS, LOOKUP_SCALES
from medialayer.media.audio.fingerprint import AudioFingerprint
from medialayer.media.audio.landmarks import build_landmarks, hash_landmarks
from medialayer.media.base import Candidate, CandidateIndex, Tables

# 1 landmark in SAMPLING is indexed: ~30 postings per second of audio, ~1.1 GB per 1,000 hours
# (bench/search_scale.py); a plain 10 s copy still casts ~300 votes on its line.
SAMPLING = 8
# A line needs this many votes to make an asset a candidate (chance lines hold 1-2).
MIN_VOTES = 3
# Offsets are voted in bins this wide (frames), so a line's votes split by rounding still meet.
OFFSET_BIN = 3
_MIX = np.uint64(0x9E3779B97F4A7C15)


def _sampled(hashes: np.ndarray) -> np.ndarray:
    """Which of ``hashes`` (int64, -1 = none) belong to the index's deterministic sample."""
    mixed = (hashes.astype(np.uint64) * _MIX) >> np.uint64(58)
    return (hashes >= 0) & (mixed % np.uint64(SAMPLING) == 0)


class AudioIndex(CandidateIndex[AudioFingerprint]):
    @staticmethod
    def rows(fingerprint: AudioFingerprint) -> Tables:
        landmarks = build_landmarks(fingerprint)
        hashes = hash_landmarks(landmarks)
        keep = _sampled(hashes)
        return {"postings": {"hash": hashes[keep].astype(np.uint32), "time": landmarks.t1[keep].astype(np.uint16)}}

    def __init__(self, tables: Tables, n_assets: int) -> None:
        postings = tables.get("postings", {})
        hashes = postings.get("hash", np.zeros(0, np.uint32))
        order = np.argsort(hashes, kind="stable")
        # Sorted hashes and their postings: 10 bytes a posting, no per-key arrays.
        self.hashes = np.ascontiguousarray(hashes[order], dtype=np.uint32)
        self.times = postings.get("time", np.zeros(0, np.uint16))[order]
        self.asset = postings.get("asset", np.zeros(0, np.int32))[order]
        self.n_assets = n_assets

    def _join(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(query landmark, posting) pairs with equal hashes; -1 hashes take part in nothing."""
        query = np.flatnonzero(hashes >= 0)
        needles = hashes[query].astype(np.uint32)  # same dtype as self.hashes: no copy of the postings
        order = np.argsort(needles, kind="stable")
        query, needles = query[order], needles[order]
        starts = np.searchsorted(self.hashes, needles, side="left")
        counts = np.searchsorted(self.hashes, needles, side="right") - starts
        total = int(counts.sum())
        positions = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)
        return np.repeat(query, counts), positions

    def candidates(self, query: AudioFingerprint, limit: int) -> list[Candidate]:
        if len(self.hashes) == 0:
            return []
        landmarks = build_landmarks(query)
        best = np.zeros(self.n_assets, dtype=np.int64)
        for scale in LOOKUP_SCALES:
            for shift in BAND_SHIFTS:
                hashes = hash_landmarks(landmarks, shift, scale)
                q, position = self._join(np.where(_sampled(hashes), hashes, -1))
                if len(q) == 0:
                    continue
                offset = self.times[position].astype(np.float64) - scale * landmarks.t1[q]
                line = np.floor(offset / OFFSET_BIN).astype(np.int64)
                line -= line.min()
                span = int(line.max()) + 1
                lines, votes = np.unique(self.asset[position].astype(np.int64) * span + line, return_counts=True)
                np.maximum.at(best, lines // span, votes)
        found = np.flatnonzero(best >= MIN_VOTES)
        found = found[np.argsort(-best[found], kind="stable")][:limit]
        return [Candidate(asset=int(a), evidence=float(best[a])) for a in found]
