"""Bytes of any audio (or video) container to mono float32 PCM at the engine rate, with the caps."""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import numpy as np

from medialayer.errors import MediaLayerError
from medialayer.media.containers import stated_duration_s

# 8 kHz keeps the 0-4 kHz band where music and speech keep their strongest, most codec-stable
# partials; higher rates only add peaks that lossy codecs and noise destroy first (docs/benchmarks.md).
SAMPLE_RATE = 8000
# The resampler hands out blocks of this many samples (~1 s at 8 kHz) instead of one per codec frame:
# fewer, larger copies halved decode CPU time of a 3-minute Vorbis file (docs/benchmarks.md, "Pair of 3-minute").
RESAMPLE_FRAME_SIZE = 8192


@dataclass(frozen=True)
class AudioSignal:
    """Mono PCM at ``sample_rate``."""

    samples: np.ndarray  # float32, shape (n,)
    sample_rate: int = SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


def _samples(frame: av.AudioFrame) -> np.ndarray:
    """Mono float32 samples of a packed ``flt`` frame (a copy: PyAV reuses the buffer)."""
    return np.frombuffer(frame.planes[0], dtype=np.float32, count=frame.samples).copy()


def decode_audio(data: bytes, *, max_bytes: int, max_seconds: float, sample_rate: int = SAMPLE_RATE) -> AudioSignal:
    """Decode the first audio stream of ``data``, downmixed and resampled once to ``sample_rate``.

    Raises ``MediaLayerError``: ``file_too_large`` over ``max_bytes``, ``duration_too_long`` when the
    container states (or decoding reaches) more than ``max_seconds``, ``unsupported_media`` when
    there is no decodable audio.
    """
    if len(data) > max_bytes:
        raise MediaLayerError("file_too_large", f"audio is {len(data)} bytes; the limit is {max_bytes}")
    if not data:
        raise MediaLayerError("unsupported_media", "empty audio file")
    max_samples = int(max_seconds * sample_rate) + 1
    chunks: list[np.ndarray] = []
    total = 0
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise MediaLayerError("unsupported_media", "the file has no audio track")
            stream = container.streams.audio[0]
            stated = stated_duration_s(container, stream)
            if stated is not None and stated > max_seconds + 0.5:
                raise MediaLayerError(
                    "duration_too_long", f"audio lasts {stated:.1f} s; the limit is {max_seconds:.0f} s"
                )
            # FFmpeg downmixes and resamples in one pass; packed mono float32 is read straight off the plane.
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate,
                                          frame_size=RESAMPLE_FRAME_SIZE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(_samples(out))
                    total += out.samples
                if total > max_samples:
                    # Headers understated the length: stop at the cap instead of decoding it all.
                    raise MediaLayerError("duration_too_long", f"audio lasts more than {max_seconds:.0f} s")
            for out in resampler.resample(None):
                chunks.append(_samples(out))
    except MediaLayerError:
        raise
    except (av.FFmpegError, OSError, ValueError, IndexError, RuntimeError) as exc:
        raise MediaLayerError("unsupported_media", f"could not decode audio: {exc}") from exc
    if not chunks:
        raise MediaLayerError("unsupported_media", "the audio track holds no samples")
    samples = np.concatenate(chunks).astype(np.float32, copy=False)
    if not np.all(np.isfinite(samples)):
        samples = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)
    return AudioSignal(samples=samples, sample_rate=sample_rate)
