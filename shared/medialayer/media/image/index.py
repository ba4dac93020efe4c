"""Image search index: multi-index hashing over a few window hashes per image, then a second look.

Each image stores the identity-orientation hashes of its frame and of a few large windows (the
sub-windows a crop of up to ~30% lands on). A query brings its windows in the identity and
mirrored orientations, and its stored-set windows in the six rarer ones. Stored hashes sharing a
16-bit chunk with a query hash (``multi_index``) get their distance calibrated like ``compare``
into an estimate; the exact compare happens after.

Why a second look: a pair 40 bits apart shares an exact chunk only 2 times in 3 (``multi_index``),
so an edited copy's closest pairs are often missed while a farther pair of the same image is found.
Images whose best found pair falls short of the floor have every stored window compared with every
query hash (a few thousand distances each), and stay if that estimate clears the floor.

Why the query's small windows, when nothing matched clearly: an object on a plain background is
trimmed to its own extent, and a caption bar's text or a logo stops the copy's trim elsewhere, so
the two frames differ and the copy meets its original only on its own 0.7 and 0.6 windows.
"""

from __future__ import annotations

import numpy as np

from medialayer.media.base import Candidate, CandidateIndex, Tables
from medialayer.media.image.compare import FLAT_KNOTS, FULL_KNOTS, ORIENTATION_PENALTY, WINDOW_KNOTS, calibrate
from medialayer.media.image.fingerprint import THUMB, WINDOW_GRID, ImageFingerprint
from medialayer.media.image.hashing import hamming
from medialayer.media.image.multi_index import MultiIndex

# Grid positions stored per image: the frame, the four corner windows at scales 0.9 and 0.8, the
# centred 0.8 and 0.7 windows (fingerprint.AXIS_SPANS: span 1-2 = 0.9 at either end, 3/5 = 0.8 at
# either end, 4 = 0.8 centred, 7 = 0.7 centred); the untrimmed frame too when the image had borders.
# While tuning on 60 corpus photos, a 20% corner crop made the candidates 10 times without the 0.8
# corners, 57 with them. The centred 0.7 window is where a 10% centred crop of an object on a plain
# background meets it after trimming: on 200 corpus photos it brought 3 more of the 977 crops, bars
# and logos the exact compare matches into the candidates, for 10% more memory and lookups.
_SPAN = round(len(WINDOW_GRID) ** 0.5)
STORED_WINDOWS = tuple(r * _SPAN + c for r, c in (
    (0, 0), (1, 1), (1, 2), (2, 1), (2, 2), (3, 3), (3, 5), (5, 3), (5, 5), (4, 4), (7, 7)))
UNTRIMMED = len(WINDOW_GRID)
# Pairs estimated below this (80 bits of 256) are chance agreements: unrelated hashes sit ~128 +- 8
# bits apart. The exact compare can lift a candidate well above its estimate (detail bonus, windows
# the index does not store): at 0.4, 2 of 120 corpus crops were lost.
MIN_ESTIMATE = 0.2
# The second look takes images with a found pair estimated at least this (104 bits), the closest
# SECOND_LOOK_IMAGES of them: ~32 x 12 x 150 distances per query at most. With 100 corpus photos
# inside a 1,000,000-image shard, 16, 32 and 64 of them found the same originals of crops and logos.
SECOND_LOOK_FROM = 0.1
SECOND_LOOK_IMAGES = 32
# Farther pairs estimate below SECOND_LOOK_FROM on either scale (112 bits on the whole-frame one).
_FARTHEST = float(np.interp(-SECOND_LOOK_FROM, *zip(*((-y, x) for x, y in FULL_KNOTS), strict=True)))
# Orientations queried with the large windows (identity, mirrored); the rest query the stored set
# only. Large windows are the query's frame and its 0.9 and 0.8 windows: where a query with added
# borders, bars or padding holds the stored frame. The smaller windows cost 1.6 times the lookups,
# so only queries with no clear match look them up (EXTEND_BELOW).
COMMON_ORIENTATIONS = (0, 1)
LARGE_WINDOWS = tuple(r * _SPAN + c for r in range(6) for c in range(6))
# A query none of whose found pairs estimates this much (the operating point) looks up its other
# windows too, in the identity orientation: 84 more hashes, ~1.6 times the lookups, paid only by
# queries the index holds no clear copy of. On the 200 photos of bench/search_recall.py this found
# 7 more of the 977 crops, bars and logos the exact compare matches (none had been a candidate).
EXTEND_BELOW = 0.85


