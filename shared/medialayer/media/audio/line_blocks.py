"""Where along a clip a known line matches: evidence per 64 ms block, and edges placed by it.

A line's z says whether a clip matches; where the copy starts and stops is a question for each block:
does the clip's band-energy change there agree with the target's at the line (``changes``), and do
the target's peaks there stand out on the clip's spectrogram (``presence``)? Each is weighed against
the same block at the wrong offsets around the line (``changes.LOCAL_OFFSETS``), so a block of other
music scores about 0 +- 1 whatever its loudness, while a block of the copy averages about 2 even under
0 dB pink noise (the two together; each alone 1.2-1.6). That places an edge to a block or two where
the triplets that trace a run survive only in a clip's loudest stretch, and where a line verified
without them would otherwise span its whole overlap: a clip that is the track for 3-7 s and then
other music ran on into that music (docs/benchmarks.md, "Audio segment edges of partial copies").

Edges follow the evidence: a run reaches out, and an untraced line's span shrinks, to where the
running sum of the blocks' excess over PLACE_EXCESS peaks (a CUSUM), unless the blocks beyond still
agree on the whole (TAIL_MEAN and TAIL_Z): music that fades under noise thins the evidence without
ending the copy, and a full copy's weak last seconds must not be cut off. Weak evidence is what a
fade looks like only where the clip is quieter, though: blocks beyond that are as loud as the copy
must score like it (TAIL_RATIO), or they are other music that leans the line's way by chance. Loud
seconds at either end of a placed span that do not score like the copy are given back as other
music (OTHER_MUSIC_S), though a traced run's triplets or peaks reached over them, and so are
shorter parts where a strong copy meets them at full strength (ABRUPT_*): a fade never does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from medialayer.media.audio.changes import BLOCK_FRAMES, LOCAL_OFFSETS, phases_of
from medialayer.media.audio.presence import source_map, target_map
from medialayer.media.audio.runs import AlignedRun, overlap_run, spanning
from medialayer.media.audio.spectrogram import FRAME_SECONDS, band_power

if TYPE_CHECKING:
    from medialayer.media.audio.fingerprint import AudioFingerprint

# A block counts toward a copy by its score above this (the CUSUM's reference value; half a typical
# copy block's score under 0 dB noise or a louder mix, and well above other music's 0). Tuned with
# the blocks beyond on bench/audio_edges.py and the match bench's noisy full copies (docs/benchmarks.md):
# 0.5 and 0.7 ran further into other music, 1.3 stopped short more often.
PLACE_EXCESS = 1.0
# The blocks beyond a placed edge still belong to the copy when they average TAIL_MEAN and their sum
# reaches TAIL_Z (of a standard normal): faded copy blocks average 0.2-0.5, other music 0 +- 1/sqrt(n).
TAIL_MEAN = 0.25
TAIL_Z = 1.0
# Blocks beyond a traced run's edge that are no quieter than the placed copy (within QUIET_DB, medians
# of the source's level) belong only when they also average TAIL_RATIO of the copy's mean score: a
# copy that goes on at full loudness keeps most of its evidence, a fade under noise loses it. Other
# music on a shared tempo or key leans a line's way now and then: beyond runs that ended at the split,
# 0.26-0.41 over 3-6 s on bench/audio_edges.py. There, clips running into the other recording fell
# from 36 to 25; 0.12, 0.2, 1 dB and 5 dB did worse over both edge benches (docs/benchmarks.md,
# "Audio segment edges of partial copies").
TAIL_RATIO = 0.15
QUIET_DB = 3.0
# A confident run (its clip's lookups voted for the line confidently) only reaches, and only where its
# blocks carry it at least this far beyond its own edge: its triplets place an edge more sharply than
# blocks whose changes span 128 ms, and on bench/audio_edges.py any reach moved the split edges of the
# re-encoded clips from +0.03 to +0.09 s (median), at 0.5 s back to +0.03 with every count the same.
CONFIDENT_REACH_S = 0.5
# Other music a clip's line met by chance is given back: at either end of a placed span, a part at
# least this long (seconds) beside a strongest stretch of blocks as long, as loud as that stretch
# (QUIET_DB) but not belonging to it (``_belongs``). Traced runs were carried seconds past a split by a
# few triplets of the other recording on their line, by its peaks passing a run's edge reach
# (``runs.extend_edges``), or by blocks beyond that passed as the copy because it went on, weaker,
# before the other music took over; untraced lines by blocks beyond judged without a yardstick. Over
# the other music the blocks averaged about 0 a second, against about 2 over the copy. On
# bench/audio_edges.py 10 clips ran 3.0-5.8 s into the other recording that way. 1 s also cut the
# weak opening of a full copy of the match bench; a quieter part (a fade under noise) is never cut,
# nor the far part of an untraced line's blocks beyond (as a traced run's may be): that cut the
# faded last 3.5 s of a full copy under a louder mix (docs/benchmarks.md, "Audio segment edges of
# partial copies").
OTHER_MUSIC_S = 2.0
# Shorter other music is given back only where a strong copy meets it at full strength: a part of
# at least ABRUPT_PART_S averaging under TAIL_MEAN, beside a stretch of at least OTHER_MUSIC_S that
# averages ABRUPT_STRENGTH and whose ABRUPT_WINDOW_S next to the part still average ABRUPT_RISE of
# its mean, the part's blocks summing at least ABRUPT_SHORTFALL_Z * sqrt(blocks) short of that
# side's mean (blocks of other music score 0 +- 1). A fade thins the copy's blocks before it ends,
# a splice does not: a re-encoded clip whose triplets reached 0.6 s back into the other recording
# read about 0 there and 4-6 beside it. On bench/audio_edges.py this moved 6 split edges 0.27-0.51
# s closer (2 of them to within 0.5 s). Without the shortfall, a 5 s full copy under 10 dB noise
# lost its first 0.45 s, whose blocks averaged 0.13 over 0.32 s beside a side of 1.84 (shortfall
# z 3.8); at 8, 2 of the 6 edges stayed. A stretch averaging 1.5 also cut a clip's own end, and
# parts of 0.2 s moved one edge further off (docs/benchmarks.md, "Audio segment edges of partial
# copies").
ABRUPT_PART_S = 0.3
ABRUPT_STRENGTH = 2.0
ABRUPT_WINDOW_S = 0.5
ABRUPT_RISE = 0.7
ABRUPT_SHORTFALL_Z = 6.0
# An untraced line is placed only when its placed blocks, alone, reach this z (else evidence other
# than these blocks, its peaks or triplets, verified it, and the overlap stands).
MIN_PLACED_Z = 4.0
# An untraced line was verified at the best whole-frame offset of a scan, at times a frame from the
# copy's, where its blocks score far less (a frame is half a block): the strongest stretch of a
# 5 s full copy under 0 dB pink noise was 0.45 s, and a frame on, 4.9 s. So such a line is placed
# where its strongest stretch is strongest: on its own offset or these steps (frames) beside it.
UNTRACED_STEPS = (-1.0, 1.0)
# A change spans two blocks from its start frame: CHANGE_FRAMES frames of audio.
CHANGE_FRAMES = 2 * BLOCK_FRAMES
# The wrong offsets, in whole blocks (the changes) and in frames (the presence).
_BLOCK_SHIFTS = np.array(sorted({round(d / BLOCK_FRAMES) for d in LOCAL_OFFSETS}))
_FRAME_SHIFTS = np.array(LOCAL_OFFSETS)


def _in_blocks(seconds: float) -> float:
    """``seconds`` as a count of blocks (each change starts a block after the one before)."""
    return seconds / FRAME_SECONDS / BLOCK_FRAMES


@dataclass(frozen=True)
class LineBlocks:
    """Per-block scores along one line: change ``i`` starts at source frame ``starts[i]``."""

    starts: np.ndarray
    scores: np.ndarray  # NaN where the line leaves the target
    levels: np.ndarray | None  # the source's level over each change (dB); None for a stored source


def _standardised(at_line: np.ndarray, wrong: np.ndarray) -> np.ndarray:
    """``at_line`` in units of the same blocks' spread over the wrong offsets (rows of ``wrong``)."""
    with np.errstate(invalid="ignore"):
        counted = np.isfinite(wrong).sum(axis=0)
        mean = np.nanmean(np.where(counted > 1, wrong, 0.0), axis=0)
        std = np.nanstd(np.where(counted > 1, wrong, 0.0), axis=0)
    return np.where(counted > 1, (at_line - mean) / np.maximum(std, 1e-9), np.nan)


