"""vPDQ (Meta's video hash, PyPI ``vpdq``) as the benchmark's peer, with its default matching rule.

vPDQ hashes one frame per second with PDQ. Its brute-force match (ThreatExchange's
``match_VPDQ_hash_brute``) drops frames of quality under 50, de-duplicates identical hashes and
counts the query's frames that have a target frame within 31 bits; the default rule calls a
match at 80 % of the query's frames. It has no notion of time, so it reports no segments.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DISTANCE = 31
QUALITY = 50
QUERY_PERCENT = 80.0

try:
    import vpdq
except ImportError as exc:  # pragma: no cover - reported by the bench
    vpdq = None
    IMPORT_ERROR: str | None = f"{type(exc).__name__}: {exc}"
else:
    IMPORT_ERROR = None


def vpdq_hash(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(hashes as (n, 32) uint8 bytes of the kept frames, their timestamps)."""
    features = vpdq.computeHash(str(path), seconds_per_hash=1, thread_count=1)
    kept = {}
    for f in features:
        if f.quality >= QUALITY and f.hex not in kept:
            kept[f.hex] = f.timestamp
    if not kept:
        return np.zeros((0, 32), np.uint8), np.zeros(0)
    hashes = np.array([np.frombuffer(bytes.fromhex(h), np.uint8) for h in kept])
    return hashes, np.array(list(kept.values()), dtype=np.float64)


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.unpackbits(a[:, None, :] ^ b[None, :, :], axis=2).sum(axis=2)


def vpdq_query_percent(query: np.ndarray, target: np.ndarray) -> float:
    """Share (%) of the query's frames with a target frame within DISTANCE bits."""
    if len(query) == 0 or len(target) == 0:
        return 0.0
    return float((_distances(query, target).min(axis=1) <= DISTANCE).mean() * 100)


def pdq_still_in(still: np.ndarray, target: np.ndarray, times: np.ndarray) -> tuple[bool, float | None]:
    """A still's PDQ hash (32 bytes) against vPDQ's frames: found, and the closest frame's time."""
    if len(target) == 0:
        return False, None
    d = _distances(still[None, :], target)[0]
    best = int(d.argmin())
    return bool(d[best] <= DISTANCE), float(times[best])


def pdq_image(path: Path) -> np.ndarray:
    import pdqhash
    from PIL import Image

    bits, _quality = pdqhash.compute(np.asarray(Image.open(path).convert("RGB")))
    return np.packbits(bits.astype(np.uint8))
