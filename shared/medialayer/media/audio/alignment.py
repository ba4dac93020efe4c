"""Hash matches to aligned segments: shifted lookups, offset voting, then peeling consistent runs.

``source`` pairs are re-hashed under a small grid of pitch shifts and time scales and joined with
the ``target``'s sorted hashes; each lookup votes on the offset ``t_target - scale * t_source``.
The winning (shift, scale) line is refined by least squares, and matches are peeled off one offset
line at a time, so repeated or re-ordered content yields one segment per occurrence. Weak lines
(heavy noise, a louder mix) are checked peak by peak (``verification``), including the best
offsets of a scan over every offset for clips that no lookup voted for confidently, and the best
offsets of the clip's dense band-energy changes (``changes``) scanned the same way, and of both
statistics together.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from functools import partial

import numpy as np

from medialayer.media.audio.calibration import Z_KNOTS, evidence_z, joint_z
from medialayer.media.audio.changes import Transforms, part_z, scan_fingerprints
from medialayer.media.audio.fingerprint import AudioFingerprint
from medialayer.media.audio.landmarks import HashIndex, Landmarks, build_index, build_landmarks, hash_landmarks, join
from medialayer.media.audio.sorting import stable_argsort, unique_inverse
from medialayer.media.audio.spectrogram import BANDS_PER_OCTAVE, FRAME_SECONDS, HOP, N_FFT
from medialayer.media.audio.verification import offset_z, peak_overlap_z, peak_overlap_zs, top_offsets

# Pitch shifts tried (bands; 0.5 band = 1.45 %): +-2 bands covers +-5.9 % (docs/benchmarks.md, pitch rows).
BAND_SHIFTS = (0.0, -0.5, 0.5, -1.0, 1.0, -1.5, 1.5, -2.0, 2.0)
# Time scales used to stretch the pair gaps for lookups, and the finer scales each lookup votes
# with (a 10 s clip drifts 0.5 frame per 0.16 % of scale error).
LOOKUP_SCALES = (1.0, 0.95, 0.975, 1.025, 1.05)
VOTE_SUBSCALES = (-0.01, -0.005, 0.0, 0.005, 0.01)
# A lookup whose best offset already holds this many votes, at the lookup's own scale, ends the
# search (fast path for plain copies). Counted in the lookup's own votes, sampled or not: scaled up
# by the sample's stride (1 in 10-14 for 3-minute sources), the 7-11 votes of a chance line between
# unrelated stretches of long music had ended the search, and a long copy 5 % higher or faster was
# reported at a wrong offset or not at all (docs/benchmarks.md: long copies).
CONFIDENT_VOTES = 60
# Above this many source landmarks the grid search samples them (compare time of long pairs,
# docs/benchmarks.md: "Pair of 3-minute tracks"; 30000 -> 12000 took the unrelated compare from ~340
# to ~180 ms, and a genuine long match keeps hundreds of votes per sampled lookup).
GRID_MAX_LANDMARKS = 12000
# Inliers lie within this many frames of the offset line (~50 ms).
INLIER_FRAMES = 1.5
# A run continues across gaps in matches up to this long (frames; ~4 s of masking or silence).
MAX_GAP_FRAMES = 125
# Up to this many offset lines are peeled; each must hold MIN_LINE_VOTES votes.
MAX_LINES = 16
MIN_LINE_VOTES = 6
# The best lines of this many lookups are verified peak by peak (verification.py); a line with too
# few votes to trace runs still counts as one run over the overlap when its z-score reaches MIN_RUN_Z.
VERIFY_CANDIDATES = 4
MIN_RUN_Z = 5.0
# Under heavy noise or a louder mix the true line is often only the 2nd-4th best offset of its lookup:
# the runners-up of the first RUNNER_UP_LOOKUPS lookups (unshifted first) are verified too. A line
# needs MIN_Z_VOTES votes before its z-score counts: music in one key lines peaks up by chance.
# 3 x 3 on a 20-track tuning run: pink 0 dB 0.775 -> 0.80, mixed 0.575 -> 0.60, no new false match;
# 8 x 9 added one clip in 40 for 25 % more query time.
RUNNER_UPS = 3
RUNNER_UP_LOOKUPS = 3
MIN_Z_VOTES = 3
# Below CONFIDENT_VOTES the best SCAN_CANDIDATES offsets of a peak-by-peak scan of every offset
# (unchanged pitch and tempo: noise and mixes) are verified too, for sources up to SCAN_MAX_FRAMES
# (~60 s: clips; long sources keep enough triplets, and the scan grows with both lengths).
SCAN_CANDIDATES = 3
SCAN_MAX_FRAMES = 1875
# A frame's analysis window reaches this many frames past its start: where a run's audio ends.
WINDOW_FRAMES = N_FFT / HOP
# A run's edge reaches out to the source's first or last peak (within the target) when no more than
# this much audio (frames; the ~4 s of MAX_GAP_FRAMES) separates them and no run beside it claims
# that audio: noise thins matches most near a clip's edges (docs/benchmarks.md: segment edges, 0.94
# before). Beyond that peak the source is silent: the edge goes on to the source's own start or end
# only where the target is silent there too: a track's quiet opening or ending is part of the
# overlap, a clip's padding with silence against music is not. Past the source's last peak the
# target may keep a fading note's peaks the copy lost for RELEASE_MARGIN_FRAMES (~0.5 s). Before
# its first peak a note starts at once, so only a peak whose window already reaches that sound
# (ONSET_MARGIN_FRAMES) is excused: 0.5 s there let a clip's leading silence align with a track's
# music just before the clip (docs/benchmarks.md, "Audio match": segment edges).
EDGE_GAP_FRAMES = MAX_GAP_FRAMES
RELEASE_MARGIN_FRAMES = 16.0
ONSET_MARGIN_FRAMES = WINDOW_FRAMES
# Only runs with at least this fraction of a run's votes keep its edge from reaching out: a chance
# line of 6-8 votes (MIN_LINE_VOTES) otherwise blocked the edges of true runs of 24-83 votes. And
# only runs beside it: another occurrence of the same source time (a loop, a repeated chorus), one
# sharing at least PARALLEL_SHARE of the shorter run's span, claims other target time, not this
# audio (in 8 of 226 tuning clips with an edge off by > 0.5 s, 6 were blocked so).
PARALLEL_SHARE = 0.5
EDGE_BLOCK_VOTES = 0.5
# A clip's traced run that stops more than CHECK_GAP_FRAMES (~0.5 s) short of where its line leaves
# the clip or the target reaches there when the clip's changes over the part it leaves out, alone,
# agree with the line at EDGE_CHANGE_Z: under heavy noise or a mix, triplets survive in the clip's
# loudest stretch only, while the dense changes see the whole of it (docs/benchmarks.md: edges).
CHECK_GAP_FRAMES = 16
EDGE_CHANGE_Z = 4.0
# Runs of one traced line that the changes do not check (long sources, and clips whose search
# settled) are joined across a gap, and reach out to where the line leaves the source or the
# target, when the source's peaks over the part between, alone, agree with the line at BRIDGE_Z
# (or, on a long source's best line, its changes do: changes.part_z): under a louder mix, triplets
# survive only where the copy is loud and a run ends at each gap of MAX_GAP_FRAMES, while single
# peaks and the dense changes survive throughout (docs/benchmarks.md: long copies). Each half of the
# part must reach BRIDGE_HALF_Z too: half a second of the true audio lifts a 5 s part of other
# music to z 4.8, and the edge would reach 5 s past where the copy starts.
BRIDGE_Z = 4.0
BRIDGE_HALF_Z = 2.0
# Least-squares refinement of the time scale needs this span of source time (frames; ~4 s).
MIN_FIT_SPAN_FRAMES = 125


# A line to verify: (votes, band shift, lookup scale, vote scale, offset centre in frames).
_Candidate = tuple[int, float, float, float, float]


@dataclass(frozen=True)
class AlignedRun:
    source_start: float
    source_end: float
    target_start: float
    target_end: float
    votes: int
    z: float = 0.0  # its evidence beside its votes, on the peak z's scale (calibration.evidence_z)
    line: tuple[float, float] = (1.0, 0.0)  # (slope, intercept in frames) it was traced on


@dataclass
class Alignment:
    votes: int = 0  # votes of the best offset line
    chance_votes: float = 0.0  # expected votes of the best line between unrelated audio
    overlap_z: float = 0.0  # evidence of the best line on the peak z's scale (calibration.evidence_z)
    change_z: float = 0.0  # the changes' own z on that line (changes.py), before calibration
    band_shift: float = 0.0  # target bands - source bands
    time_scale: float = 1.0  # d t_target / d t_source
    offset_s: float = 0.0  # target time of source time 0
    lookups: int = 0
    runs: list[AlignedRun] = field(default_factory=list)

    @property
    def pitch_ratio(self) -> float:
        """Source pitch over target pitch (1.05: the source sounds 5 % higher)."""
        return float(2.0 ** (-self.band_shift / BANDS_PER_OCTAVE))


@dataclass(frozen=True)
class _Matches:
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


def _best_offset(tq: np.ndarray, tt: np.ndarray, scale: float) -> tuple[int, float]:
    """Votes of the best 3-frame offset window and its centre (frames) for the line of slope ``scale``."""
    counts, lo = _offset_counts(tq, tt, scale)
    best = int(np.argmax(counts))
    return int(counts[best]), float(best + lo)


class _PeelVotes:
    """``_best_offset`` of the matches still live, for repeated peeling along one slope: the
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


