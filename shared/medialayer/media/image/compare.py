"""Two image fingerprints to a calibrated similarity.

The evidence is the smallest Hamming distance between a window of one image and a window of the
other in any of the 8 orientations. Whole-frame pairs and sub-window pairs are calibrated apart:
there are 81x8x81 sub-window pairs to choose the best from, so chance alone finds closer ones and
their distance must be smaller to mean the same.
"""

from __future__ import annotations

import numpy as np

from medialayer.media.base import Comparison
from medialayer.media.image.fingerprint import ImageFingerprint
from medialayer.media.image.hashing import DIHEDRAL, hamming

NO_MATCH = 256
# Piecewise-linear maps from distance (of 256 bits) to similarity; the 0.85 knot is the operating
# point. Measured on the public corpus (docs/benchmarks.md, Image match): distinct photos' best
# whole-frame distance stays above FULL_KNOTS' 0.85 distance, their best window distance above
# WINDOW_KNOTS' 0.85 distance, with margin.
FULL_KNOTS = ((0, 1.0), (16, 0.95), (60, 0.85), (76, 0.6), (96, 0.2), (128, 0.0))
WINDOW_KNOTS = ((0, 1.0), (16, 0.95), (44, 0.85), (60, 0.6), (80, 0.2), (128, 0.0))
# Detailed windows are less likely to agree by chance than flat ones (objects on white, sky): a
# window pair whose lesser detail is D may be DETAIL_BONUS_PER_DOUBLING * log2(D / DETAIL_BONUS_FROM)
# bits further apart (at most DETAIL_BONUS_MAX) for the same similarity. Distinct corpus photos
# that come close are all low-detail pairs (docs/benchmarks.md, Image match).
DETAIL_BONUS_FROM = 6.0
DETAIL_BONUS_PER_DOUBLING = 4.0
DETAIL_BONUS_MAX = 8.0
# Uploads are often mirrored but seldom upside down or turned: the six rarer orientations need a
# few more matching bits, which keeps their 6x more chances from adding chance matches.
ORIENTATION_PENALTY = np.array([0, 0, 10, 10, 10, 10, 10, 10], dtype=np.float32)  # order of hashing.DIHEDRAL
# Blank or flat images (no window with detail) match only when their colour thumbnails do:
# mean absolute difference per channel (0..255) at the 0.85 point.
FLAT_KNOTS = ((0, 1.0), (4, 0.9), (8, 0.85), (16, 0.5), (48, 0.0))


def calibrate(distance: float, knots: tuple[tuple[float, float], ...]) -> float:
    xs, ys = zip(*knots, strict=True)
    return float(np.interp(distance, xs, ys))


def compare_images(a: ImageFingerprint, b: ImageFingerprint) -> Comparison:
    if not (a.has_detail and b.has_detail):
        if a.has_detail or b.has_detail:
            return Comparison(similarity=0.0, details={"evidence": "detail_mismatch"})
        diff = float(np.abs(a.thumb.astype(np.int16) - b.thumb.astype(np.int16)).mean())
        return Comparison(similarity=round(calibrate(diff, FLAT_KNOTS), 4),
                          details={"evidence": "flat_thumbnail", "thumb_difference": round(diff, 2)})
    # (windows of a, orientations, windows of b)
    distances = hamming(a.hashes[0][:, None, None, :], b.hashes[None, :, :, :])
    usable = a.usable[:, None, None] & b.usable[None, None, :]
    distances = np.where(usable, distances + ORIENTATION_PENALTY[None, :, None], NO_MATCH)
    full = int(distances[0, :, 0].min())
    lesser_detail = np.minimum(a.detail[:, None, None], b.detail[None, None, :])
    bonus = np.clip(DETAIL_BONUS_PER_DOUBLING * np.log2(np.maximum(lesser_detail, 1e-3) / DETAIL_BONUS_FROM),
                    0.0, DETAIL_BONUS_MAX)
    effective = distances - bonus
    best = np.unravel_index(int(effective.argmin()), effective.shape)
    window = float(effective[best])
    full_similarity = calibrate(full, FULL_KNOTS)
    window_similarity = calibrate(window, WINDOW_KNOTS)
    use_full = full_similarity >= window_similarity
    orientation = int(distances[0, :, 0].argmin()) if use_full else int(best[1])
    return Comparison(
        similarity=round(max(full_similarity, window_similarity), 4),
        details={"evidence": "whole_frame" if use_full else "window", "full_distance": full,
                 "window_distance": int(distances[best]), "window_effective_distance": round(window, 1),
                 "orientation": _orientation_name(orientation)},
    )


def _orientation_name(index: int) -> str:
    flip_v, flip_h, transpose = DIHEDRAL[index]
    return {(False, False, False): "identity", (False, True, False): "mirrored",
            (True, False, False): "flipped", (True, True, False): "rotated_180",
            (False, False, True): "transposed", (True, False, True): "rotated_90",
            (False, True, True): "rotated_270", (True, True, True): "transverse"}[(flip_v, flip_h, transpose)]
