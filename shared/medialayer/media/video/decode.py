"""Bytes of a video container to small luminance frames sampled ~2 per second, plus the soundtrack.

Decoding dominates the cost of a video match, so frames are sampled while decoding: FFmpeg scales
each kept frame straight to a thumbnail in grey, non-reference frames and the deblocking filter
are skipped (neither matters at thumbnail size), and a file too large to decode whole within
``DENSE_BUDGET`` has only the start of each GOP decoded (packets are dropped up to the next
keyframe, where decoding can resume cleanly). The soundtrack is decoded on a second thread.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise

import av
import numpy as np

from medialayer.errors import MediaLayerError
from medialayer.media.audio.decode import AudioSignal, decode_audio
from medialayer.media.containers import DECODE_ERRORS, stated_duration_s

# Frames kept per second of video: 2 keeps segment edges within ~0.5 s and costs little once
# decoded (docs/benchmarks.md, Video match).
SAMPLE_FPS = 2.0
# Long side of the kept thumbnails: enough for 32x32 DCT blocks and letterbox detection.
THUMB_SIZE = 160
# Decoding cost in H.264 pixel-frames (width x height x frames x CODEC_COST) decoded in full; beyond
# it only the first part of each GOP is decoded. 150 M is ~0.2 s of H.264 on the bench machine: a
# 30 s 360p25 file is decoded to 87 % of each GOP, a 60 s 720p30 one to 9 %, which keeps a pair of
# those near 1 s of CPU (docs/benchmarks.md, Video match; keyframes alone cost ~0.13 s there).
DENSE_BUDGET = 150e6
# Relative decoding cost per pixel (measured here: MPEG-4 part 2 ~0.45 of H.264; the newer codecs
# are slower).
CODEC_COST = {"h264": 1.0, "hevc": 1.3, "vp9": 1.2, "av1": 1.5, "libdav1d": 1.5, "vp8": 0.9}
OTHER_CODEC_COST = 0.5
# Skipping non-reference (mostly B) frames only thins frames out below this rate.
SKIP_NONREF_MIN_FPS = 8.0
_audio_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="video-audio")


@dataclass(frozen=True)
class DecodedVideo:
    frames: np.ndarray  # uint8 (n, h, w) luma thumbnails, display orientation, long side THUMB_SIZE
    times: np.ndarray  # float64 (n,) seconds from the start of the video stream, ascending
    duration_s: float
    audio: AudioSignal | None  # the soundtrack at the audio engine's rate, None without one
    width: int  # display size of the original, after rotation
    height: int
    sampled_fraction: float = 1.0  # share of the packets decoded (below 1 past DENSE_BUDGET)


def _thumb_size(width: int, height: int, sar: Fraction | None) -> tuple[int, int]:
    """Display-aspect thumbnail size (anamorphic pixels made square), long side THUMB_SIZE."""
    display_w = width * float(sar) if sar and sar > 0 else float(width)
    scale = THUMB_SIZE / max(display_w, height)
    return max(8, round(display_w * scale)), max(8, round(height * scale))


def _rotate(luma: np.ndarray, rotation: float) -> np.ndarray:
    """Apply the display matrix's rotation (degrees counter-clockwise) in quarter turns."""
    quarter = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(luma, quarter)) if quarter else luma


def _cost_factor(codec: str) -> float:
    return CODEC_COST.get(codec, OTHER_CODEC_COST)


def _packet_time(packet: av.Packet) -> float | None:
    ts = packet.pts if packet.pts is not None else packet.dts
    return float(ts * packet.time_base) if ts is not None and packet.time_base is not None else None


def _select(packets: list[av.Packet], fraction: float) -> list[av.Packet]:
    """Every packet, or past the budget the first ``fraction`` of each GOP (keyframe to keyframe;
    at least the keyframe): decoding restarts cleanly at every keyframe."""
    if fraction >= 1.0:
        return packets
    keys = [i for i, p in enumerate(packets) if p.is_keyframe] + [len(packets)]
    if keys[0] != 0:
        keys.insert(0, 0)
    chosen: list[av.Packet] = []
    for first, stop in pairwise(keys):
        gop = packets[first:stop]
        times = [t for t in map(_packet_time, gop) if t is not None]
        if not times:
            chosen += gop
            continue
        keep_until = min(times) + fraction * (max(times) - min(times))
        chosen += [p for p in gop if (t := _packet_time(p)) is None or t <= keep_until]
    return chosen