class _ByOffset:
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


def _runner_up_offsets(tq: np.ndarray, tt: np.ndarray, scale: float, k: int) -> list[tuple[int, float]]:
    """The next ``k`` best offset windows after the best, each at least 3 frames from the ones before."""
    counts, lo = _offset_counts(tq, tt, scale)
    counts = counts.copy()
    out: list[tuple[int, float]] = []
    for n in range(k + 1):
        best = int(np.argmax(counts))
        if counts[best] < MIN_Z_VOTES:
            break
        if n:
            out.append((int(counts[best]), float(best + lo)))
        counts[max(0, best - 2) : best + 3] = 0
    return out


def _matched(lm: Landmarks, index: HashIndex, hashes: np.ndarray) -> _Matches:
    q, ti = join(hashes, index)
    return _Matches(tq=lm.t1[q].astype(np.float64), tt=index.t1[ti].astype(np.float64),
                    dq=lm.dt3[q].astype(np.float64), fq=lm.f1[q], ft=index.f1[ti])


def _lookup(source: AudioFingerprint, target: AudioFingerprint, shift: float, scale: float,
            stride: int = 1) -> _Matches:
    lm = build_landmarks(source)
    if stride > 1:
        lm = Landmarks(*(getattr(lm, f.name)[::stride] for f in fields(lm)))
    return _matched(lm, build_index(target), hash_landmarks(lm, shift, scale))


