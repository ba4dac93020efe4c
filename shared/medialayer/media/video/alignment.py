"""Frame matches to time-aligned segments: offset voting on a fixed sample grid, then runs.

Each kept frame is expanded back to the samples it stands for, so both videos sit on the same
``1 / sample_fps`` grid whatever their frame rates. Every pair of samples whose hashes are close
votes, with a weight that falls with their distance, for the offset ``t_target - t_source``; one
vote per source sample and offset (a still picture held for 10 s is not 20 pieces of evidence for
one offset). The best offset is a line; its hits form runs (segments); lines are peeled one by
one, so a clip reused twice gives two segments.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from medialayer.media.video.fingerprint import VideoFingerprint
from medialayer.media.video.frames import frame_distances

# Frame distance (bits of 256) -> weight of its vote. On the corpus the matched line's median
# distance is 2-10 bits for every transform (logo box and letterbox included, thanks to the corner
# windows and the trim), while frames of distinct videos stay >= 92 (0.1 % quantile 102) over
# 554k pairs (docs/benchmarks.md, Video match). The gentle slope below 40 bits lets the closest
# offset win where a static shot matches at every offset.
FRAME_KNOTS = ((0, 1.0), (8, 1.0), (40, 0.8), (56, 0.5), (72, 0.0))
# Offsets are voted in bins of this width (half a sample step).
BIN_S = 0.25
# A source sample hits a line when it has a target sample within this time of it and at least
# this weight; a run starts at a hit and continues through weaker matches (any weight) and gaps.
LINE_TOLERANCE_S = 0.5
HIT_WEIGHT = 0.5
# A run of hits continues across up to this much time of samples that could have matched but did
# not (a flash, an insert); flat frames and stretches one side did not decode do not count.
MAX_GAP_S = 3.0
# Lines are peeled while they hold this much evidence, up to MAX_LINES.
MIN_LINE_EVIDENCE = 1.0
MAX_LINES = 4


@dataclass(frozen=True)
class Run:
    source_start: float
    source_end: float
    target_start: float
    target_end: float
    evidence: float


@dataclass
class VisualAlignment:
    evidence: float = 0.0  # distinct pictures matched on the best line, weighted
    offset_s: float = 0.0  # target time - source time on the best line
    mirrored: bool = False
    hits: int = 0  # source samples on the best line
    runs: list[Run] = field(default_factory=list)
    frame_distance: float = 256.0  # median distance of the best line's hits

    @property
    def covered_s(self) -> float:
        """Source seconds covered by the runs (overlaps counted once)."""
        spans = sorted((r.source_start, r.source_end) for r in self.runs)
        total, end = 0.0, -np.inf
        for start, stop in spans:
            start = max(start, end)
            if stop > start:
                total += stop - start
                end = stop
        return total


@dataclass(frozen=True)
class _Grid:
    times: np.ndarray  # (s,) sample times
    kept: np.ndarray  # (s,) index of the kept frame each sample shows
    step: float


def expand(fp: VideoFingerprint) -> _Grid:
    """Every sample each kept frame stands for, on the fingerprint's grid."""
    cached = fp.cache.get("grid")
    if cached is not None:
        return cached
    step = 1.0 / fp.sample_fps
    counts = np.maximum(1, np.rint((fp.ends - fp.times) / step)).astype(np.int64)
    kept = np.repeat(np.arange(len(fp)), counts)
    within = np.arange(len(kept)) - np.repeat(np.cumsum(counts) - counts, counts)
    grid = _Grid(times=fp.times[kept].astype(np.float64) + within * step, kept=kept, step=step)
    fp.cache["grid"] = grid
    return grid


def frame_weights(distances: np.ndarray) -> np.ndarray:
    xs, ys = zip(*FRAME_KNOTS, strict=True)
    return np.interp(distances, xs, ys).astype(np.float32)