def _rows_at(query: np.ndarray, reference: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """``(len(shifts), len(query))``: each query row's dot product with reference row ``i + shift``
    (NaN beyond the reference). One slice per shift: gathering every shifted row at once cost twice
    as much."""
    out = np.full((len(shifts), len(query)), np.nan)
    for k, shift in enumerate(shifts.tolist()):
        lo, hi = max(0, -shift), min(len(query), len(reference) - shift)
        if hi > lo:
            out[k, lo:hi] = np.einsum("ij,ij->i", query[lo:hi], reference[lo + shift : hi + shift])
    return out


def _change_signs(target: AudioFingerprint) -> np.ndarray:
    """The target's changes as +-1: a stored fingerprint keeps only their signs; a fresh one's are
    taken once per fingerprint (each placed line reads them, up to ~10 times a noisy compare)."""
    if target.spectrogram is None:
        return target.changes
    signs = target.cache.get("change_signs")
    if signs is None:
        signs = target.cache["change_signs"] = np.sign(target.changes).astype(np.float32)
    return signs


def _change_scores(source: AudioFingerprint, target: AudioFingerprint, offset: int) -> tuple[int, np.ndarray]:
    """(phase, per-change scores) of the source's changes against the target's signs at ``offset``
    frames: the plain and the noise-floor weighted changes' scores, averaged (``changes``)."""
    phases = phases_of(source)
    phase = (-offset) % BLOCK_FRAMES if len(phases) == BLOCK_FRAMES else 0
    shift = (offset + phase) // BLOCK_FRAMES  # source change i meets the target's change i + shift
    reference = _change_signs(target)
    shifts = np.concatenate(([shift], shift + _BLOCK_SHIFTS))
    scores = []
    for values in [phases[phase]] + ([source.changes_weighted[phase]] if source.changes_weighted else []):
        rows = _rows_at(values, reference, shifts)
        scores.append(_standardised(rows[0], rows[1:]))
    return phase, np.mean(scores, axis=0)


def _presence_scores(source: AudioFingerprint, target: AudioFingerprint, offset: int,
                     centres: np.ndarray) -> np.ndarray | None:
    """Scores of the target's peaks read on the source's map at ``offset`` over the two frames at
    each of ``centres`` (``presence``); None without a fresh source."""
    query = source_map(source)
    if query is None or len(target) == 0:
        return None
    rows = _rows_at(query, target_map(target),
                    np.concatenate(([offset], offset + _FRAME_SHIFTS)))
    centre = np.clip(centres, 0, rows.shape[1] - 2)
    pairs = rows[:, centre] + rows[:, centre + 1]
    return np.where(centres + 1 < rows.shape[1], _standardised(pairs[0], pairs[1:]), np.nan)


def _levels(source: AudioFingerprint, starts: np.ndarray) -> np.ndarray | None:
    """The source's power over the CHANGE_FRAMES frames of each change from ``starts``, in dB; None
    without a spectrogram (a stored fingerprint)."""
    if source.spectrogram is None or len(source.spectrogram) < CHANGE_FRAMES:
        return None
    frame_db = source.cache.get("frame_db")
    if frame_db is None:
        frame_db = source.cache["frame_db"] = 10.0 * np.log10(band_power(source.spectrogram).sum(axis=1))
    first = np.clip(starts, 0, len(frame_db) - CHANGE_FRAMES)
    return np.mean([frame_db[first + k] for k in range(CHANGE_FRAMES)], axis=0)


def line_blocks(source: AudioFingerprint, target: AudioFingerprint, intercept: float) -> LineBlocks:
    """Per-block evidence of the unit-slope line ``t_target = t_source + intercept`` (frames): the
    changes' scores, with the presence's where the source is fresh, summed in units of one score."""
    offset = round(float(intercept))
    phase, changes = _change_scores(source, target, offset)
    starts = phase + BLOCK_FRAMES * np.arange(len(changes))
    presence = _presence_scores(source, target, offset, starts + BLOCK_FRAMES)
    scores = changes if presence is None else (changes + presence) / np.sqrt(2.0)
    return LineBlocks(starts=starts, scores=scores, levels=_levels(source, starts))


def _reach(excess: np.ndarray) -> int:
    """How many of ``excess`` (blocks outward from an edge) the edge takes: up to where their running
    sum peaks, 0 when it never rises above 0."""
    if not len(excess):
        return 0
    running = np.cumsum(excess)
    best = int(np.argmax(running))
    return best + 1 if running[best] > 0 else 0


def _belongs(scores: np.ndarray, levels: np.ndarray | None, beyond: slice, copy: slice) -> bool:
    """Whether the blocks ``beyond`` a placed edge still belong to the copy placed over ``copy``: they
    agree with the line on the whole (TAIL_MEAN, TAIL_Z), and they are quieter than the copy
    (QUIET_DB) or score like it (TAIL_RATIO). Without ``levels`` (a stored source, or an untraced
    line), the first test alone."""
    tail = scores[beyond]
    n = len(tail)
    if n == 0 or float(np.mean(tail)) < TAIL_MEAN or float(np.sum(tail)) < TAIL_Z * np.sqrt(n):
        return False
    if levels is None:
        return True
    quiet = float(np.median(levels[beyond])) <= float(np.median(levels[copy])) - QUIET_DB
    return quiet or float(np.mean(tail)) >= TAIL_RATIO * float(np.mean(scores[copy]))


def _other_music(scores: np.ndarray, levels: np.ndarray | None, part: slice, stretch: slice) -> bool:
    """Whether blocks ``part`` beside the copy's ``stretch`` are other music (OTHER_MUSIC_S): both at
    least that long, the part as loud as the stretch (QUIET_DB) and not belonging to it. Without
    ``levels`` (a stored source) a fade cannot be told from other music: never."""
    shortest = min(part.stop - part.start, stretch.stop - stretch.start)
    return (levels is not None and shortest >= _in_blocks(OTHER_MUSIC_S)
            and float(np.median(levels[part])) > float(np.median(levels[stretch])) - QUIET_DB
            and not _belongs(scores, levels, part, stretch))


def _met_abruptly(scores: np.ndarray, levels: np.ndarray | None, part: slice, stretch: slice) -> bool:
    """Whether a short ``part`` at a span's end is other music that the copy's ``stretch`` meets at
    full strength on its side, the ABRUPT_WINDOW_S next to the part (ABRUPT_*). Without ``levels`` (a
    stored source, whose blocks read the changes alone) never."""
    n = part.stop - part.start
    if levels is None or n < _in_blocks(ABRUPT_PART_S) or stretch.stop - stretch.start < _in_blocks(OTHER_MUSIC_S):
        return False
    window = round(_in_blocks(ABRUPT_WINDOW_S))
    side = (slice(stretch.start, min(stretch.stop, stretch.start + window)) if part.stop <= stretch.start
            else slice(max(stretch.start, stretch.stop - window), stretch.stop))
    strength, edge = float(np.mean(scores[stretch])), float(np.mean(scores[side]))
    return (strength >= ABRUPT_STRENGTH and edge >= ABRUPT_RISE * strength
            and float(np.mean(scores[part])) < TAIL_MEAN
            and n * edge - float(np.sum(scores[part])) >= ABRUPT_SHORTFALL_Z * np.sqrt(n))


def _without_other_music(scores: np.ndarray, levels: np.ndarray | None, first: int, last: int) -> tuple[int, int]:
    """A traced run's blocks ``[first, last]`` without other music at either end: all that lies
    beyond the run's strongest stretch, or else what lies past where the blocks' running sum over
    TAIL_MEAN peaks (the copy went on, weaker, before other music took over), or a shorter part
    that the stretch meets at full strength (``_met_abruptly``)."""
    lo, hi = _strongest(scores[first : last + 1] - PLACE_EXCESS)
    stretch = slice(first + lo, first + hi + 1)
    before = (stretch.start, stretch.start - _reach(scores[first : stretch.start][::-1] - TAIL_MEAN))
    after = (stretch.stop, stretch.stop + _reach(scores[stretch.stop : last + 1] - TAIL_MEAN))
    start = next((b for b in before if _other_music(scores, levels, slice(first, b), stretch)), first)
    end = next((a - 1 for a in after if _other_music(scores, levels, slice(a, last + 1), stretch)), last)
    if start == first and _met_abruptly(scores, levels, slice(first, stretch.start), stretch):
        start = stretch.start
    if end == last and _met_abruptly(scores, levels, slice(stretch.stop, last + 1), stretch):
        end = stretch.stop - 1
    return start, end


def _strongest(excess: np.ndarray) -> tuple[int, int]:
    """``[first, last]`` of the stretch of ``excess`` with the greatest sum (Kadane)."""
    best, span, running, start = -np.inf, (0, 0), 0.0, 0
    for i, value in enumerate(excess):
        if running <= 0:
            running, start = 0.0, i
        running += value
        if running > best:
            best, span = running, (start, i)
    return span


def _overlap(run: AlignedRun, source: AudioFingerprint, target: AudioFingerprint) -> tuple[float, float]:
    """Source frames ``[lo, hi]`` that ``run``'s line maps into the target."""
    whole = overlap_run(source, target, *run.line, run.votes, run.z)
    return whole.source_start / FRAME_SECONDS, whole.source_end / FRAME_SECONDS


def _within(starts: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Which changes starting at ``starts`` lie within source frames ``[lo, hi]`` (within a frame)."""
    return (starts >= lo - 1) & (starts + CHANGE_FRAMES <= hi + 1)


def _inside(blocks: LineBlocks, lo: float, hi: float) -> np.ndarray:
    """Which of ``blocks`` are scored and lie within source frames ``[lo, hi]``."""
    return np.isfinite(blocks.scores) & _within(blocks.starts, lo, hi)


def _strongest_sum(blocks: LineBlocks, lo: float, hi: float) -> float:
    """The greatest sum of excess over PLACE_EXCESS of a stretch of ``blocks`` within frames ``[lo, hi]``."""
    excess = blocks.scores[_inside(blocks, lo, hi)] - PLACE_EXCESS
    if not len(excess):
        return -np.inf
    first, last = _strongest(excess)
    return float(np.sum(excess[first : last + 1]))


def _on_nearest_frame(run: AlignedRun, blocks: LineBlocks, lo: float, hi: float, source: AudioFingerprint,
                      target: AudioFingerprint) -> tuple[AlignedRun, LineBlocks]:
    """An untraced ``run`` and its ``blocks`` (over its overlap, source frames ``[lo, hi]``) moved a
    frame either way where its strongest stretch is stronger there (UNTRACED_STEPS)."""
    slope, intercept = run.line
    best = _strongest_sum(blocks, lo, hi)
    for step in UNTRACED_STEPS:
        other = line_blocks(source, target, intercept + step)
        strength = _strongest_sum(other, lo, hi)
        if strength > best:
            best, blocks, run = strength, other, replace(run, line=(slope, intercept + step))
    return run, blocks


def placed(run: AlignedRun, source: AudioFingerprint, target: AudioFingerprint, traced: bool,
           confident: bool = False) -> AlignedRun:
    """``run`` (of an unshifted line of a clip) with its edges where its line's blocks place them:
    a ``traced`` run reaches out, an untraced one (spanning its overlap) moves to the nearest frame
    where its blocks are strongest (``_on_nearest_frame``) and shrinks to its strongest stretch;
    either way an edge goes to the overlap's end where the blocks beyond still belong (``_belongs``)
    and are not other music (``_other_music``). A ``confident`` (traced) run reaches only by
    CONFIDENT_REACH_S or more, and only by its blocks. A traced run then gives back other music at
    the ends of its span as placed (``_without_other_music``)."""
    lo, hi = _overlap(run, source, target)
    s0, s1 = run.source_start / FRAME_SECONDS, run.source_end / FRAME_SECONDS
    margin = CONFIDENT_REACH_S / FRAME_SECONDS
    uncut = source.spectrogram is None or s1 - s0 < 2 * OTHER_MUSIC_S / FRAME_SECONDS
    if confident and s0 - lo < margin and hi - s1 < margin and uncut:
        return run  # neither room to reach by the margin nor to cut: a short whole copy, at no cost
    blocks = line_blocks(source, target, run.line[1])
    if not traced:
        run, blocks = _on_nearest_frame(run, blocks, lo, hi, source, target)
        lo, hi = _overlap(run, source, target)
    inside = _inside(blocks, lo, hi)
    starts, scores = blocks.starts[inside], blocks.scores[inside]
    # Only a traced run's stretch is a yardstick of the copy's score (TAIL_RATIO): an untraced line's
    # is its strongest, picked as the highest, and a line verified beside the true one (a few frames
    # off) was cut to a sliver of a segment of its own instead of passing as the same line.
    # An untraced line still tells other music by its levels where both its stretch and the part
    # beyond are long (``_other_music``).
    levels = None if blocks.levels is None else blocks.levels[inside]
    yardstick = levels if traced else None
    if len(scores) < 2:
        return run

    def belongs(part: slice, copy: slice) -> bool:
        return (not confident and _belongs(scores, yardstick, part, copy)
                and (traced or not _other_music(scores, levels, part, copy)))

    def edges(first: int, last: int) -> tuple[float, float]:
        """The placed stretch's edges, each at the overlap's end where the blocks beyond belong."""
        copy = slice(first, last + 1)
        start = lo if belongs(slice(0, first), copy) else float(starts[first])
        end = hi if belongs(slice(last + 1, len(scores)), copy) else float(starts[last]) + CHANGE_FRAMES
        return max(lo, start), min(hi, end)

    excess = scores - PLACE_EXCESS
    if traced:
        within = np.nonzero(_within(starts, s0, s1))[0]
        if not len(within):
            return run
        first, last = int(within[0]), int(within[-1])
        first -= _reach(excess[:first][::-1])
        last += _reach(excess[last + 1:])
        start, end = edges(first, last)
        if confident:
            start, end = (start if start <= s0 - margin else s0), (end if end >= s1 + margin else s1)
        # Only outward: a traced edge may already reach past the overlap's peaks, through silence. But
        # whatever the triplets, peaks or blocks carried over other music is given back.
        start, end = min(s0, start), max(s1, end)
        span = np.nonzero(_within(starts, start, end))[0]
        if len(span):
            first, last = _without_other_music(scores, levels, int(span[0]), int(span[-1]))
            start = float(starts[first]) if first > span[0] else start
            end = float(starts[last]) + CHANGE_FRAMES if last < span[-1] else end
        return spanning(run, start, end)
    first, last = _strongest(excess)
    if np.sum(scores[first : last + 1]) < MIN_PLACED_Z * np.sqrt(last - first + 1):
        return run
    return spanning(run, *edges(first, last))
