"""What every PyAV-decoded medium reads off its container before decoding."""

from __future__ import annotations

import av

# What decoding malformed media raises, from PyAV or from arithmetic on the fields it reads: every
# PyAV-decoded medium maps these to unsupported_media.
DECODE_ERRORS = (av.FFmpegError, OSError, ValueError, IndexError, RuntimeError, ZeroDivisionError)


def stated_duration_s(container: av.container.InputContainer, stream: av.stream.Stream) -> float | None:
    """The duration the container claims for ``stream``, if any (headers can lie: decoding is capped too)."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None
