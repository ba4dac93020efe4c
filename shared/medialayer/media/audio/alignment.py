"""Hash matches to aligned segments: shifted lookups, offset voting, then peeling consistent runs.

``source`` pairs are re-hashed under a small grid of pitch shifts and time scales and joined with
the ``target``'s sorted hashes; each lookup votes on the offset ``t_target - scale * t_source``
(``voting``). The winning (shift, scale) line is refined by least squares, and matches are peeled
off one offset line at a time, so repeated or re-ordered content yields one segment per occurrence
(``runs``). Weak lines (heavy noise, a louder mix) are checked peak by peak (``verification``),
including the best offsets of a scan over every offset for clips that no lookup voted for
confidently, of the target's peaks read on a fresh clip's spectrogram (``presence``), and of the
clip's dense band-energy changes (``changes``) scanned the same way, and of peaks and changes together.
A clip's segments on lines that keep pitch and tempo take their edges from both, block by block
(``line_blocks``); so does a short run whose triplets cannot tell their line from such a one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import numpy as np

from medialayer.media.audio.calibration import Z_KNOTS, evidence_z, joint_z
from medialayer.media.audio.changes import OffsetScan, scan_fingerprints
from medialayer.media.audio.fingerprint import AudioFingerprint
from medialayer.media.audio.landmarks import HashIndex, Landmarks, build_index, build_landmarks, hash_landmarks, join
from medialayer.media.audio.line_blocks import placed
from medialayer.media.audio.presence import scan_presence
from medialayer.media.audio.runs import (
    INLIER_FRAMES,
    MIN_LINE_VOTES,
    MIN_RUN_Z,
    AlignedRun,
    bridged,
    peel_runs,
    same_line,
    spanning,
    verified_runs,
)
from medialayer.media.audio.spectrogram import BANDS_PER_OCTAVE, FRAME_SECONDS
from medialayer.media.audio.verification import offset_z, peak_overlap_z, top_offsets
from medialayer.media.audio.voting import Candidate, Matches, best_offset, runner_up_offsets

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
# The best lines of this many lookups are verified peak by peak (verification.py).
VERIFY_CANDIDATES = 4
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
# A traced line whose pitch shift (the median over its matches, in bands) is within this keeps its
# pitch: half the finest step of BAND_SHIFTS.
UNSHIFTED_BANDS = 0.25
# A clip's traced run is placed by its blocks (unit slope only) on the unit line through its middle
# when its own slope is at most a step of LOOKUP_SCALES off and drifts from that line by no more
# than INLIER_FRAMES over the run. Under heavy noise a clip's few triplets over 2-4 s fit slopes of
# 0.99 or 1.02, and such runs kept the triplets' edges: 10 of the 28 segments of bench/audio_edges.py
# that stopped more than 0.5 s short of the split, by 0.6-4.6 s (docs/benchmarks.md, "Audio segment
# edges of partial copies").
UNIT_SLOPE_REACH = 0.025




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


def _matched(lm: Landmarks, index: HashIndex, hashes: np.ndarray) -> Matches:
    q, ti = join(hashes, index)
    return Matches(tq=lm.t1[q].astype(np.float64), tt=index.t1[ti].astype(np.float64),
                    dq=lm.dt3[q].astype(np.float64), fq=lm.f1[q], ft=index.f1[ti])


def _lookup(source: AudioFingerprint, target: AudioFingerprint, shift: float, scale: float,
            stride: int = 1) -> Matches:
    lm = build_landmarks(source)
    if stride > 1:
        lm = Landmarks(*(getattr(lm, f.name)[::stride] for f in fields(lm)))
    return _matched(lm, build_index(target), hash_landmarks(lm, shift, scale))


def _lookup_around(source: AudioFingerprint, target: AudioFingerprint, shift: float, scale: float) -> Matches:
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
    return Matches(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Matches)))


def _scan_candidates(plain: Matches, voted: list[Candidate], scanned: list[tuple[float, float]]) -> list[Candidate]:
    """Candidates ``(votes, shift, lookup scale, vote scale, offset)`` of the ``(z, offset)`` a scan
    of every offset found; ``plain`` (the unshifted lookup) gives their votes."""
    out: list[Candidate] = []
    for _, centre in scanned:
        # A voted line nearby may have a slightly wrong slope (few votes): only the same line is skipped.
        if all(abs(centre - c[4]) >= 1 or c[1:4] != (0.0, 1.0, 1.0) for c in voted + out):
            near = plain.tq[np.abs(plain.tt - plain.tq - centre) <= INLIER_FRAMES + 1.0]
            out.append((len(np.unique(near)), 0.0, 1.0, 1.0, centre))
    return out


def _settled(c: Candidate) -> bool:
    """Whether a lookup's best line ``c`` ends the search: confident, at the lookup's own scale. A
    clip 5 % faster also gathers CONFIDENT_VOTES at the unit lookup's +0.5 % or +1 % (dense music
    within the few seconds that slope stays in step, repetitive music across the clip), and its
    segments stopped or broke there; the search goes on and the most-voted line wins
    (docs/benchmarks.md: edges of tempo-changed clips)."""
    return c[0] >= CONFIDENT_VOTES and c[3] == c[2]


def _long_source(source: AudioFingerprint) -> bool:
    """Whether ``source`` is past SCAN_MAX_FRAMES: searched and bridged as a long source, not a clip."""
    return float(source.frames[-1]) > SCAN_MAX_FRAMES


def _unshifted(shift: float, slope: float) -> bool:
    """Whether a line keeps pitch and (within a frame over a 10 s clip) tempo: what changes can check."""
    return shift == 0.0 and abs(slope - 1.0) <= 0.005


def _on_unit_line(run: AlignedRun, band_shift: float) -> AlignedRun | None:
    """``run`` on a line that keeps pitch and tempo, or None when its pitch shift (``band_shift``) or
    slope says it changes either: its own line when that one keeps tempo (``_unshifted``), else the
    unit-slope line through its middle when the run's triplets cannot tell the two apart (the slopes
    within UNIT_SLOPE_REACH, the lines within INLIER_FRAMES of each other over the run)."""
    slope, intercept = run.line
    if abs(band_shift) > UNSHIFTED_BANDS:
        return None
    if _unshifted(0.0, slope):
        return run
    s0, s1 = run.source_start / FRAME_SECONDS, run.source_end / FRAME_SECONDS
    if abs(slope - 1.0) > UNIT_SLOPE_REACH or abs(slope - 1.0) * (s1 - s0) > INLIER_FRAMES:
        return None
    middle = (s0 + s1) / 2.0
    return spanning(replace(run, line=(1.0, intercept + (slope - 1.0) * middle)), s0, s1)


def _placed_on_unit_line(run: AlignedRun, band_shift: float, source: AudioFingerprint, target: AudioFingerprint,
                         confident: bool = False) -> AlignedRun:
    """A clip's traced ``run`` placed by its blocks (``line_blocks``) when it lies on a line that
    keeps pitch and tempo (``_on_unit_line``); else as traced."""
    unit = _on_unit_line(run, band_shift)
    return run if unit is None else placed(unit, source, target, traced=True, confident=confident)


def _without_traced_runs(result: Alignment, votes: int, z: float, line: Candidate,
                         runs: list[AlignedRun]) -> Alignment:
    """Too few surviving triplets to trace runs: each verified line spans the overlap (a clip's lines
    placed by their blocks, perhaps a frame from where they were verified; the offset is the best
    line's as placed)."""
    result.votes = votes
    if z >= MIN_RUN_Z:
        offset = runs[0].line[1] if runs else line[4]  # runs: strongest first, the best line's
        result.band_shift, result.time_scale, result.offset_s = line[1], line[3], offset * FRAME_SECONDS
        result.runs = runs
    return result


def _verified_runs(source: AudioFingerprint, target: AudioFingerprint,
                   verified: list[tuple[float, float, float, Candidate]], clip: bool) -> list[AlignedRun]:
    """``runs.verified_runs``, those of a ``clip``'s lines that keep pitch and tempo shrunk to where
    their blocks place them (``line_blocks``) instead of spanning their whole overlap."""
    runs = verified_runs(source, target, verified)
    if not clip:
        return runs
    shifts = {(c[3], c[4]): c[1] for *_, c in verified}
    return [placed(run, source, target, traced=False) if _unshifted(shifts[run.line], run.line[0]) else run
            for run in runs]


@dataclass
class _Search:
    """The grid search's outcome."""

    candidates: list[Candidate]  # per lookup, its best line; sorted best first
    found: dict[tuple[float, float], Matches]  # each lookup's matches by (shift, scale): one per lookup
    total_matches: int
    stride: int  # every stride-th source landmark was looked up
    settled: bool  # a confident line ended the search (_settled)


def _search_grid(source: AudioFingerprint, target: AudioFingerprint) -> _Search:
    """Look the source up under the grid of pitch shifts and time scales until a line settles."""
    # Per lookup, its best (votes, shift, lookup scale, vote scale, offset centre).
    candidates: list[Candidate] = []
    total_matches = 0
    found: dict[tuple[float, float], Matches] = {}
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
            total_matches += len(m.tq)
            if len(m.tq) == 0:
                continue
            # Ties go to the lookup's own scale, then to the first vote scale.
            top = max(((*best_offset(m.tq, m.tt, scale + sub), scale + sub) for sub in VOTE_SUBSCALES),
                      key=lambda t: (t[0], -abs(t[2] - scale)))
            candidates.append((top[0], shift, scale, top[2], top[1]))
            settled = _settled(candidates[-1])
            if settled:
                break
    candidates.sort(key=lambda c: (-c[0], abs(c[1]), abs(c[2] - 1.0)))
    return _Search(candidates, found, total_matches, stride, settled)


def _lines_to_verify(search: _Search) -> list[Candidate]:
    """The lines worth a peak-by-peak check: the best lookups' lines, and a clip's runners-up."""
    # A search that settled has its line: on 192 clip compares and 12 long pairs the other lines'
    # checks never changed a result, and on a 3-minute pair they cost ~30 of ~200 ms of the compare.
    settled = search.settled
    to_verify = [c for c in search.candidates[: 1 if settled else VERIFY_CANDIDATES] if c[0] >= MIN_Z_VOTES]
    # Runner-ups are a clip's: a sampled long source's lines hold few votes each, and checking 9
    # more of them cost ~50-100 ms of a 3-minute compare.
    for (sh, sc), m in list(search.found.items())[: 0 if settled or search.stride > 1 else RUNNER_UP_LOOKUPS]:
        if len(m.tq):
            # Only offsets no verified line already passes near: a line re-verified at a slightly
            # different slope is the same evidence counted twice.
            runners = runner_up_offsets(m.tq, m.tt, sc, RUNNER_UPS, MIN_Z_VOTES)
            to_verify += [(v, sh, sc, sc, centre) for v, centre in runners
                          if all(abs(centre - c[4]) > 3 for c in to_verify)]
    return to_verify


@dataclass(frozen=True)
class _Scans:
    """A clip's scans over every offset at unchanged pitch and tempo (``_scan_clip``)."""

    changes: OffsetScan
    presence: OffsetScan | None  # the target's peaks on the clip's spectrogram (a fresh clip only)

    def peak_z(self, peak_z: float, shift: float, slope: float, intercept: float) -> float:
        """A line's peak evidence: the peaks' own ``peak_z``, or the presence z where higher (lines
        that keep pitch and tempo)."""
        if self.presence is None or not _unshifted(shift, slope):
            return peak_z
        return max(peak_z, self.presence.z_at(intercept))


def _scan_clip(source: AudioFingerprint, target: AudioFingerprint, search: _Search,
               to_verify: list[Candidate]) -> _Scans | None:
    """For a clip no lookup voted for confidently: add to ``to_verify`` the best offsets of the
    peaks (counted, and read on the clip's spectrogram: ``presence``), of the changes and of both
    together, each scanned over every offset. Returns the scans."""
    if _long_source(source) or search.candidates[0][0] * search.stride >= CONFIDENT_VOTES:
        return None
    offsets, peak_z = offset_z(source, target)
    scans = [top_offsets(offsets, peak_z, SCAN_CANDIDATES)]
    presence = scan_presence(source, target)
    if presence is not None:
        scans.append(presence.best(SCAN_CANDIDATES))
        peak_z = np.maximum(peak_z, presence.z_near(offsets))
    changes = scan_fingerprints(source, target)
    if changes is not None:
        scans += [changes.best(SCAN_CANDIDATES),
                  top_offsets(offsets, joint_z(peak_z, changes.z_near(offsets)), SCAN_CANDIDATES)]
    for scanned in scans:
        to_verify += _scan_candidates(search.found[(0.0, 1.0)], to_verify, scanned)
    return None if changes is None else _Scans(changes, presence)


def _clip_runs(result: Alignment, z: float, shift: float, line: tuple[float, float], source: AudioFingerprint,
               target: AudioFingerprint, scans: _Scans,
               verified: list[tuple[float, float, float, Candidate]]) -> list[AlignedRun]:
    """A clip's traced runs, each with its own line's evidence (a clip's peaks cost little to check)
    and edges its blocks place (``line_blocks``), plus the verified lines that match on their own
    but kept too few triplets to trace (under noise, beside a traced chance line or another
    occurrence of a loop), placed the same way.
    So another occurrence of a loop under a louder mix keeps its segment, and a chance line beside a
    strong one does not borrow from it."""
    own: dict[tuple[float, float], float] = {}
    for run in result.runs:
        if run.line not in own:
            change_z = scans.changes.z_at(run.line[1]) if _unshifted(shift, run.line[0]) else 0.0
            peak_z = peak_overlap_z(source, target, *run.line, result.band_shift)[0]
            own[run.line] = evidence_z(scans.peak_z(peak_z, shift, *run.line),
                                       max(0.0, change_z))
    runs = [replace(run, z=max(own[run.line], z) if run.line == line else own[run.line]) for run in result.runs]
    runs = [_placed_on_unit_line(run, result.band_shift, source, target) for run in runs]
    return runs + [v for v in _verified_runs(source, target, verified, clip=True)
                   if v.z >= Z_KNOTS[2] and not any(same_line(v, run) for run in runs)]


def _confident_clip_runs(runs: list[AlignedRun], band_shift: float, line: tuple[float, float],
                         source: AudioFingerprint, target: AudioFingerprint) -> list[AlignedRun]:
    """The runs of a clip whose lookups voted confidently (no scans), the best ``line``'s reaching out
    over their blocks when it keeps pitch and tempo (``line_blocks``, ``confident``): dense triplets
    trace such a copy wherever it is loud, but thin out where it fades under noise. Only the reach
    (and other music given back at its ends, as for every traced run): carried on to the overlap's
    end by blocks that merely lean the line's way, 5 more of bench/audio_edges.py's clips ran into
    the other recording, and no full copy gained. Only the best line: such a clip peels ~15 runs,
    and placing them all doubled its compare (docs/benchmarks.md, "Audio segment edges of partial
    copies")."""
    return [_placed_on_unit_line(run, band_shift, source, target, confident=True) if run.line == line else run
            for run in runs]


def _long_runs(result: Alignment, peak_z: float, shift: float, line: tuple[float, float],
               source: AudioFingerprint, target: AudioFingerprint) -> list[AlignedRun]:
    """A long source's traced runs bridged across the gaps their line's evidence confirms. The
    evidence is shared in proportion to votes: all of it on the best line, the peaks' alone on
    other lines (the changes are weighed on the best line only)."""
    # The changes check the best line of a long source only, when it keeps pitch and tempo.
    checked = line if _long_source(source) and _unshifted(shift, line[0]) else None
    return [replace(run, z=(result.overlap_z if run.line == line else peak_z) * min(1.0, run.votes / result.votes))
            for run in bridged(result.runs, source, target, result.band_shift, checked)]


def align(source: AudioFingerprint, target: AudioFingerprint) -> Alignment:
    """Find how ``source`` sits inside ``target``: best pitch shift, time scale, offsets and runs."""
    result = Alignment()
    index = build_index(target)
    if len(index.keys) == 0 or len(build_landmarks(source).t1) == 0:
        return result
    search = _search_grid(source, target)
    result.lookups = len(search.found)
    if not search.candidates:
        return result
    candidates, stride = search.candidates, search.stride
    votes, shift, lookup_scale, vote_scale = candidates[0][:4]
    # Chance: the matches of a lookup that lie on no aligned run, spread over every offset the two
    # signals allow, in 3-frame windows.
    span = (len(source.frames) and float(source.frames[-1])) + (len(target.frames) and float(target.frames[-1])) + 1
    result.chance_votes = 3.0 * search.total_matches * stride / max(result.lookups, 1) / span
    to_verify = _lines_to_verify(search)
    scans = _scan_clip(source, target, search, to_verify)

    def evidence(c: Candidate) -> tuple[float, float, float]:
        """(evidence on the peak z's scale, the changes' own z, the peaks' own z) of a line."""
        peak_z = peak_overlap_z(source, target, c[3], c[4], c[1])[0]
        if scans is None or not _unshifted(c[1], c[3]):
            return evidence_z(peak_z, 0.0), 0.0, peak_z
        change_z = max(0.0, scans.changes.z_at(c[4]))
        return evidence_z(scans.peak_z(peak_z, c[1], c[3], c[4]), change_z), change_z, peak_z

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
    untraced = stride > 1 and not search.settled and z < MIN_RUN_Z
    if votes * stride < MIN_LINE_VOTES or switched or untraced:
        return _without_traced_runs(result, votes, z, zc, _verified_runs(source, target, verified, scans is not None))
    matches = _lookup_around(source, target, shift, lookup_scale)
    runs, slope, intercept = peel_runs(matches, vote_scale, source, target, source.duration_s / FRAME_SECONDS)
    if not runs:
        return _without_traced_runs(result, votes, z, zc, _verified_runs(source, target, verified, scans is not None))
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
    if scans is not None:
        result.runs = _clip_runs(result, z, shift, (slope, intercept), source, target, scans, verified)
    else:
        result.runs = _long_runs(result, peak_z, shift, (slope, intercept), source, target)
        if not _long_source(source):
            result.runs = _confident_clip_runs(result.runs, result.band_shift, (slope, intercept), source, target)
    return result
