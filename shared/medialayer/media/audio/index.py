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
from medialayer.media.audio.calibration import evidence_z
from medialayer.media.audio.changes import scan_fingerprints
from medialayer.media.audio.fingerprint import AudioFingerprint
from medialayer.media.audio.landmarks import build_landmarks, hash_landmarks
from medialayer.media.audio.sorting import stable_argsort
from medialayer.media.audio.verification import offset_z
from medialayer.media.base import Candidate, CandidateIndex, Tables

# 1 landmark in SAMPLING is indexed: ~121 postings per second of music, 10 bytes each, 4.3 GB per
# 1,000 hours (bench/search_scale.py). While tuning on 15 corpus tracks, 1 in 16 made a 10 s clip
# under pink noise at 0 dB a candidate 6 times, 1 in 8 12 times (the exact compare matches ~13).
SAMPLING = 8
# A line needs this many votes to make an asset a candidate (chance lines hold 1-2).
MIN_VOTES = 3
# Postings are bucketed by their hashes' top BUCKET_BITS bits (a 128 MB offsets table at most).
BUCKET_BITS = 24
# A bucket holding more postings than this is all stop-words (sustained chords, drones): its lookups
# are skipped, as audfprint caps its hash buckets, so no query pays for the library's hot hashes.
MAX_POSTINGS_PER_BUCKET = 4096
# Offsets are voted in bins this wide (frames), so a line's votes split by rounding still meet.
OFFSET_BIN = 3
# A weak candidate is worth the exact compare when some offset at unchanged pitch and tempo puts
# this many background spreads of query peaks on its peaks (the compare's own statistic, whose
# match knot is z 7.5), or failing that, when the compare's evidence with the dense changes
# (calibration.evidence_z) reaches as much there: a clip under a louder track keeps too few peaks.
# A peak scan costs ~3 ms against a 4-minute track; with the changes scan, a 10 s clip's screen
# costs 13-18 ms per corpus track and its compare 42-81 ms (bench/audio_candidates.py).
PLAUSIBLE_Z = 6.0
_MIX = np.uint64(0x9E3779B97F4A7C15)


def _sampled(hashes: np.ndarray) -> np.ndarray:
    """Which of ``hashes`` (-1 = none) belong to the index's deterministic sample."""
    mixed = (hashes.astype(np.uint64) * _MIX) >> np.uint64(58)
    return (hashes >= 0) & (mixed % np.uint64(SAMPLING) == 0)


class AudioIndex(CandidateIndex[AudioFingerprint]):
    # Votes of a line that chance does not reach: clips of 10 held-out tracks against 29 indexed
    # ones drew 23-27 candidates each, at 3-9 votes; re-encodes and 10 dB noise hold 10-400. A
    # compare of a clip with a whole track costs ~50-100 ms (docs/architecture.md, "Verification").
    strong_evidence = 12.0
    # Below that, votes rank chance lines (5-8 votes against long tracks) above weak true ones (3-5).
    # Verifying the first 5 on rank alone found 28 of 58 clips mixed under louder music; screening
    # the first 20 with ``plausible`` and verifying only the best weak one on rank alone found 36
    # (pink 0 dB 48/58 both ways, pitch and speed 5 % 58/58, clips of unindexed tracks 0/30) with
    # ~120 instead of ~350 ms of compares per query (29 tracks indexed, one core). Query triplets
    # with 10 partners per peak instead of 7 raised the first figure to 31 but not the second, for
    # ~1.4 times the candidate time at 1,000 hours (p50 249 against 181 ms, other work running): not kept.
    weak_verified = 1
    # The screen reaches past the compare's shortlist of 20: of the 29 clips under louder music of the
    # API bench, three that the pairwise compare matches held 3 index votes, ranked 21st-25th among
    # chance lines of 3-6 votes, and scanned at z 10-12 (in-process replica of bench/search_recall.py:
    # 18 -> 21 found of the 22 the compare matches; held-out clips: 0/10 matched, ~22 scans each).
    # Normalising votes by each asset's chance rate did not rank them higher: only peaks tell.
    screened_at_most = 40

    @staticmethod
    def plausible(query: AudioFingerprint, stored: AudioFingerprint) -> bool:
        offsets, peak_z = offset_z(query, stored)
        if len(peak_z) and peak_z.max() >= PLAUSIBLE_Z:
            return True
        changes = scan_fingerprints(query, stored)
        return changes is not None and len(offsets) > 0 and bool(
            np.max(evidence_z(peak_z, changes.z_near(offsets))) >= PLAUSIBLE_Z)

    @staticmethod
    def rows(fingerprint: AudioFingerprint) -> Tables:
        landmarks = build_landmarks(fingerprint)
        hashes = hash_landmarks(landmarks)
        keep = _sampled(hashes)
        return {"postings": {"hash": hashes[keep].astype(np.uint32), "time": landmarks.t1[keep].astype(np.uint16)}}

    def __init__(self, tables: Tables, n_assets: int) -> None:
        postings = tables.get("postings", {})
        hashes = np.ascontiguousarray(postings.get("hash", np.zeros(0, np.uint32)), dtype=np.uint32)
        times = postings.get("time", np.zeros(0, np.uint16))
        assets = postings.get("asset", np.zeros(0, np.int32))
        # Sorted hashes and their postings: 10 bytes a posting, no per-key arrays. Rows already in
        # hash order (a large compacted segment) skip the sort and its 8-byte-per-posting index.
        if len(hashes) > 1 and bool((hashes[1:] < hashes[:-1]).any()):
            order = stable_argsort(hashes)
            hashes, times, assets = hashes[order], times[order], assets[order]
        self.hashes, self.times, self.asset = hashes, times, assets
        top = int(hashes[-1]) if len(hashes) else 0
        self.shift = max(0, top.bit_length() - BUCKET_BITS)
        self.offsets = np.concatenate([[0], np.cumsum(np.bincount(hashes >> np.uint32(self.shift),
                                                                  minlength=(top >> self.shift) + 1))])
        self.n_assets = n_assets

    def _join(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(query landmark, posting) pairs with equal hashes; -1 hashes take part in nothing.

        A direct-address table over the hashes' top bits narrows each needle to its bucket (a few
        dozen postings even at 1,000 hours) and the bucket is compared whole: no binary search
        over hundreds of millions of postings."""
        query = np.flatnonzero(hashes >= 0)
        needles = hashes[query]
        bucket = needles >> self.shift
        inside = bucket < len(self.offsets) - 1
        query, needles, bucket = query[inside], needles[inside], bucket[inside]
        starts = self.offsets[bucket]
        counts = self.offsets[bucket + 1] - starts
        counts[counts > MAX_POSTINGS_PER_BUCKET] = 0
        total = int(counts.sum())
        positions = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)
        owners = np.repeat(np.arange(len(query)), counts)
        equal = self.hashes[positions] == needles[owners]
        return query[owners[equal]], positions[equal]

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