def _lookup_around(source: AudioFingerprint, target: AudioFingerprint, shift: float, scale: float) -> _Matches:
    """The lookups at ``shift`` and half a band either side, merged: the neighbours catch landmarks
    whose bands rounded the other way. A landmark that hashes as it did in an earlier one of the
    three finds the same pairs again, so it sits that lookup out: each landmark pair comes once,
    as first found, without sorting every match to drop repeats."""
    lm, index = build_landmarks(source), build_index(target)
    hashes = [hash_landmarks(lm, shift + d, scale) for d in (-0.5, 0.0, 0.5)]
    parts = []
    for k, h in enumerate(hashes):
        repeat = np.zeros(len(h), dtype=bool)
        for earlier in hashes[:k]:
            repeat |= h == earlier
        parts.append(_matched(lm, index, np.where(repeat, -1, h)))
    return _Matches(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(_Matches)))


def _fit_line(tq: np.ndarray, tt: np.ndarray, scale: float, offset: float) -> tuple[float, float]:
    """Least-squares slope and intercept when the inliers span enough time; else keep the slope."""
    if len(tq) >= 8 and float(np.ptp(tq)) >= MIN_FIT_SPAN_FRAMES:
        slope, intercept = np.polyfit(tq, tt, 1)
        if abs(slope - scale) < 0.02:
            return float(slope), float(intercept)
    return scale, float(np.mean(tt - scale * tq)) if len(tq) else offset


def _beside(other: tuple[float, float, float, float, int], s0: float, s1: float) -> bool:
    """Whether run ``other`` lies beside the source span ``[s0, s1]`` rather than along it."""
    shared = min(other[1], s1) - max(other[0], s0)
    return shared < PARALLEL_SHARE * min(other[1] - other[0], s1 - s0)


def _silent(fp: AudioFingerprint, lo: float, hi: float) -> bool:
    """No peak of ``fp`` in frames ``[lo, hi]``."""
    return int(np.searchsorted(fp.frames, hi, side="right")) == int(np.searchsorted(fp.frames, lo, side="left"))


