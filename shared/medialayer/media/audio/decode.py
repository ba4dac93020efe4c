"""Bytes of any audio (or video) container to mono float32 PCM at the engine rate, with the caps."""

from __future__ import annotations

import io
import itertools
import tempfile
from dataclasses import dataclass

import av
import av.filter
import numpy as np

from medialayer.errors import MediaLayerError
from medialayer.media.containers import DECODE_ERRORS, stated_duration_s

# 8 kHz keeps the 0-4 kHz band where music and speech keep their strongest, most codec-stable
# partials; higher rates only add peaks that lossy codecs and noise destroy first (docs/benchmarks.md).
SAMPLE_RATE = 8000
# The filter graph hands out blocks of this many samples (~1 s at 8 kHz).
BLOCK_SAMPLES = 8192


@dataclass(frozen=True)
class AudioSignal:
    """Mono PCM at ``sample_rate``."""

    samples: np.ndarray  # float32, shape (n,)
    sample_rate: int = SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


def _probe(data: bytes, max_seconds: float) -> str:
    """The demuxer's name, after refusing files without audio or stating more than ``max_seconds``."""
    with av.open(io.BytesIO(data), mode="r") as container:
        if not container.streams.audio:
            raise MediaLayerError("unsupported_media", "the file has no audio track")
        stated = stated_duration_s(container, container.streams.audio[0])
        if stated is not None and stated > max_seconds + 0.5:
            raise MediaLayerError("duration_too_long", f"audio lasts {stated:.1f} s; the limit is {max_seconds:.0f} s")
        return container.format.name.split(",")[0]


def _graph(path: str, demuxer: str, sample_rate: int) -> av.filter.Graph:
    """Read, decode, downmix and resample inside FFmpeg: Python sees one block per second of audio
    instead of one call per codec frame, which took a 3-minute Vorbis file from ~280 to ~170 ms of
    CPU (docs/benchmarks.md, "Pair of 3-minute tracks"). The demuxer is the one the probe chose,
    and only the file itself may be opened (no playlist can reach other files or the network)."""
    graph = av.filter.Graph()
    chain = [
        graph.add("amovie", filename=path, f=demuxer, s="a:0", format_opts="protocol_whitelist=file"),
        # Downmix before resampling: one channel to filter instead of two or six.
        graph.add("aformat", sample_fmts="fltp", channel_layouts="mono"),
        graph.add("aresample", str(sample_rate)),
        graph.add("aformat", sample_fmts="flt", channel_layouts="mono"),
        graph.add("asetnsamples", n=str(BLOCK_SAMPLES), p="0"),
        graph.add("abuffersink"),
    ]
    for upstream, downstream in itertools.pairwise(chain):
        upstream.link_to(downstream)
    graph.configure()
    return graph


def _pcm(path: str, demuxer: str, sample_rate: int, max_seconds: float) -> list[np.ndarray]:
    max_samples = int(max_seconds * sample_rate) + 1
    graph = _graph(path, demuxer, sample_rate)
    blocks: list[np.ndarray] = []
    total = 0
    while True:
        try:
            frame = graph.pull()
        except (av.BlockingIOError, av.EOFError):
            return blocks
        # Packed mono float32 straight off the plane (a copy: FFmpeg reuses the buffer).
        blocks.append(np.frombuffer(frame.planes[0], dtype=np.float32, count=frame.samples).copy())
        total += frame.samples
        if total > max_samples:
            # Headers understated the length: stop at the cap instead of decoding it all.
            raise MediaLayerError("duration_too_long", f"audio lasts more than {max_seconds:.0f} s")


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
    try:
        demuxer = _probe(data, max_seconds)
        # FFmpeg's movie source reads a path: the bytes go to a private temporary file (/tmp on Lambda).
        with tempfile.NamedTemporaryFile(prefix="medialayer-audio-") as spool:
            spool.write(data)
            spool.flush()
            blocks = _pcm(spool.name, demuxer, sample_rate, max_seconds)
    except MediaLayerError:
        raise
    except DECODE_ERRORS as exc:
        raise MediaLayerError("unsupported_media", f"could not decode audio: {exc}") from exc
    if not blocks:
        raise MediaLayerError("unsupported_media", "the audio track holds no samples")
    samples = np.concatenate(blocks)
    if not np.all(np.isfinite(samples)):
        samples = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)
    return AudioSignal(samples=samples, sample_rate=sample_rate)
