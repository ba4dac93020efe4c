"""Segments that add nothing: the same source audio put almost where a stronger segment puts it.

Music lines up with itself a beat or a bar off: a long copy of a looped track also matches, more
weakly, 0.4-4.4 s beside its true place over the same stretch, and a clip's line may be traced again
at a neighbouring slope. Each is a real alignment of the signal, but to a user it is the same
placement again (a 120 s copy of one corpus track had 26 segments; 17 were such echoes). A repeat of
the audio elsewhere in the target (a chorus, a loop's next pass) lies at least half its length away
and stays (docs/benchmarks.md: long copies).
"""

from __future__ import annotations

from medialayer.models.match import Segment

# A weaker segment is an echo when it shares at least this fraction of its source span with a
# stronger one and, over that shared span, lies less than this fraction of it away in the target.
ECHO_SHARE = 0.5


def _target_at(segment: Segment, source_s: float) -> float:
    span = segment.source_end - segment.source_start
    rate = (segment.target_end - segment.target_start) / span if span > 0 else 1.0
    return segment.target_start + (source_s - segment.source_start) * rate


def is_echo(weaker: Segment, stronger: Segment) -> bool:
    """Whether ``weaker`` places mostly the same source audio where ``stronger`` does, give or take
    less than half the audio's length."""
    s0, s1 = max(weaker.source_start, stronger.source_start), min(weaker.source_end, stronger.source_end)
    if s1 <= s0 or s1 - s0 < ECHO_SHARE * (weaker.source_end - weaker.source_start):
        return False
    apart = max(abs(_target_at(weaker, s) - _target_at(stronger, s)) for s in (s0, s1))
    return apart < ECHO_SHARE * (s1 - s0)


def without_echoes(segments: list[Segment]) -> list[Segment]:
    """``segments`` less the echoes of stronger ones (higher score, then longer), strongest first."""
    kept: list[Segment] = []
    for segment in sorted(segments, key=lambda s: (-s.score, -(s.source_end - s.source_start))):
        if not any(is_echo(segment, k) for k in kept):
            kept.append(segment)
    return kept