def _extend_edges(runs: list[tuple[float, float, float, float, int]], source: AudioFingerprint,
                  target: AudioFingerprint, source_end: float) -> list[AlignedRun]:
    """Runs ``(s0, s1, slope, intercept, votes)`` in frames, edges extended (EDGE_GAP_FRAMES), in seconds."""
    s_first = float(source.frames[0]) if len(source) else 0.0
    s_last = min(float(source.frames[-1]) + WINDOW_FRAMES, source_end) if len(source) else source_end
    t_last = float(target.frames[-1]) + WINDOW_FRAMES if len(target) else 0.0
    t_end = target.duration_s / FRAME_SECONDS
    out: list[AlignedRun] = []
    for k, (s0, s1, slope, intercept, votes) in enumerate(runs):
        others = [r for j, r in enumerate(runs)
                  if j != k and r[4] >= EDGE_BLOCK_VOTES * votes and _beside(r, s0, s1)]
        lo = max(s_first, -intercept / slope)
        if lo < s0 and s0 - lo <= EDGE_GAP_FRAMES and not any(o[1] > lo and o[0] < s0 for o in others):
            s0 = lo
        hi = min(s_last, (t_last - intercept) / slope)
        if hi > s1 and hi - s1 <= EDGE_GAP_FRAMES and not any(o[0] < hi and o[1] > s1 for o in others):
            s1 = hi

        def mapped(s: float, slope: float = slope, intercept: float = intercept) -> float:
            return slope * s + intercept

        # Silence against silence: past the source's first or last peak, where the target has no peak
        # either, the edge goes on to the source's own start or end (a clip cut where a track opens or
        # closes quietly). Silence against music (a clip padded with silence) stops at the peak.
        start, end = max(0.0, -intercept / slope), min(source_end, (t_end - intercept) / slope)
        if start < s0 <= s_first and _silent(target, mapped(start), mapped(s0) - ONSET_MARGIN_FRAMES):
            s0 = start
        if end > s1 >= s_last and _silent(target, mapped(s1 - WINDOW_FRAMES) + RELEASE_MARGIN_FRAMES, mapped(end)):
            s1 = end
        out.append(AlignedRun(
            source_start=s0 * FRAME_SECONDS, source_end=s1 * FRAME_SECONDS,
            target_start=mapped(s0) * FRAME_SECONDS, target_end=mapped(s1) * FRAME_SECONDS, votes=votes,
        ))
    return out


def _peel_runs(m: _Matches, scale: float, source: AudioFingerprint, target: AudioFingerprint,
               source_end: float) -> tuple[list[AlignedRun], float, float]:
    """Peel offset lines off the matches, strongest first; split each into runs at long gaps."""
    runs: list[tuple[float, float, float, float, int]] = []
    tq, tt, dq = m.tq, m.tt, m.dq
    live = _ByOffset(tq, tt, scale)
    votes_of = _PeelVotes(live.off, tq)
    first_line: tuple[float, float] | None = None
    for _ in range(MAX_LINES):
        if live.n_live < MIN_LINE_VOTES:
            break
        votes, centre = votes_of.best()
        if votes < MIN_LINE_VOTES:
            break
        near = live.near(centre, INLIER_FRAMES + 1.0)
        slope, intercept = _fit_line(tq[near], tt[near], scale, centre)
        inl = live.on_line(slope, intercept, INLIER_FRAMES)
        if len(inl) == 0:
            peeled = near
        else:
            peeled = inl
            slope, intercept = _fit_line(tq[inl], tt[inl], slope, intercept)
            if first_line is None:
                first_line = (slope, intercept)
            order = inl[stable_argsort(tq[inl].astype(np.int64))]  # whole frames
            cuts = np.nonzero(np.diff(tq[order]) > MAX_GAP_FRAMES)[0] + 1
            for run in np.split(order, cuts):
                # Distinct source anchor frames, as in _best_offset (the run's are in order).
                votes = 1 + int(np.count_nonzero(np.diff(tq[run])))
                if votes < MIN_LINE_VOTES:
                    continue
                s0 = float(tq[run].min())
                s1 = min(float((tq[run] + dq[run]).max()) + WINDOW_FRAMES, source_end)
                runs.append((s0, s1, slope, intercept, votes))
        live.drop(peeled)
        votes_of.drop(peeled)
    slope, intercept = first_line if first_line else (scale, 0.0)
    traced = _extend_edges(runs, source, target, source_end)
    return [replace(run, line=r[2:4]) for run, r in zip(traced, runs, strict=True)], slope, intercept


