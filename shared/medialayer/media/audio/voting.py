"""Offset votes of hash matches: each match of a source landmark with a target landmark votes for
the offset ``t_target - scale * t_source`` it implies, and an aligned occurrence is a 3-frame
window of offsets that many matches share. Peeling takes one line's matches out at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medialayer.media.audio.sorting import stable_argsort, unique_inverse

# A line to verify: (votes, band shift, lookup scale, vote scale, offset centre in frames).
Candidate = tuple[int, float, float, float, float]


@dataclass(frozen=True)
class Matches:
    tq: np.ndarray  # source anchor frames
    tt: np.ndarray  # target anchor frames
    dq: np.ndarray  # source pair gaps (frames)
    fq: np.ndarray  # source anchor bands
    ft: np.ndarray  # target anchor bands


def _offset_counts(tq: np.ndarray, tt: np.ndarray, scale: float) -> tuple[np.ndarray, int]:
    """Votes per 3-frame offset window (index + lo = offset, frames) for the line of slope ``scale``."""
    off = np.rint(tt - scale * tq).astype(np.int64)
    lo = int(off.min())
    # One vote per (offset, source anchor frame): the triplets of one coinciding chord would
    # otherwise outvote a sparse but genuine alignment (docs/benchmarks.md: false matches).
    key = np.unique((off - lo) * (1 << 24) + tq.astype(np.int64))
    return _windows(np.bincount(key >> 24)), lo


def _windows(counts: np.ndarray) -> np.ndarray:
    """Votes per offset summed over 3-frame windows (a line's votes split by rounding still meet)."""
    if len(counts) < 3:
        return counts
    # Two shifted adds: np.convolve took ~4x as long on these short kernels (~100 calls per clip).
    out = counts.copy()
    out[1:] += counts[:-1]
    out[:-1] += counts[1:]
    return out


def best_offset(tq: np.ndarray, tt: np.ndarray, scale: float) -> tuple[int, float]:
    """Votes of the best 3-frame offset window and its centre (frames) for the line of slope ``scale``."""
    counts, lo = _offset_counts(tq, tt, scale)
    best = int(np.argmax(counts))
    return int(counts[best]), float(best + lo)


class PeelVotes:
    """``best_offset`` of the matches still live, for repeated peeling along one slope: the
    (offset, source anchor frame) pairs are made distinct once, and each peel takes its matches off
    their pairs' counts, so a peel counts with bincounts instead of sorting the live matches again
    (a 3-minute self-match: ~160 -> ~90 ms of peeling)."""

    def __init__(self, off: np.ndarray, tq: np.ndarray) -> None:
        """``off``: each match's offset at the peel's slope, ``tt - scale * tq``."""
        off = np.rint(off).astype(np.int64)
        self.lo = int(off.min()) if len(off) else 0
        pairs, self.pair_of = unique_inverse((off - self.lo) * (1 << 24) + tq.astype(np.int64))
        self.pair_off = pairs >> 24  # ascending
        self.live = np.bincount(self.pair_of, minlength=len(pairs))  # live matches per pair

    def drop(self, peeled: np.ndarray) -> None:
        """Take the matches at indices ``peeled`` off their pairs."""
        self.live -= np.bincount(self.pair_of[peeled], minlength=len(self.live))

    def best(self) -> tuple[int, float]:
        """Votes and centre (frames) of the best 3-frame offset window among the live matches."""
        live_pairs = self.live > 0
        # Over the span of the live offsets only, as _offset_counts sees it (ties and edges included).
        first = int(self.pair_off[np.argmax(live_pairs)])
        counts = _windows(np.bincount(self.pair_off[live_pairs])[first:])
        best = int(np.argmax(counts))
        return int(counts[best]), float(best + first + self.lo)


class ByOffset:
    """The live matches near an offset line, found by bisection in an offset order made once
    instead of a pass over every live match per peeled line (16 lines over 140,000 matches of a
    3-minute pair). Indices come back ascending, in the matches' own order."""

    def __init__(self, tq: np.ndarray, tt: np.ndarray, scale: float) -> None:
        self.tq, self.tt, self.scale = tq, tt, scale
        self.off = tt - scale * tq
        self.base = float(self.off.min()) if len(tq) else 0.0
        # Whole frames of offset are order enough (bisection only has to bracket), and an integer
        # key sorts in one radix pass where float offsets need a comparison sort.
        key = np.floor(self.off - self.base).astype(np.int64)
        self.order = stable_argsort(key)
        self.sorted_key = key[self.order]
        self.live = np.ones(len(tq), dtype=bool)
        self.n_live = len(tq)
        self.tq_span = (float(tq.min()), float(tq.max())) if len(tq) else (0.0, 0.0)

    def _within(self, lo: float, hi: float) -> np.ndarray:
        """Live matches whose offset at the scale lies in ``[lo, hi]`` (or a frame beside)."""
        # Integer needles: a float one makes searchsorted convert the whole key array first.
        i0 = np.searchsorted(self.sorted_key, int(np.floor(lo - self.base)) - 1, side="left")
        i1 = np.searchsorted(self.sorted_key, int(np.floor(hi - self.base)) + 1, side="right")
        idx = np.sort(self.order[i0:i1])
        return idx[self.live[idx]]

    def near(self, centre: float, width: float) -> np.ndarray:
        """Live matches within ``width`` frames of the offset ``centre`` at the scale."""
        idx = self._within(centre - width, centre + width)
        return idx[np.abs(self.off[idx] - centre) <= width]

    def on_line(self, slope: float, intercept: float, width: float) -> np.ndarray:
        """Live matches within ``width`` frames of ``t_target = slope * t_source + intercept``."""
        # At the scale, the line's offsets drift by (slope - scale) * t_source over the sources' span.
        drift = [(slope - self.scale) * t for t in self.tq_span]
        idx = self._within(intercept + min(drift) - width, intercept + max(drift) + width)
        return idx[np.abs(self.tt[idx] - slope * self.tq[idx] - intercept) <= width]

    def drop(self, idx: np.ndarray) -> None:
        """Take the matches at indices ``idx`` (peeled) out of every later search."""
        self.live[idx] = False
        self.n_live -= len(idx)


def runner_up_offsets(tq: np.ndarray, tt: np.ndarray, scale: float, k: int, min_votes: int) -> list[tuple[int, float]]:
    """The next ``k`` best offset windows after the best, each at least 3 frames from the ones before
    and holding ``min_votes``."""
    counts, lo = _offset_counts(tq, tt, scale)  # a fresh array: zeroed in place below
    out: list[tuple[int, float]] = []
    for n in range(k + 1):
        best = int(np.argmax(counts))
        if counts[best] < min_votes:
            break
        if n:
            out.append((int(counts[best]), float(best + lo)))
        counts[max(0, best - 2) : best + 3] = 0
    return out
