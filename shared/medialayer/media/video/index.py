"""Video search index: timed frame hashes in a multi-index, plus the soundtrack's audio postings.

Each kept frame stores its whole-picture hash and its four corner-window hashes (a logo covers at
most one corner) with its time. A video query looks up its frames' hashes, mirrored ones too;
close pairs vote per (asset, time offset), one vote per query frame, so a clip cut from a long
video lines its frames up on one offset while chance agreements scatter. The soundtrack is
searched like audio. Cross-modal queries use the same tables: a still image looks up its own
whole and corner hashes (either orientation), an audio clip only the postings.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from medialayer.media.audio.fingerprint import AudioFingerprint
from medialayer.media.audio.index import AudioIndex
from medialayer.media.base import Candidate, CandidateIndex, Tables
from medialayer.media.image.fingerprint import ImageFingerprint
from medialayer.media.image.multi_index import MultiIndex
from medialayer.media.video.crossmodal import STILL_KNOTS, still_pictures
from medialayer.media.video.fingerprint import VideoFingerprint
from medialayer.media.video.frames import CORNER_PENALTY, has_detail

# Frame pairs further apart than this (bits of 256, corner penalty included) do not vote: the
# alignment's FRAME_KNOTS (alignment.py) give them little weight past 56 and none past 72.
MAX_FRAME_BITS = 64
# Offsets are voted in bins of this many seconds (frames are sampled 2 per second).
OFFSET_BIN_S = 1.0
# Audio votes are ~10x as plentiful as frame votes for the same stretch of a match.
AUDIO_VOTE_SCALE = 0.1


def _frame_codes(whole: np.ndarray, corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, 4) whole and (n, 4, 4) corner hashes to (5n, 4) codes and their window (0 whole, 1-4)."""
    codes = np.concatenate([whole[:, None, :], corners], axis=1)
    return codes.reshape(-1, 4), np.tile(np.arange(5, dtype=np.uint8), len(whole))


class VideoIndex(CandidateIndex[VideoFingerprint]):
    @staticmethod
    def rows(fingerprint: VideoFingerprint) -> Tables:
        keep = fingerprint.usable
        codes, window = _frame_codes(fingerprint.hashes[keep], fingerprint.corners[keep])
        tables: Tables = {"frames": {"code": codes, "window": window,
                                     "time": np.repeat(fingerprint.times[keep], 5).astype(np.float32)}}
        if fingerprint.audio is not None:
            tables.update(AudioIndex.rows(fingerprint.audio))
        return tables

    def __init__(self, tables: Tables, n_assets: int) -> None:
        frames = tables.get("frames", {})
        self.frames = MultiIndex(frames.get("code", np.zeros((0, 4), np.uint64)))
        self.window = frames.get("window", np.zeros(0, np.uint8))
        self.time = frames.get("time", np.zeros(0, np.float32))
        self.asset = frames.get("asset", np.zeros(0, np.int32))
        self.soundtracks = AudioIndex({"postings": tables["postings"]} if "postings" in tables else {}, n_assets)
        self.n_assets = n_assets

    def candidates(self, query: Any, limit: int) -> list[Candidate]:
        """``query``: a VideoFingerprint, or (cross-modal) an ImageFingerprint or an AudioFingerprint."""
        if isinstance(query, AudioFingerprint):
            return self.soundtracks.candidates(query, limit)
        if isinstance(query, ImageFingerprint):
            return self._still(query, limit)
        evidence = self._frames(query)
        if query.audio is not None:
            for heard in self.soundtracks.candidates(query.audio, limit):
                evidence[heard.asset] = max(evidence[heard.asset], AUDIO_VOTE_SCALE * heard.evidence)
        found = np.flatnonzero(evidence > 0)
        found = found[np.argsort(-evidence[found], kind="stable")][:limit]
        return [Candidate(asset=int(a), evidence=float(evidence[a])) for a in found]

    def _frames(self, query: VideoFingerprint) -> np.ndarray:
        """Per asset, the most query frames lined up on one time offset."""
        votes = np.zeros(self.n_assets, dtype=np.float64)
        keep = np.flatnonzero(query.usable)
        for whole, corners in ((query.hashes, query.corners), (query.mirrored, query.corners_mirrored)):
            codes, window = _frame_codes(whole[keep], corners[keep])
            q, s, distance = self.frames.near(codes)
            distance = distance + np.where(window[q] > 0, CORNER_PENALTY, 0)
            close = (distance <= MAX_FRAME_BITS) & (window[q] == self.window[s])
            q, s = q[close], s[close]
            if len(q) == 0:
                continue
            frame = keep[q // 5]
            line = np.floor((self.time[s] - query.times[frame]) / OFFSET_BIN_S).astype(np.int64)
            line -= line.min()
            span = int(line.max()) + 1
            # One vote per (asset, line, query frame), however many windows or stored frames agree.
            key = np.unique((self.asset[s].astype(np.int64) * span + line) * len(query.times) + frame)
            lines, counts = np.unique(key // len(query.times), return_counts=True)
            np.maximum.at(votes, lines // span, counts)
        return votes

    def _still(self, image: ImageFingerprint, limit: int) -> list[Candidate]:
        hashes, mirrored, detail = still_pictures(image)
        if not has_detail(detail)[0]:
            return []
        best = np.zeros(self.n_assets, dtype=np.float64)
        for pictures in (hashes, mirrored):
            codes = pictures[0]
            window = np.arange(5, dtype=np.uint8)
            q, s, distance = self.frames.near(codes)
            distance = distance + np.where(window[q] > 0, CORNER_PENALTY, 0)
            same = window[q] == self.window[s]
            score = np.interp(distance[same], *zip(*STILL_KNOTS, strict=True))
            np.maximum.at(best, self.asset[s][same], score)
        found = np.flatnonzero(best > 0)
        found = found[np.argsort(-best[found], kind="stable")][:limit]
        return [Candidate(asset=int(a), evidence=float(best[a])) for a in found]