def _overlap_run(source: AudioFingerprint, target: AudioFingerprint, slope: float, intercept: float,
                 votes: int, z: float) -> AlignedRun:
    """The part of the source that the line ``t_target = slope * t_source + intercept`` maps into the target."""
    s_first, s_last = float(source.frames[0]), float(source.frames[-1]) + WINDOW_FRAMES
    t_last = float(target.frames[-1]) + WINDOW_FRAMES
    s0 = max(s_first, -intercept / slope)
    s1 = min(s_last, (t_last - intercept) / slope)
    return AlignedRun(
        source_start=s0 * FRAME_SECONDS, source_end=s1 * FRAME_SECONDS,
        target_start=(slope * s0 + intercept) * FRAME_SECONDS, target_end=(slope * s1 + intercept) * FRAME_SECONDS,
        votes=votes, z=z, line=(slope, intercept),
    )


def _same_line(a: AlignedRun, b: AlignedRun) -> bool:
    """Whether ``b``'s line meets ``a``'s (crosses it or passes within 3 frames) over ``a``'s source
    span: the same occurrence, perhaps at another slope, where another occurrence runs parallel."""
    gaps = [(a.line[0] - b.line[0]) * t / FRAME_SECONDS + a.line[1] - b.line[1] for t in (a.source_start, a.source_end)]
    return gaps[0] * gaps[1] <= 0 or min(abs(g) for g in gaps) <= 3.0


def _spanning(run: AlignedRun, s0: float, s1: float) -> AlignedRun:
    """``run`` over source frames ``[s0, s1]``, its target times on its line."""
    slope, intercept = run.line
    return replace(run, source_start=s0 * FRAME_SECONDS, source_end=s1 * FRAME_SECONDS,
                   target_start=(slope * s0 + intercept) * FRAME_SECONDS,
                   target_end=(slope * s1 + intercept) * FRAME_SECONDS)


def _part_agrees(source: AudioFingerprint, target: AudioFingerprint, line: tuple[float, float], band_shift: float,
                 changes: bool, a: float, b: float) -> bool:
    """Whether the source's peaks between frames ``a`` and ``b``, alone, confirm ``line`` (BRIDGE_Z,
    and BRIDGE_HALF_Z in either half), or else, with ``changes``, its changes there do."""
    if b - a <= CHECK_GAP_FRAMES:
        return False
    mid = (a + b) / 2
    whole, *halves = (z for z, _, _ in peak_overlap_zs(source, target, *line, band_shift, [(a, b), (a, mid), (mid, b)]))
    if whole >= BRIDGE_Z and min(halves) >= BRIDGE_HALF_Z:
        return True

    def dense(lo: float, hi: float) -> float:
        # Unit slope within the part: the line's intercept at its middle.
        return part_z(source, target, line[1] + (line[0] - 1.0) * mid, (lo, hi))

    return changes and dense(a, b) >= BRIDGE_Z and min(dense(a, mid), dense(mid, b)) >= BRIDGE_HALF_Z


def _bridged(runs: list[AlignedRun], source: AudioFingerprint, target: AudioFingerprint,
             band_shift: float, best: tuple[float, float] | None = None) -> list[AlignedRun]:
    """``runs`` with those of one line joined across gaps and reaching out to the line's overlap
    where the source's peaks over the part between agree with the line (BRIDGE_Z); on the ``best``
    line of a long source (unshifted, when given), where its changes do."""
    out: list[AlignedRun] = []
    for line in dict.fromkeys(run.line for run in runs):
        # Changes scan a part at every offset of the target (~15-30 ms against 5 minutes): for the
        # best line only, not for each repeat and beat echo.
        changes = line == best and float(source.frames[-1]) > SCAN_MAX_FRAMES
        agrees = partial(_part_agrees, source, target, line, band_shift, changes)
        on_line = sorted((r for r in runs if r.line == line), key=lambda r: r.source_start)
        # Source frames (start, end) and votes of the line's runs, in source order.
        spans = [(r.source_start / FRAME_SECONDS, r.source_end / FRAME_SECONDS, r.votes) for r in on_line]
        joined = spans[:1]
        for s0, s1, votes in spans[1:]:
            a0, a1, a_votes = joined[-1]
            if s0 - a1 <= CHECK_GAP_FRAMES or agrees(a1, s0):
                joined[-1] = (a0, s1, a_votes + votes)
            else:
                joined.append((s0, s1, votes))
        whole = _overlap_run(source, target, *line, 0, 0.0)
        lo, hi = whole.source_start / FRAME_SECONDS, whole.source_end / FRAME_SECONDS
        if lo < joined[0][0] and agrees(lo, joined[0][0]):
            joined[0] = (lo, *joined[0][1:])
        if joined[-1][1] < hi and agrees(joined[-1][1], hi):
            joined[-1] = (joined[-1][0], hi, joined[-1][2])
        out += [replace(_spanning(on_line[0], s0, s1), votes=votes) for s0, s1, votes in joined]
    return out