def _decode_frames(data: bytes, max_seconds: float, skip_nonref: bool = True
                   ) -> tuple[list[np.ndarray], list[float], float, float, tuple[int, int]]:
    frames: list[np.ndarray] = []
    times: list[float] = []
    with av.open(io.BytesIO(data), mode="r") as container:
        if not container.streams.video:
            raise MediaLayerError("unsupported_media", "the file has no video track")
        stream = container.streams.video[0]
        stated = stated_duration_s(container, stream)
        if stated is not None and stated > max_seconds + 0.5:
            raise MediaLayerError("duration_too_long", f"video lasts {stated:.1f} s; the limit is {max_seconds:.0f} s")
        ctx = stream.codec_context
        width, height = ctx.width, ctx.height
        if not width or not height:
            raise MediaLayerError("unsupported_media", "the video track has no picture size")
        # Demuxing is cheap (~40 ms for a minute of 720p): read every packet first, so the GOPs are
        # known before deciding what to decode, and the packets' own times check the duration.
        packets = [p for p in container.demux(stream) if p.size]
        packet_times = [t for t in map(_packet_time, packets) if t is not None]
        span = max(packet_times) - min(packet_times) if packet_times else 0.0
        if span > max_seconds + 0.5:
            raise MediaLayerError("duration_too_long", f"video lasts {span:.1f} s; the limit is {max_seconds:.0f} s")
        rate = float(stream.average_rate or stream.guessed_rate or 25)
        cost = len(packets) * width * height * _cost_factor(ctx.name)
        fraction = min(1.0, DENSE_BUDGET / max(1.0, cost))
        stream.thread_type = "AUTO"
        ctx.options = {"skip_loop_filter": "all"}
        if skip_nonref and rate >= SKIP_NONREF_MIN_FPS:
            ctx.skip_frame = "NONREF"
        thumb_w, thumb_h = _thumb_size(width, height, stream.sample_aspect_ratio)
        origin = float(stream.start_time * stream.time_base) if stream.start_time is not None else None
        next_sample = 0.0
        half_frame = 0.5 / rate
        last = -1.0
        rotation = 0.0
        for frame in _frames(stream, _select(packets, fraction)):
            # The stream's time base: frames flushed out of the decoder do not all carry one.
            t = float(frame.pts * stream.time_base) if frame.pts is not None else None
            if t is None:
                t = last + 1.0 / rate if last >= 0 else 0.0
            if origin is None:
                origin = t
            t -= origin
            if t > max_seconds + 0.5:
                raise MediaLayerError("duration_too_long", f"video lasts more than {max_seconds:.0f} s")
            if t < next_sample - half_frame or t <= last:
                continue
            rotation = frame.rotation or 0.0
            thumb = frame.reformat(width=thumb_w, height=thumb_h, format="gray", interpolation="AREA")
            luma = _rotate(thumb.to_ndarray(), rotation)
            if frames and luma.shape != frames[0].shape:
                continue  # the rotation changed mid-stream: keep the first orientation's frames
            frames.append(luma)
            times.append(t)
            last = t
            # The next slot of a fixed grid, so two copies of a video sample the same instants
            # whatever their frame rates or skipped frames.
            next_sample = (np.floor((t + half_frame) * SAMPLE_FPS) + 1) / SAMPLE_FPS
        duration = max(stated or 0.0, span, (times[-1] + 1.0 / rate) if times else 0.0)
        if round(rotation / 90) % 2:
            width, height = height, width
    return frames, times, duration, fraction, (width, height)


def _frames(stream: av.video.stream.VideoStream, packets: list[av.Packet]) -> Iterator[av.VideoFrame]:
    for packet in packets:
        yield from stream.decode(packet)
    yield from stream.decode(None)  # the frames the decoder still holds


def decode_video(data: bytes, *, max_bytes: int, max_seconds: float, with_audio: bool = True,
                 max_audio_seconds: float | None = None) -> DecodedVideo:
    """Decode ``data``'s first video stream into sampled thumbnails (and its audio, if any).

    Raises ``MediaLayerError``: ``file_too_large`` over ``max_bytes``, ``duration_too_long`` over
    ``max_seconds`` (stated or reached), ``unsupported_media`` for no video track, no decodable
    frame or corrupt data.
    """
    if len(data) > max_bytes:
        raise MediaLayerError("file_too_large", f"video is {len(data)} bytes; the limit is {max_bytes}")
    if not data:
        raise MediaLayerError("unsupported_media", "empty video file")
    audio_job = _audio_pool.submit(_soundtrack, data, max_bytes, max_audio_seconds or max_seconds) if with_audio \
        else None
    try:
        try:
            frames, times, duration, fraction, (width, height) = _decode_frames(data, max_seconds)
            if not frames:  # a stream whose every frame is flagged non-reference: decode them all
                frames, times, duration, fraction, (width, height) = _decode_frames(data, max_seconds, False)
        except MediaLayerError:
            raise
        except DECODE_ERRORS as exc:
            raise MediaLayerError("unsupported_media", f"could not decode video: {exc}") from exc
        if not frames:
            raise MediaLayerError("unsupported_media", "the video track holds no decodable frame")
    finally:
        audio = audio_job.result() if audio_job is not None else None
    return DecodedVideo(frames=np.stack(frames), times=np.asarray(times, dtype=np.float64), duration_s=duration,
                        audio=audio, width=width, height=height, sampled_fraction=fraction)


def _soundtrack(data: bytes, max_bytes: int, max_seconds: float) -> AudioSignal | None:
    """The soundtrack, or None when there is none or it cannot be decoded (the pictures still count)."""
    try:
        return decode_audio(data, max_bytes=max_bytes, max_seconds=max_seconds + 1.0)
    except MediaLayerError:
        return None
