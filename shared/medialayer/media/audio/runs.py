"""A traced offset line's matches to aligned runs, in seconds.

Peeled lines are split into runs at long gaps. A run's edges reach out through matches that noise
thinned and through silence the target shares. A line's runs are bridged across gaps its peaks
(or a long source's changes) confirm. A verified line with too few triplets to trace stands as one
run over its overlap (a clip's edges are then placed block by block: ``line_blocks``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

import numpy as np

from medialayer.media.audio.calibration import Z_KNOTS
from medialayer.media.audio.changes import part_z
from medialayer.media.audio.fingerprint import AudioFingerprint
from medialayer.media.audio.sorting import stable_argsort
from medialayer.media.audio.spectrogram import FRAME_SECONDS, HOP, N_FFT
from medialayer.media.audio.verification import peak_overlap_zs
from medialayer.media.audio.voting import ByOffset, Candidate, Matches, PeelVotes

# Inliers lie within this many frames of the offset line (~50 ms).
INLIER_FRAMES = 1.5
# A run continues across gaps in matches up to this long (frames; ~4 s of masking or silence).
MAX_GAP_FRAMES = 125
# But a run's first or last few matches (fewer than MIN_LINE_VOTES) beyond a gap its own rate of
# votes makes unlikely (where GAP_EXPECTED_VOTES would fall, and at least MIN_GAP_FRAMES, ~0.5 s)
# are chance on its line, not the copy: a clip that gives way to other music kept its segment going
# seconds into that music (bench/audio_edges.py).
MIN_GAP_FRAMES = 16
GAP_EXPECTED_VOTES = 5.0
# Up to this many offset lines are peeled; each must hold MIN_LINE_VOTES votes.
MAX_LINES = 16
MIN_LINE_VOTES = 6
# A line with too few votes to trace runs still counts as one run over the overlap when its
# z-score reaches MIN_RUN_Z.
MIN_RUN_Z = 5.0
# A frame's analysis window reaches this many frames past its start: where a run's audio ends.
WINDOW_FRAMES = N_FFT / HOP
# A run's edge reaches out to the source's first or last peak (within the target) when no more than
# this much audio (frames; the ~4 s of MAX_GAP_FRAMES) separates them, the run's own rate of votes
# makes such a gap likely (gap_limit) or the source's peaks there agree with its line (EDGE_PEAK_Z:
# one known line, not a search), and no run beside it claims that audio: noise thins matches most
# near a clip's edges (docs/benchmarks.md: segment edges, 0.94 before), and where a copy gives way
# to other music the matches stop (bench/audio_edges.py). Beyond that peak the source is silent:
# the edge goes on to the source's own start or end only where the target is silent there too: a
# track's quiet opening or ending is part of the overlap, a clip's padding with silence against
# music is not. Past the source's last peak the target may keep a fading note's peaks the copy lost
# for RELEASE_MARGIN_FRAMES (~0.5 s). Before its first peak a note starts at once, so only a peak
# whose window already reaches that sound (ONSET_MARGIN_FRAMES) is excused: 0.5 s there let a
# clip's leading silence align with a track's music just before the clip (docs/benchmarks.md,
# "Audio match": segment edges).
EDGE_GAP_FRAMES = MAX_GAP_FRAMES
EDGE_PEAK_Z = 2.5
RELEASE_MARGIN_FRAMES = 16.0
ONSET_MARGIN_FRAMES = WINDOW_FRAMES
# Only runs with at least this fraction of a run's votes keep its edge from reaching out: a chance
# line of 6-8 votes (MIN_LINE_VOTES) otherwise blocked the edges of true runs of 24-83 votes. And
# only runs beside it: another occurrence of the same source time (a loop, a repeated chorus), one
# sharing at least PARALLEL_SHARE of the shorter run's span, claims other target time, not this
# audio (in 8 of 226 tuning clips with an edge off by > 0.5 s, 6 were blocked so).
PARALLEL_SHARE = 0.5
EDGE_BLOCK_VOTES = 0.5
# Runs of one line at most CHECK_GAP_FRAMES (~0.5 s) apart are joined without a check, and an edge
# reaches out over no part that short.
CHECK_GAP_FRAMES = 16
# Runs of one traced line that the changes do not check (long sources, and clips whose search
# settled: their best line then reaches over its blocks too, line_blocks) are joined across a gap,
# and reach out to where the line leaves the source or the target, when the source's peaks over
# the part between, alone, agree with the line at BRIDGE_Z
# (or, on a long source's best line, its changes do: changes.part_z): under a louder mix, triplets
# survive only where the copy is loud and a run ends at each gap of MAX_GAP_FRAMES, while single
# peaks and the dense changes survive throughout (docs/benchmarks.md: long copies). Each half of the
# part must reach BRIDGE_HALF_Z too: half a second of the true audio lifts a 5 s part of other
# music to z 4.8, and the edge would reach 5 s past where the copy starts.
BRIDGE_Z = 4.0
BRIDGE_HALF_Z = 2.0
# Least-squares refinement of the time scale needs this span of source time (frames; ~4 s), and may
# move the scale by less than MAX_FIT_SCALE_CHANGE. A line voted off the unit scale (beyond
# UNIT_SCALE_REACH) comes from a lookup grid 0.025 apart and may sit a whole step from the true
# scale when a lookup settles at once; there, a 5 s clip sped up 5 % keeps inliers over ~3.5 s only,
# so SCALED_FIT_SPAN_FRAMES (~3.2 s) suffices. With 4 s and 0.02 for every line, four such clips of
# the audio bench kept a scale of 1.025-1.035 and a start 40-93 ms off; 3.2 s for unit-scale lines
# too fitted noise into lines of clips under 0 dB noise or a mix (docs/benchmarks.md, "Audio match").
MIN_FIT_SPAN_FRAMES = 125
SCALED_FIT_SPAN_FRAMES = 100
# Half a step of the lookup grid (alignment.LOOKUP_SCALES): past the unit lookup's own vote scales.
UNIT_SCALE_REACH = 0.0125
MAX_FIT_SCALE_CHANGE = 0.03


@dataclass(frozen=True)
class AlignedRun:
    source_start: float
    source_end: float
    target_start: float
    target_end: float
    votes: int
    z: float = 0.0  # its evidence beside its votes, on the peak z's scale (calibration.evidence_z)
    line: tuple[float, float] = (1.0, 0.0)  # (slope, intercept in frames) it was traced on


def fit_line(tq: np.ndarray, tt: np.ndarray, scale: float, offset: float) -> tuple[float, float]:
    """Least-squares slope and intercept when the inliers span enough time; else keep the slope."""
    span = MIN_FIT_SPAN_FRAMES if abs(scale - 1.0) <= UNIT_SCALE_REACH else SCALED_FIT_SPAN_FRAMES
    if len(tq) >= 8 and float(np.ptp(tq)) >= span:
        slope, intercept = np.polyfit(tq, tt, 1)
        if abs(slope - scale) < MAX_FIT_SCALE_CHANGE:
            return float(slope), float(intercept)
    return scale, float(np.mean(tt - scale * tq)) if len(tq) else offset


def _beside(other: tuple[float, float, float, float, int], s0: float, s1: float) -> bool:
    """Whether run ``other`` lies beside the source span ``[s0, s1]`` rather than along it."""
    shared = min(other[1], s1) - max(other[0], s0)
    return shared < PARALLEL_SHARE * min(other[1] - other[0], s1 - s0)


def _silent(fp: AudioFingerprint, lo: float, hi: float) -> bool:
    """No peak of ``fp`` in frames ``[lo, hi]``; an empty range (``hi < lo``: the source's first or
    last peak lies within the margin of its start or end) has none."""
    return hi < lo or bool(np.searchsorted(fp.frames, hi, side="right") == np.searchsorted(fp.frames, lo, side="left"))


def gap_limit(votes: int, span_frames: float) -> float:
    """The longest gap (frames) in matches that a run of ``votes`` over ``span_frames`` makes likely."""
    rate = max(votes - 1, 1) / max(span_frames, 1.0)
    return float(np.clip(GAP_EXPECTED_VOTES / rate, MIN_GAP_FRAMES, MAX_GAP_FRAMES))


def _trimmed(run: np.ndarray, tq: np.ndarray) -> np.ndarray:
    """``run`` (indices of one run's matches, in source order) without the few matches at either end
    that lie beyond a gap its rate makes unlikely (gap_limit)."""
    anchors = np.unique(tq[run])
    cuts = np.nonzero(np.diff(anchors) > gap_limit(len(anchors), float(np.ptp(anchors))))[0] + 1
    pieces = np.split(anchors, cuts)
    while len(pieces) > 1 and len(pieces[0]) < MIN_LINE_VOTES:
        pieces.pop(0)
    while len(pieces) > 1 and len(pieces[-1]) < MIN_LINE_VOTES:
        pieces.pop()
    return run[(tq[run] >= pieces[0][0]) & (tq[run] <= pieces[-1][-1])]


def _reaches(source: AudioFingerprint, target: AudioFingerprint, line: tuple[float, float], band_shift: float,
             likely: float, a: float, b: float) -> bool:
    """Whether a run's edge on ``line`` reaches across source frames ``a`` to ``b``: a gap its rate
    makes ``likely``, or one where the source's peaks agree with the line (EDGE_PEAK_Z)."""
    return b - a <= likely or peak_overlap_zs(source, target, *line, band_shift, [(a, b)])[0][0] >= EDGE_PEAK_Z


def extend_edges(runs: list[tuple[float, float, float, float, int]], source: AudioFingerprint,
                  target: AudioFingerprint, source_end: float, band_shift: float = 0.0) -> list[AlignedRun]:
    """Runs ``(s0, s1, slope, intercept, votes)`` in frames, edges extended (EDGE_GAP_FRAMES), in seconds."""
    s_first = float(source.frames[0]) if len(source) else 0.0
    s_last = min(float(source.frames[-1]) + WINDOW_FRAMES, source_end) if len(source) else source_end
    t_last = float(target.frames[-1]) + WINDOW_FRAMES if len(target) else 0.0
    t_end = target.duration_s / FRAME_SECONDS
    out: list[AlignedRun] = []
    for k, (s0, s1, slope, intercept, votes) in enumerate(runs):
        others = [r for j, r in enumerate(runs)
                  if j != k and r[4] >= EDGE_BLOCK_VOTES * votes and _beside(r, s0, s1)]
        reaches = partial(_reaches, source, target, (slope, intercept), band_shift, gap_limit(votes, s1 - s0))
        lo = max(s_first, -intercept / slope)
        if (lo < s0 and s0 - lo <= EDGE_GAP_FRAMES and not any(o[1] > lo and o[0] < s0 for o in others)
                and reaches(lo, s0)):
            s0 = lo
        hi = min(s_last, (t_last - intercept) / slope)
        if (hi > s1 and hi - s1 <= EDGE_GAP_FRAMES and not any(o[0] < hi and o[1] > s1 for o in others)
                and reaches(s1, hi)):
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


def peel_runs(m: Matches, scale: float, source: AudioFingerprint, target: AudioFingerprint,
               source_end: float) -> tuple[list[AlignedRun], float, float]:
    """Peel offset lines off the matches, strongest first; split each into runs at long gaps."""
    runs: list[tuple[float, float, float, float, int]] = []
    tq, tt, dq = m.tq, m.tt, m.dq
    live = ByOffset(tq, tt, scale)
    votes_of = PeelVotes(live.off, tq)
    first_line: tuple[float, float] | None = None
    band_shift = 0.0  # the first line's, for its peaks' checks (all lines share one lookup's shift)
    for _ in range(MAX_LINES):
        if live.n_live < MIN_LINE_VOTES:
            break
        votes, centre = votes_of.best()
        if votes < MIN_LINE_VOTES:
            break
        near = live.near(centre, INLIER_FRAMES + 1.0)
        slope, intercept = fit_line(tq[near], tt[near], scale, centre)
        inl = live.on_line(slope, intercept, INLIER_FRAMES)
        if len(inl) == 0:
            peeled = near
        else:
            peeled = inl
            slope, intercept = fit_line(tq[inl], tt[inl], slope, intercept)
            if first_line is None:
                first_line = (slope, intercept)
                band_shift = float(np.median(m.ft[inl] - m.fq[inl]))
            order = inl[stable_argsort(tq[inl].astype(np.int64))]  # whole frames
            cuts = np.nonzero(np.diff(tq[order]) > MAX_GAP_FRAMES)[0] + 1
            for run in (_trimmed(run, tq) for run in np.split(order, cuts)):
                # Distinct source anchor frames, as in best_offset (the run's are in order).
                votes = 1 + int(np.count_nonzero(np.diff(tq[run])))
                if votes < MIN_LINE_VOTES:
                    continue
                s0 = float(tq[run].min())
                s1 = min(float((tq[run] + dq[run]).max()) + WINDOW_FRAMES, source_end)
                runs.append((s0, s1, slope, intercept, votes))
        live.drop(peeled)
        votes_of.drop(peeled)
    slope, intercept = first_line if first_line else (scale, 0.0)
    traced = extend_edges(runs, source, target, source_end, band_shift)
    return [replace(run, line=r[2:4]) for run, r in zip(traced, runs, strict=True)], slope, intercept


def overlap_run(source: AudioFingerprint, target: AudioFingerprint, slope: float, intercept: float,
                 votes: int, z: float) -> AlignedRun:
    """The part of the source that the line ``t_target = slope * t_source + intercept`` maps into the target."""
    s_first, s_last = float(source.frames[0]), float(source.frames[-1]) + WINDOW_FRAMES
    t_last = float(target.frames[-1]) + WINDOW_FRAMES
    s0 = max(s_first, -intercept / slope)
    s1 = min(s_last, (t_last - intercept) / slope)
    return spanning(AlignedRun(0.0, 0.0, 0.0, 0.0, votes=votes, z=z, line=(slope, intercept)), s0, s1)


def same_line(a: AlignedRun, b: AlignedRun) -> bool:
    """Whether ``b``'s line meets ``a``'s (crosses it or passes within 3 frames) over ``a``'s source
    span: the same occurrence, perhaps at another slope, where another occurrence runs parallel."""
    gaps = [(a.line[0] - b.line[0]) * t / FRAME_SECONDS + a.line[1] - b.line[1] for t in (a.source_start, a.source_end)]
    return gaps[0] * gaps[1] <= 0 or min(abs(g) for g in gaps) <= 3.0


def spanning(run: AlignedRun, s0: float, s1: float) -> AlignedRun:
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


def bridged(runs: list[AlignedRun], source: AudioFingerprint, target: AudioFingerprint,
             band_shift: float, best: tuple[float, float] | None = None) -> list[AlignedRun]:
    """``runs`` with those of one line joined across gaps and reaching out to the line's overlap
    where the source's peaks over the part between agree with the line (BRIDGE_Z); on the ``best``
    line (a long source's, when it keeps pitch and tempo), where its changes do."""
    out: list[AlignedRun] = []
    for line in dict.fromkeys(run.line for run in runs):
        # Changes scan a part at every offset of the target (~15-30 ms against 5 minutes): for the
        # best line only, not for each repeat and beat echo.
        changes = line == best
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
        whole = overlap_run(source, target, *line, 0, 0.0)
        lo, hi = whole.source_start / FRAME_SECONDS, whole.source_end / FRAME_SECONDS
        if lo < joined[0][0] and agrees(lo, joined[0][0]):
            joined[0] = (lo, *joined[0][1:])
        if joined[-1][1] < hi and agrees(joined[-1][1], hi):
            joined[-1] = (joined[-1][0], hi, joined[-1][2])
        out += [replace(spanning(on_line[0], s0, s1), votes=votes) for s0, s1, votes in joined]
    return out


def verified_runs(source: AudioFingerprint, target: AudioFingerprint,
                   verified: list[tuple[float, float, float, Candidate]]) -> list[AlignedRun]:
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
            runs.append(overlap_run(source, target, c[3], c[4], c[0], z))
    return runs