def _edges_by_changes(run: AlignedRun, source: AudioFingerprint, target: AudioFingerprint,
                      transforms: Transforms | None = None) -> AlignedRun:
    """``run`` (of an unshifted line of a clip) reaching out to the clip's overlap with the target at
    either end where the changes of the part between confirm its line (EDGE_CHANGE_Z); ``transforms``:
    the target's, kept from the clip's own scan (``changes.scan_changes``)."""
    slope, intercept = run.line
    whole = _overlap_run(source, target, slope, intercept, run.votes, run.z)
    s0, s1 = run.source_start / FRAME_SECONDS, run.source_end / FRAME_SECONDS
    lo, hi = whole.source_start / FRAME_SECONDS, whole.source_end / FRAME_SECONDS

    def agrees(a: float, b: float) -> bool:
        scan = scan_fingerprints(source, target, (a, b), transforms) if b - a > CHECK_GAP_FRAMES else None
        return scan is not None and scan.z_at(intercept) >= EDGE_CHANGE_Z

    return _spanning(run, lo if agrees(lo, s0) else s0, hi if agrees(s1, hi) else s1)


def _verified_runs(source: AudioFingerprint, target: AudioFingerprint,
                   verified: list[tuple[float, float, float, _Candidate]]) -> list[AlignedRun]:
    """One overlap run per verified line, strongest first, at distinct offsets: the best one from
    MIN_RUN_Z, the others where they match on their own. So a loop or a repeated chorus reports
    every occurrence, not whichever one the noise favoured (in the full bench 10 noise and mix
    clips had reported only another occurrence of their audio, 6 to 96 s away)."""
    runs: list[AlignedRun] = []
    taken: list[float] = []
    for z, _, _, c in sorted(verified, key=lambda v: -v[0]):
        floor = Z_KNOTS[2] if runs else MIN_RUN_Z
        if z < floor or len(runs) == MAX_LINES:
            break
        if all(abs(c[4] - t) > 3 for t in taken):
            taken.append(c[4])
            runs.append(_overlap_run(source, target, c[3], c[4], c[0], z))
    return runs


def _scan_candidates(plain: _Matches, voted: list[_Candidate], scanned: list[tuple[float, float]]) -> list[_Candidate]:
    """Candidates ``(votes, shift, lookup scale, vote scale, offset)`` of the ``(z, offset)`` a scan
    of every offset found; ``plain`` (the unshifted lookup) gives their votes."""
    out: list[_Candidate] = []
    for _, centre in scanned:
        # A voted line nearby may have a slightly wrong slope (few votes): only the same line is skipped.
        if all(abs(centre - c[4]) >= 1 or c[1:4] != (0.0, 1.0, 1.0) for c in voted + out):
            near = plain.tq[np.abs(plain.tt - plain.tq - centre) <= INLIER_FRAMES + 1.0]
            out.append((len(np.unique(near)), 0.0, 1.0, 1.0, centre))
    return out


def _settled(c: _Candidate) -> bool:
    """Whether a lookup's best line ``c`` ends the search: confident, at the lookup's own scale. A
    clip 5 % faster also gathers CONFIDENT_VOTES at the unit lookup's +0.5 % or +1 % (dense music
    within the few seconds that slope stays in step, repetitive music across the clip), and its
    segments stopped or broke there; the search goes on and the most-voted line wins
    (docs/benchmarks.md: edges of tempo-changed clips)."""
    return c[0] >= CONFIDENT_VOTES and c[3] == c[2]


def _unshifted(shift: float, slope: float) -> bool:
    """Whether a line keeps pitch and (within a frame over a 10 s clip) tempo: what changes can check."""
    return shift == 0.0 and abs(slope - 1.0) <= 0.005


