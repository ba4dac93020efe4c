"""An image's fingerprint: dihedral DCT hashes of a grid of windows of its trimmed frame.

Why windows: a crop, an added caption bar, padding or a logo changes the whole frame but leaves
some sub-window of one image equal to some sub-window of the other. Both sides are hashed over
the same grid, so a crop of up to ~30% per axis (at any position) still lines two windows up.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from itertools import product

import numpy as np
from PIL import Image

from medialayer.errors import MediaLayerError
from medialayer.media.image.decode import DecodedImage
from medialayer.media.image.hashing import block_means, dct16, detail, dihedral_hashes

# Per axis, each window covers `scale` of the trimmed frame starting at `offset` of the slack;
# scales and offsets were chosen so a 10%-per-side crop (centred or not) meets a window within a
# few percent of its extent on either side, and so a corner logo of 10% of the area leaves some
# window clear of it (docs/benchmarks.md, Image match).
AXIS_SPANS: tuple[tuple[float, float], ...] = (
    (1.0, 0.0),
    (0.9, 0.0), (0.9, 1.0),
    (0.8, 0.0), (0.8, 0.5), (0.8, 1.0),
    (0.7, 0.0), (0.7, 0.5), (0.7, 1.0),
    (0.6, 0.0), (0.6, 1.0),
)
# (row span index, column span index) of every window; the whole frame is window 0.
WINDOW_GRID: tuple[tuple[int, int], ...] = tuple(product(range(len(AXIS_SPANS)), repeat=2))
# Rows and columns this flat at the edges are letterbox or padding, not picture (luma std units).
BORDER_FLATNESS = 3.0
# Trimming stops at this fraction per side so a mostly flat picture keeps its frame.
MAX_TRIM = 0.3
# Windows whose neighbouring blocks differ by less than this on average are too flat to
# hash reliably (their bits are noise) and never take part in a comparison.
MIN_DETAIL = 1.0
# Thumbnail compared when no window has detail (blank, flat or gradient images).
THUMB = 8

FORMAT_VERSION = 2


@dataclass(frozen=True)
class ImageFingerprint:
    hashes: np.ndarray  # (8, windows, 4) uint64: orientation x window x 256 bits; window 0 is the frame
    detail: np.ndarray  # (windows,) float32: mean neighbouring-block difference, see hashing.detail
    thumb: np.ndarray  # (THUMB, THUMB, 3) uint8 colour thumbnail of the trimmed frame

    @property
    def usable(self) -> np.ndarray:
        """Windows with enough detail to trust their hash."""
        return self.detail >= MIN_DETAIL

    @property
    def has_detail(self) -> bool:
        return bool(self.usable.any())


def trim_borders(luma: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of the picture inside uniform borders (letterbox, padding)."""
    h, w = luma.shape

    def inner(profile_std: np.ndarray, profile_mean: np.ndarray, length: int) -> tuple[int, int]:
        limit = int(length * MAX_TRIM)
        start = 0
        while start < limit and profile_std[start] < BORDER_FLATNESS and \
                abs(profile_mean[start] - profile_mean[0]) < BORDER_FLATNESS:
            start += 1
        end = length
        while length - end < limit and profile_std[end - 1] < BORDER_FLATNESS and \
                abs(profile_mean[end - 1] - profile_mean[-1]) < BORDER_FLATNESS:
            end -= 1
        return start, end

    top, bottom = inner(luma.std(axis=1), luma.mean(axis=1), h)
    left, right = inner(luma.std(axis=0), luma.mean(axis=0), w)
    if bottom - top < 8 or right - left < 8:
        return 0, 0, h, w
    return top, left, bottom, right


def windows_of(frame: tuple[int, int, int, int]) -> np.ndarray:
    """The grid's windows inside ``frame`` as (n, 4) pixel boxes."""
    top, left, bottom, right = frame
    height, width = bottom - top, right - left
    boxes = []
    for row, col in WINDOW_GRID:
        (sy, oy), (sx, ox) = AXIS_SPANS[row], AXIS_SPANS[col]
        y0 = top + (1 - sy) * oy * height
        x0 = left + (1 - sx) * ox * width
        boxes.append((y0, x0, y0 + sy * height, x0 + sx * width))
    return np.array(boxes, dtype=np.float64)


def fingerprint_image(image: DecodedImage) -> ImageFingerprint:
    frame = trim_borders(image.luma)
    windows = windows_of(frame)
    height, width = image.luma.shape
    if frame != (0, 0, height, width):
        # Where trimming is unsure (an object on a white background, shrunk a lot), the two copies
        # may be trimmed differently: the untrimmed frame is one more window to meet on.
        windows = np.vstack([windows, [(0.0, 0.0, height, width)]])
    blocks = block_means(image.luma, windows)
    top, left, bottom, right = frame
    thumb = _thumbnail(image.rgb[top:bottom, left:right])
    return ImageFingerprint(hashes=dihedral_hashes(dct16(blocks)), detail=detail(blocks), thumb=thumb)


def _thumbnail(rgb: np.ndarray) -> np.ndarray:
    small = Image.fromarray(rgb).resize((THUMB, THUMB), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.uint8)


_HEADER = struct.Struct("<BHH")  # version, orientations, windows


def to_bytes(fp: ImageFingerprint) -> bytes:
    n_orient, n_windows, _ = fp.hashes.shape
    return (_HEADER.pack(FORMAT_VERSION, n_orient, n_windows) + fp.hashes.astype("<u8").tobytes()
            + fp.detail.astype("<f2").tobytes() + fp.thumb.tobytes())


def from_bytes(blob: bytes) -> ImageFingerprint:
    try:
        version, n_orient, n_windows = _HEADER.unpack_from(blob)
        if version != FORMAT_VERSION:
            raise ValueError(f"fingerprint version {version}")
        offset = _HEADER.size
        size = n_orient * n_windows * 4 * 8
        hashes = np.frombuffer(blob, dtype="<u8", count=n_orient * n_windows * 4, offset=offset)
        offset += size
        detail_values = np.frombuffer(blob, dtype="<f2", count=n_windows, offset=offset)
        offset += 2 * n_windows
        thumb = np.frombuffer(blob, dtype=np.uint8, count=THUMB * THUMB * 3, offset=offset)
    except (struct.error, ValueError) as exc:
        raise MediaLayerError("invalid_request", f"not an image fingerprint: {exc}") from None
    return ImageFingerprint(hashes=hashes.astype(np.uint64).reshape(n_orient, n_windows, 4),
                            detail=detail_values.astype(np.float32), thumb=thumb.reshape(THUMB, THUMB, 3).copy())