def _pairs(source: VideoFingerprint, target: VideoFingerprint, mirrored: bool
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sample pairs that can vote: (source sample, target sample, weight, distance)."""
    gs, gt = expand(source), expand(target)
    whole, corners = (source.mirrored, source.corners_mirrored) if mirrored else (source.hashes, source.corners)
    distances = frame_distances(whole, corners, target.hashes, target.corners)
    usable = source.usable[:, None] & target.usable[None, :]
    kept_weights = np.where(usable, frame_weights(distances), 0.0)
    ks, kt = np.nonzero(kept_weights > 0)
    if len(ks) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, np.float32), np.zeros(0, np.float32)
    # Expand kept-frame pairs to sample pairs: every sample of one frame with every sample of the other
    # (each kept frame's samples are one contiguous range of its grid).
    s_start, s_count = _ranges(gs.kept, len(source))
    t_start, t_count = _ranges(gt.kept, len(target))
    sizes = s_count[ks] * t_count[kt]
    pair = np.repeat(np.arange(len(ks)), sizes)
    local = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    width = t_count[kt][pair]
    si = s_start[ks][pair] + local // width
    ti = t_start[kt][pair] + local % width
    return si, ti, kept_weights[ks, kt][pair].astype(np.float32), distances[ks, kt][pair]


def _ranges(kept: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """First sample and sample count of each kept frame."""
    counts = np.bincount(kept, minlength=n)
    return np.cumsum(counts) - counts, counts


def _best_offset(si: np.ndarray, offsets: np.ndarray, w: np.ndarray, n_source: int) -> tuple[float, float]:
    """The offset with the most votes, one per source sample per window of two bins (BIN_S * 2 =
    one sample step: two grids half a sample apart still meet in one window, while the next sample
    of a still picture, a whole step away, does not); exact votes place it within the window."""
    bins = np.rint(offsets / BIN_S).astype(np.int64)
    lo = int(bins.min())
    width = int(bins.max()) - lo + 2
    table = np.zeros((n_source, width), dtype=np.float32)
    np.maximum.at(table, (si, bins - lo), w)
    exact = table.sum(axis=0)
    votes = np.maximum(table[:, :-1], table[:, 1:]).sum(axis=0)
    best = int(np.argmax(votes + 1e-3 * (exact[:-1] + exact[1:])))
    near = np.array([best, best + 1])
    centre = float(np.average(near, weights=exact[near] + 1e-9)) + lo
    return centre * BIN_S, float(votes[best])


def _line(source: VideoFingerprint, target: VideoFingerprint, si: np.ndarray, ti: np.ndarray, w: np.ndarray,
          d: np.ndarray, offset: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per source sample on the line: best weight, and the distance of that pair; and the pairs used."""
    gs, gt = expand(source), expand(target)
    on = np.abs(gt.times[ti] - gs.times[si] - offset) <= LINE_TOLERANCE_S
    best_w = np.zeros(len(gs.times), dtype=np.float32)
    np.maximum.at(best_w, si[on], w[on])
    best_d = np.full(len(gs.times), 256.0, dtype=np.float32)
    np.minimum.at(best_d, si[on], d[on])
    return best_w, best_d, on


def _testable(source: VideoFingerprint, target: VideoFingerprint, offset: float) -> np.ndarray:
    """Source samples that could have matched on the line: both sides decoded there and not flat."""
    gs, gt = expand(source), expand(target)
    mapped = gs.times + offset
    right = np.clip(np.searchsorted(gt.times, mapped), 0, len(gt.times) - 1)
    left = np.clip(right - 1, 0, len(gt.times) - 1)
    nearest = np.where(np.abs(gt.times[left] - mapped) < np.abs(gt.times[right] - mapped), left, right)
    seen = np.abs(gt.times[nearest] - mapped) <= LINE_TOLERANCE_S
    return seen & source.usable[gs.kept] & target.usable[gt.kept[nearest]]


def _runs(source: VideoFingerprint, target: VideoFingerprint, weights: np.ndarray, claimed: np.ndarray,
          offset: float) -> list[Run]:
    """Runs along the line: hits, joined through weaker matches, flat or undecoded stretches, and
    up to MAX_GAP_S of samples that could have matched but did not."""
    gs = expand(source)
    free = ~claimed
    hits = np.nonzero((weights >= HIT_WEIGHT) & free)[0]
    if len(hits) == 0:
        return []
    some = np.nonzero((weights > 0) & free)[0]
    testable = _testable(source, target, offset)
    misses = np.concatenate([[0], np.cumsum(testable & (weights <= 0))])
    between = misses[some[1:]] - misses[some[:-1] + 1]
    cuts = np.nonzero(between * gs.step > MAX_GAP_S)[0] + 1
    out = []
    for run in np.split(some, cuts):
        run_hits = run[weights[run] >= HIT_WEIGHT]
        if len(run_hits) == 0:
            continue
        # Weak matches at the ends do not stretch the run: edges are where the hits start and stop,
        # or halfway into what neither side could test (frames not decoded), up to the overlap's end.
        first, last = int(run_hits[0]), int(run_hits[-1])
        before = np.nonzero(testable[:first])[0]
        after = np.nonzero(testable[last + 1 :])[0]
        s0 = (float(gs.times[before[-1]]) + gs.step + float(gs.times[first])) / 2 if len(before) else 0.0
        s1 = float(gs.times[last]) + gs.step
        s1 = (s1 + float(gs.times[last + 1 + after[0]])) / 2 if len(after) else np.inf
        s0 = max(s0, -offset)
        s1 = min(s1, source.duration_s, target.duration_s - offset)
        if s1 <= s0:
            continue
        out.append(Run(s0, s1, s0 + offset, s1 + offset, _distinct_evidence(gs.kept[run_hits], weights[run_hits])))
    return out


def _distinct_evidence(kept: np.ndarray, weights: np.ndarray) -> float:
    """Sum over distinct pictures (kept frames) of their best weight."""
    best: dict[int, float] = {}
    for k, w in zip(kept.tolist(), weights.tolist(), strict=True):
        best[k] = max(best.get(k, 0.0), w)
    return float(sum(best.values()))


def align_visual(source: VideoFingerprint, target: VideoFingerprint) -> VisualAlignment:
    """The best of the identity and mirrored alignments of ``source`` onto ``target``."""
    results = [_align(source, target, mirrored) for mirrored in (False, True)]
    return max(results, key=lambda r: (r.evidence, not r.mirrored))


def _align(source: VideoFingerprint, target: VideoFingerprint, mirrored: bool) -> VisualAlignment:
    result = VisualAlignment(mirrored=mirrored)
    if len(source) == 0 or len(target) == 0:
        return result
    si, ti, w, d = _pairs(source, target, mirrored)
    gs, gt = expand(source), expand(target)
    alive = np.ones(len(si), dtype=bool)
    claimed = np.zeros(len(gs.times), dtype=bool)
    for n in range(MAX_LINES):
        live = alive & ~claimed[si]
        if not live.any():
            break
        offset, _ = _best_offset(si[live], gt.times[ti[live]] - gs.times[si[live]], w[live], len(gs.times))
        best_w, best_d, on = _line(source, target, si[live], ti[live], w[live], d[live], offset)
        hits = (best_w >= HIT_WEIGHT) & ~claimed
        runs = _runs(source, target, best_w, claimed, offset)
        evidence = max((r.evidence for r in runs), default=0.0)
        if n == 0:
            result.evidence, result.offset_s, result.hits = evidence, offset, int(hits.sum())
            result.frame_distance = float(np.median(best_d[hits])) if hits.any() else 256.0
        if evidence < MIN_LINE_EVIDENCE and n > 0:
            break
        result.runs += runs
        claimed |= hits
        alive[np.nonzero(live)[0][on]] = False
    return result
