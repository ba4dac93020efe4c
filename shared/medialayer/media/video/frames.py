"""Sampled frames to PDQ-style hashes: one picture box per video, then the image engine's hashing.

Letterbox and pillarbox bars are found once per video (a dark scene must not move the box from
frame to frame): each frame with picture is trimmed as the image engine trims, and the box is
the largest trim that most frames agree on. Each frame is then hashed as a whole and in four
corner windows (a logo or caption in one corner leaves the opposite windows clean), in the
identity orientation and mirrored (the coefficients of a mirror are the odd frequencies negated).
"""

from __future__ import annotations

import numpy as np

from medialayer.media.image.fingerprint import MIN_DETAIL, trim_borders
from medialayer.media.image.hashing import block_means, dct16, detail, hamming, orient, to_bits

# The box keeps what this share of the frames shows: a few frames with a title in the bars, or
# dark scenes trimmed further, do not move it.
BOX_PERCENTILE = 20
# Corner windows as (top, left) fractions of the slack; each covers CORNER_SCALE of each axis.
# Order: top-left, top-right, bottom-left, bottom-right. A mirror swaps left and right.
CORNER_SCALE = 0.7
CORNERS = ((0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0))
MIRRORED_CORNER = (1, 0, 3, 2)
# A corner window must match by this many more bits than the whole picture: it has less picture
# and four chances instead of one.
CORNER_PENALTY = 6


def picture_box(frames: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of the picture inside constant bars, for the whole video."""
    _, height, width = frames.shape
    trims = np.array([trim_borders(f.astype(np.float32)) for f in frames])
    # Flat frames (black, fades) trim to their limits and say nothing about the bars.
    varied = frames.reshape(len(frames), -1).std(axis=1) >= 3.0
    if varied.any():
        trims = trims[varied]
    top, left = (int(np.percentile(trims[:, k], BOX_PERCENTILE)) for k in (0, 1))
    bottom, right = (int(np.ceil(np.percentile(trims[:, k], 100 - BOX_PERCENTILE))) for k in (2, 3))
    if bottom - top < 8 or right - left < 8:
        return 0, 0, height, width
    return top, left, bottom, right


def _windows(box: tuple[int, int, int, int]) -> np.ndarray:
    top, left, bottom, right = box
    h, w = bottom - top, right - left
    out = [(top, left, bottom, right)]
    for fy, fx in CORNERS:
        y0, x0 = top + (1 - CORNER_SCALE) * fy * h, left + (1 - CORNER_SCALE) * fx * w
        out.append((y0, x0, y0 + CORNER_SCALE * h, x0 + CORNER_SCALE * w))
    return np.array(out, dtype=np.float64)


def hash_pictures(lumas: list[np.ndarray] | np.ndarray, box: tuple[int, int, int, int] | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hashes of pictures (inside ``box``, else each one's own trim): identity (n, 5, 4) uint64 and
    mirrored (n, 5, 4) uint64, window 0 the whole picture and 1-4 the corners (the mirrored ones
    in the mirrored picture's order), and the whole picture's detail (n,) float32."""
    blocks = []
    for luma in lumas:
        luma = np.asarray(luma, dtype=np.float32)
        blocks.append(block_means(luma, _windows(box if box is not None else trim_borders(luma))))
    stacked = np.stack(blocks) if blocks else np.zeros((0, 1 + len(CORNERS), 32, 32), dtype=np.float32)
    coefficients = dct16(stacked)
    mirrored = orient(coefficients, False, True, False)[:, (0, *(1 + k for k in MIRRORED_CORNER))]
    return to_bits(coefficients), to_bits(mirrored), detail(stacked[:, 0]).astype(np.float32)


def has_detail(values: np.ndarray) -> np.ndarray:
    """Frames with enough detail for their hash to mean something (the image engine's bar)."""
    return values >= MIN_DETAIL


def frame_distances(whole_a: np.ndarray, corners_a: np.ndarray, whole_b: np.ndarray, corners_b: np.ndarray
                    ) -> np.ndarray:
    """(a, b) distances between pictures: the whole pictures', or the best corner's plus CORNER_PENALTY."""
    whole = hamming(whole_a[:, None, :], whole_b[None, :, :])
    corners = hamming(corners_a[:, None, :, :], corners_b[None, :, :, :]).min(axis=2)
    return np.minimum(whole, corners + CORNER_PENALTY).astype(np.float32)
