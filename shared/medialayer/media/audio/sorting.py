"""Stable argsort and unique for non-negative integers, in 16-bit radix passes.

NumPy sorts 16-bit integers stably with a radix sort, in linear time; wider integers fall back to
timsort. Landmark hashes (29 bits) and vote keys (~40 bits) sort in two or three 16-bit passes
several times faster than ``np.argsort(kind="stable")``, in the same order, so every result that
depends on the order stays the same.
"""

from __future__ import annotations

import numpy as np

_DIGIT_BITS = 16
_DIGIT_MASK = (1 << _DIGIT_BITS) - 1


def stable_argsort(values: np.ndarray) -> np.ndarray:
    """``np.argsort(values, kind="stable")`` for a 1-D array of non-negative integers."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.intp)
    bits = max(int(values.max()).bit_length(), 1)
    order = np.argsort((values & _DIGIT_MASK).astype(np.uint16), kind="stable")
    for shift in range(_DIGIT_BITS, bits, _DIGIT_BITS):
        digit = ((values[order] >> shift) & _DIGIT_MASK).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
    return order


def unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` for non-negative integers of a signed type: the
    sorted distinct values, and each value's place among them."""
    order = stable_argsort(values)
    ordered = values[order]
    starts = np.diff(ordered, prepend=-1) != 0
    inverse = np.empty(len(values), dtype=np.intp)
    inverse[order] = np.cumsum(starts) - 1
    return ordered[starts], inverse