def _stored_windows(fp: ImageFingerprint) -> np.ndarray:
    windows = list(STORED_WINDOWS) + ([UNTRIMMED] if fp.hashes.shape[1] > UNTRIMMED else [])
    return np.array([w for w in windows if fp.usable[w]], dtype=np.int64)


class ImageIndex(CandidateIndex[ImageFingerprint]):
    @staticmethod
    def rows(fingerprint: ImageFingerprint) -> Tables:
        if not fingerprint.has_detail:
            return {"flat": {"thumb": fingerprint.thumb.reshape(1, -1)}}
        windows = _stored_windows(fingerprint)
        return {"codes": {"code": fingerprint.hashes[0, windows], "window": windows.astype(np.uint8)}}

    def __init__(self, tables: Tables, n_assets: int) -> None:
        codes = tables.get("codes", {})
        self.hashes = MultiIndex(codes.get("code", np.zeros((0, 4), np.uint64)))
        self.window = codes.get("window", np.zeros(0, np.uint8))
        self.asset = codes.get("asset", np.zeros(0, np.int32))
        # Rows of asset a: by_asset[asset_start[a]:asset_start[a + 1]] (for the second look).
        self.by_asset = np.argsort(self.asset, kind="stable").astype(np.uint32)
        self.asset_start = np.concatenate([[0], np.cumsum(np.bincount(self.asset, minlength=n_assets))])
        flat = tables.get("flat", {})
        self.flat_thumb = flat.get("thumb", np.zeros((0, THUMB * THUMB * 3), np.uint8))
        self.flat_asset = flat.get("asset", np.zeros(0, np.int32))

    def candidates(self, query: ImageFingerprint, limit: int) -> list[Candidate]:
        if not query.has_detail:
            return self._flat_candidates(query, limit)
        q_code, q_window, q_orient = _query_codes(query)
        assets, estimate = self._found_pairs(q_code, q_window, q_orient)
        if not (estimate >= EXTEND_BELOW).any():
            x_code, x_window, x_orient = _small_window_codes(query)
            x_assets, x_estimate = self._found_pairs(x_code, x_window, x_orient)
            assets, estimate = np.concatenate([assets, x_assets]), np.concatenate([estimate, x_estimate])
            q_code, q_window = np.concatenate([q_code, x_code]), np.concatenate([q_window, x_window])
            q_orient = np.concatenate([q_orient, x_orient])
        keep = estimate >= MIN_ESTIMATE
        second = self._second_look(_near_misses(assets, estimate, keep), q_code, q_window, q_orient)
        return _best_per_asset(np.concatenate([assets[keep], second[0]]),
                               np.concatenate([estimate[keep], second[1]]), limit)

    def _found_pairs(self, q_code: np.ndarray, q_window: np.ndarray,
                     q_orient: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(asset, estimate) of the plausible stored hashes sharing a chunk with a query hash."""
        q, s, distance = self.hashes.near(q_code)
        distance = distance + ORIENTATION_PENALTY[q_orient[q]]
        plausible = distance <= _FARTHEST  # most found pairs are chance ones, far past any floor
        q, s, distance = q[plausible], s[plausible], distance[plausible]
        return self.asset[s], _estimate(distance, q_window[q], self.window[s])

    def _second_look(self, assets: np.ndarray, q_code: np.ndarray, q_window: np.ndarray,
                     q_orient: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``assets`` whose best pair over all their stored windows clears the floor, with its estimate."""
        starts = self.asset_start[assets]
        counts = self.asset_start[assets + 1] - starts
        rows = self.by_asset[np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))]
        distance = hamming(q_code[:, None], self.hashes.codes[rows][None]) + ORIENTATION_PENALTY[q_orient][:, None]
        best = _estimate(distance, q_window[:, None], self.window[rows][None]).max(axis=0)
        per_asset = np.full(len(assets), -1.0)
        np.maximum.at(per_asset, np.repeat(np.arange(len(assets)), counts), best)
        clear = per_asset >= MIN_ESTIMATE
        return assets[clear], per_asset[clear]

    def _flat_candidates(self, query: ImageFingerprint, limit: int) -> list[Candidate]:
        if len(self.flat_asset) == 0:
            return []
        diff = np.abs(self.flat_thumb.astype(np.int16) - query.thumb.reshape(1, -1).astype(np.int16)).mean(axis=1)
        estimate = np.array([calibrate(float(d), FLAT_KNOTS) for d in diff])
        return _best_per_asset(self.flat_asset, estimate, limit)


