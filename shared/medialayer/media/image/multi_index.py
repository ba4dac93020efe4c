"""Multi-index hashing (Norouzi, Punjani & Fleet, 2012) over 256-bit hashes.

Two hashes within ~24 bits of 256 almost surely agree exactly on one of 16 16-bit chunks (at 40
bits, 2 times in 3; at 56, 1 in 4), so each chunk gets a bucket table (CSR: positions grouped by
chunk value) and a lookup gathers the stored hashes sharing at least one bucket with a query hash;
their full distances come after. An edited copy has many close window pairs, and one found is enough.
"""

from __future__ import annotations

import numpy as np

from medialayer.media.image.hashing import hamming

CHUNKS = 16


def chunks(codes: np.ndarray) -> np.ndarray:
    """(n, 4) uint64 hashes to (n, 16) uint16 chunks."""
    return np.ascontiguousarray(codes, dtype=np.uint64).view(np.uint16).reshape(-1, CHUNKS)


# Pairs whose first 64 bits differ in more than this many are dropped before the full distance is
# taken: unrelated hashes differ in 32 +- 4 of them, and a pair within 80 bits of 256 (the index's
# floor) in ~20 +- 4. Reading one word instead of four per pair is what keeps 1M-image shards fast.
MAX_FIRST_WORD_BITS = 30


class MultiIndex:
    def __init__(self, codes: np.ndarray) -> None:
        self.codes = np.ascontiguousarray(codes, dtype=np.uint64).reshape(-1, 4)
        self.first_word = np.ascontiguousarray(self.codes[:, 0])
        parts = chunks(self.codes)
        self.order = [np.argsort(parts[:, j], kind="stable").astype(np.uint32) for j in range(CHUNKS)]
        self.offsets = [np.concatenate([[0], np.cumsum(np.bincount(parts[:, j], minlength=1 << 16))])
                        for j in range(CHUNKS)]

    def __len__(self) -> int:
        return len(self.codes)

    def near(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(query index, stored index, Hamming distance) of pairs sharing a chunk and plausibly near;
        a pair sharing several chunks may appear more than once."""
        empty = np.zeros(0, np.int64)
        if len(self.codes) == 0 or len(query) == 0:
            return empty, empty, empty
        parts = chunks(query)
        qs, ss = [], []
        for j in range(CHUNKS):
            values = parts[:, j].astype(np.int64)
            starts = self.offsets[j][values]
            counts = self.offsets[j][values + 1] - starts
            total = int(counts.sum())
            if total:
                qs.append(np.repeat(np.arange(len(query)), counts))
                ss.append(self.order[j][np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)])
        if not qs:
            return empty, empty, empty
        q, s = np.concatenate(qs), np.concatenate(ss)
        close = np.bitwise_count(query[q, 0] ^ self.first_word[s]) <= MAX_FIRST_WORD_BITS
        q, s = q[close], s[close]
        # np.take gathers rows several times faster than fancy indexing of a 2-D array.
        return q, s, hamming(np.take(query, q, axis=0), np.take(self.codes, s, axis=0)).astype(np.int64)
