"""Radix argsort and unique: the same answers as NumPy's stable sort, at any key width."""

from __future__ import annotations

import numpy as np
import pytest

from medialayer.media.audio.sorting import stable_argsort, unique_inverse


@pytest.mark.parametrize("top", [1, 2**16 - 1, 2**29, 2**40])
def test_stable_argsort_orders_as_numpy_stable_sort(top: int) -> None:
    values = np.random.default_rng(top).integers(0, top + 1, 5000)
    assert np.array_equal(stable_argsort(values), np.argsort(values, kind="stable"))


def test_unique_inverse_is_numpy_unique() -> None:
    values = np.random.default_rng(1).integers(0, 2**37, 4000) // 997  # many repeats
    uniques, inverse = unique_inverse(values)
    want = np.unique(values, return_inverse=True)
    for got, expected in zip((uniques, inverse), want, strict=True):
        assert np.array_equal(got, expected)


def test_empty_input() -> None:
    assert len(stable_argsort(np.zeros(0, np.int64))) == 0
    assert all(len(a) == 0 for a in unique_inverse(np.zeros(0, np.int64)))