def _estimate(distance: np.ndarray, q_window: np.ndarray, s_window: np.ndarray) -> np.ndarray:
    """Pair distances (orientation penalty included) calibrated as ``compare`` does: frame against
    frame on the whole-frame scale, any other pair on the window scale."""
    whole = (q_window == 0) & (s_window == 0)
    return np.where(whole, np.interp(distance, *zip(*FULL_KNOTS, strict=True)),
                    np.interp(distance, *zip(*WINDOW_KNOTS, strict=True)))


def _near_misses(assets: np.ndarray, estimate: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """Assets with a found pair in [SECOND_LOOK_FROM, MIN_ESTIMATE) and none kept, closest first."""
    near = np.flatnonzero((estimate >= SECOND_LOOK_FROM) & ~kept)
    near = near[~np.isin(assets[near], assets[kept])]
    ids, where = np.unique(assets[near], return_inverse=True)
    best = np.full(len(ids), -1.0)
    np.maximum.at(best, where, estimate[near])
    return ids[np.argsort(-best, kind="stable")[:SECOND_LOOK_IMAGES]]


def _query_codes(query: ImageFingerprint) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The query's hashes to look up, with their window and orientation."""
    large = np.array([w for w in LARGE_WINDOWS if query.usable[w]], dtype=np.int64)
    stored = _stored_windows(query)
    common = np.union1d(large, stored)
    codes, windows, orients = [], [], []
    for orientation in range(query.hashes.shape[0]):
        windows_here = common if orientation in COMMON_ORIENTATIONS else stored
        codes.append(query.hashes[orientation, windows_here])
        windows.append(windows_here)
        orients.append(np.full(len(windows_here), orientation))
    return np.concatenate(codes), np.concatenate(windows), np.concatenate(orients)


def _small_window_codes(query: ImageFingerprint) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The identity hashes of the query's windows ``_query_codes`` leaves out."""
    looked_up = np.union1d(LARGE_WINDOWS, _stored_windows(query))
    windows = np.array([w for w in range(len(WINDOW_GRID)) if query.usable[w] and w not in looked_up], dtype=np.int64)
    return query.hashes[0, windows], windows, np.zeros(len(windows), np.int64)


def _best_per_asset(assets: np.ndarray, estimate: np.ndarray, limit: int) -> list[Candidate]:
    order = np.argsort(-estimate, kind="stable")
    _, first = np.unique(assets[order], return_index=True)
    best = order[first]
    best = best[np.argsort(-estimate[best], kind="stable")][:limit]
    return [Candidate(asset=int(assets[i]), evidence=float(estimate[i])) for i in best]