def _without_traced_runs(result: Alignment, votes: int, z: float, line: _Candidate,
                         runs: list[AlignedRun]) -> Alignment:
    """Too few surviving triplets to trace runs: each verified line spans the overlap."""
    result.votes = votes
    if z >= MIN_RUN_Z:
        result.band_shift, result.time_scale, result.offset_s = line[1], line[3], line[4] * FRAME_SECONDS
        result.runs = runs
    return result


def align(source: AudioFingerprint, target: AudioFingerprint) -> Alignment:
    """Find how ``source`` sits inside ``target``: best pitch shift, time scale, offsets and runs."""
    result = Alignment()
    index = build_index(target)
    if len(index.keys) == 0 or len(build_landmarks(source).t1) == 0:
        return result
    # Per lookup, its best (votes, shift, lookup scale, vote scale, offset centre).
    candidates: list[_Candidate] = []
    total_matches = 0
    found: dict[tuple[float, float], _Matches] = {}
    # Long sources search the grid with every stride-th landmark; the winner is then looked up in full.
    stride = max(1, -(-len(build_landmarks(source).t1) // GRID_MAX_LANDMARKS))
    scales, settled = list(LOOKUP_SCALES), False
    while scales and not settled:
        # Nearest first to the vote scale of the best line so far: a line at the edge of a
        # lookup's vote scales points to the lookup beyond it, before a chance line elsewhere settles.
        toward = max(candidates)[3] if candidates else 1.0
        scale = scales.pop(int(np.argmin([abs(s - toward) for s in scales])))
        for shift in BAND_SHIFTS:
            m = _lookup(source, target, shift, scale, stride)
            found[(shift, scale)] = m
            result.lookups += 1
            total_matches += len(m.tq)
            if len(m.tq) == 0:
                continue
            # Ties go to the lookup's own scale, then to the first vote scale.
            top = max(((*_best_offset(m.tq, m.tt, scale + sub), scale + sub) for sub in VOTE_SUBSCALES),
                      key=lambda t: (t[0], -abs(t[2] - scale)))
            candidates.append((top[0], shift, scale, top[2], top[1]))
            settled = _settled(candidates[-1])
            if settled:
                break
    if not candidates:
        return result
    candidates.sort(key=lambda c: (-c[0], abs(c[1]), abs(c[2] - 1.0)))
    best = candidates[0][:4]
    votes, shift, lookup_scale, vote_scale = best
    # Chance: the matches of a lookup that lie on no aligned run, spread over every offset the two
    # signals allow, in 3-frame windows.
    span = (len(source.frames) and float(source.frames[-1])) + (len(target.frames) and float(target.frames[-1])) + 1
    result.chance_votes = 3.0 * total_matches * stride / max(result.lookups, 1) / span
    # A search that settled has its line: on 192 clip compares and 12 long pairs the other lines'
    # checks never changed a result, and on a 3-minute pair they cost ~30 of ~200 ms of the compare.
    to_verify = [c for c in candidates[: 1 if settled else VERIFY_CANDIDATES] if c[0] >= MIN_Z_VOTES]
    # Runner-ups are a clip's: a sampled long source's lines hold few votes each, and checking 9
    # more of them cost ~50-100 ms of a 3-minute compare.
    for (sh, sc), m in list(found.items())[: 0 if settled or stride > 1 else RUNNER_UP_LOOKUPS]:
        if len(m.tq):
            # Only offsets no verified line already passes near: a line re-verified at a slightly
            # different slope is the same evidence counted twice.
            to_verify += [(v, sh, sc, sc, centre) for v, centre in _runner_up_offsets(m.tq, m.tt, sc, RUNNER_UPS)
                          if all(abs(centre - c[4]) > 3 for c in to_verify)]
    changes = None
    # The target's changes transformed for the clip's scan, kept for its parts' scans (edges).
    transforms: Transforms = {}
    if float(source.frames[-1]) <= SCAN_MAX_FRAMES and candidates[0][0] * stride < CONFIDENT_VOTES:
        # The best offsets of the peaks, of the changes and of both together.
        offsets, peak_z = offset_z(source, target)
        scans = [top_offsets(offsets, peak_z, SCAN_CANDIDATES)]
        changes = scan_fingerprints(source, target, transforms=transforms)
        if changes is not None:
            scans += [changes.best(SCAN_CANDIDATES),
                      top_offsets(offsets, joint_z(peak_z, changes.z_near(offsets)), SCAN_CANDIDATES)]
        for scanned in scans:
            to_verify += _scan_candidates(found[(0.0, 1.0)], to_verify, scanned)

    def evidence(c: _Candidate) -> tuple[float, float, float]:
        """(evidence on the peak z's scale, the changes' own z, the peaks' own z) of a line."""
        change_z = max(0.0, changes.z_at(c[4])) if changes is not None and _unshifted(c[1], c[3]) else 0.0
        peak_z = peak_overlap_z(source, target, c[3], c[4], c[1])[0]
        return evidence_z(peak_z, change_z), change_z, peak_z

    verified = [(*evidence(c), c) for c in to_verify] or [(0.0, 0.0, 0.0, candidates[0])]
    z, result.change_z, _, zc = max(verified, key=lambda v: v[0])
    z_best = next((v[0] for v in verified if v[3] is candidates[0]), 0.0)
    result.overlap_z = z
    peak_z = max(v[2] for v in verified)
    # The most-voted line fails verification but another passes: trust the peaks, report that line.
    switched = z_best < MIN_RUN_Z <= z and zc is not candidates[0]
    if switched:
        votes = zc[0]
    # A sampled search whose lines all fail verification has nothing to trace: looking its best line
    # up in full (every landmark, three shifts) took ~80 ms of an unrelated 3-minute compare. Its
    # votes stay the sample's: scaled up by the stride, a chance line's would read as a match.
    untraced = stride > 1 and not settled and z < MIN_RUN_Z
    if votes * stride < MIN_LINE_VOTES or switched or untraced:
        return _without_traced_runs(result, votes, z, zc, _verified_runs(source, target, verified))
    matches = _lookup_around(source, target, shift, lookup_scale)
    runs, slope, intercept = _peel_runs(matches, vote_scale, source, target, source.duration_s / FRAME_SECONDS)
    if not runs:
        return _without_traced_runs(result, votes, z, zc, _verified_runs(source, target, verified))
    inl = np.abs(matches.tt - slope * matches.tq - intercept) <= INLIER_FRAMES
    # Off-line matches of the three merged lookups, per lookup, per 3-frame window.
    result.chance_votes = float(np.count_nonzero(~inl)) / span
    result.votes = max(run.votes for run in runs)
    result.band_shift = float(np.median(matches.ft[inl] - matches.fq[inl])) if inl.any() else shift
    result.time_scale = slope
    result.offset_s = intercept * FRAME_SECONDS
    result.runs = runs
    line_z = peak_overlap_z(source, target, slope, intercept, result.band_shift)[0]
    result.overlap_z, peak_z = max(z, line_z), max(peak_z, line_z)
    if changes is not None:
        # A clip: each traced line gets its own evidence (a clip's peaks cost little to check), so
        # another occurrence of a loop under a louder mix keeps its segment and a chance line
        # beside a strong one does not borrow from it.
        own: dict[tuple[float, float], float] = {}
        for run in runs:
            if run.line not in own:
                change_z = changes.z_at(run.line[1]) if _unshifted(shift, run.line[0]) else 0.0
                own[run.line] = evidence_z(peak_overlap_z(source, target, *run.line, result.band_shift)[0],
                                           max(0.0, change_z))
        result.runs = [replace(run, z=max(own[run.line], z) if run.line == (slope, intercept) else own[run.line])
                       for run in runs]
        result.runs = [_edges_by_changes(run, source, target, transforms) if _unshifted(shift, run.line[0]) else run
                       for run in result.runs]
        # A verified line that matches on its own but kept too few triplets to trace (under noise,
        # beside a traced chance line or another occurrence of a loop) still gets its segment.
        result.runs += [v for v in _verified_runs(source, target, verified)
                        if v.z >= Z_KNOTS[2] and not any(_same_line(v, run) for run in result.runs)]
    else:
        # Long sources: the evidence is shared in proportion to votes, all of it on the best line,
        # the peaks' alone on other lines (the changes were weighed on the best line only).
        result.runs = [replace(run, z=(result.overlap_z if run.line == (slope, intercept) else peak_z)
                               * min(1.0, run.votes / result.votes))
                       for run in _bridged(runs, source, target, result.band_shift,
                                           (slope, intercept) if _unshifted(shift, slope) else None)]
    return result
