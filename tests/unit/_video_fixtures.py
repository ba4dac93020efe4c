"""Small synthetic videos for the video engine tests, encoded in memory with PyAV.

A "film" is a list of shots; each shot is a smooth random texture (different per shot) that pans
slowly, so consecutive frames differ a little and shots differ a lot, like real footage.
"""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np

from tests.unit._audio_fixtures import synth_music

WIDTH, HEIGHT = 192, 108


def _texture(seed: int, height: int, width: int) -> np.ndarray:
    """Smooth random colour texture: a few octaves of upsampled noise."""
    rng = np.random.default_rng(seed)
    out = np.zeros((height, width, 3), dtype=np.float64)
    for cells, amp in ((3, 1.0), (6, 0.6), (12, 0.35), (24, 0.2)):
        grid = rng.uniform(-1, 1, size=(cells + 1, cells + 1, 3))
        ys = np.linspace(0, cells, height)
        xs = np.linspace(0, cells, width)
        y0, x0 = np.floor(ys).astype(int).clip(max=cells - 1), np.floor(xs).astype(int).clip(max=cells - 1)
        fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
        top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x0 + 1] * fx
        bottom = grid[y0 + 1][:, x0] * (1 - fx) + grid[y0 + 1][:, x0 + 1] * fx
        out += amp * (top * (1 - fy) + bottom * fy)
    out = (out - out.min()) / (out.max() - out.min() + 1e-9)
    return out * 220 + 15


def film_frames(seconds: float, fps: float, seed: int, shot_s: float = 2.0, width: int = WIDTH,
                height: int = HEIGHT) -> list[np.ndarray]:
    """RGB uint8 frames: shots of ``shot_s`` seconds, each a texture panning right."""
    frames = []
    textures: dict[int, np.ndarray] = {}
    for k in range(round(seconds * fps)):
        t = k / fps
        shot = int(t // shot_s)
        if shot not in textures:
            textures[shot] = _texture(seed * 1000 + shot, height, width + 64)
        shift = int((t - shot * shot_s) * 12)  # 12 px per second
        frames.append(textures[shot][:, shift : shift + width].astype(np.uint8))
    return frames


def encode_video(frames: list[np.ndarray], fps: float = 15, audio: np.ndarray | None = None, audio_rate: int = 44100,
                 container: str = "mp4", codec: str = "libx264", rotate: int | None = None,
                 gop: int | None = None) -> bytes:
    """Encode RGB frames (and optional mono float audio) into a container, in memory."""
    buf = io.BytesIO()
    height, width = frames[0].shape[:2]
    with av.open(buf, mode="w", format=container) as out:
        rate = Fraction(fps).limit_denominator(1000)
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": "23", "preset": "veryfast"}
        if gop is not None:
            stream.codec_context.gop_size = gop
            stream.options = {**stream.options, "sc_threshold": "0"}  # keyframes exactly every `gop` frames
        if rotate is not None:
            stream.metadata["rotate"] = str(rotate)
        a_stream = None
        if audio is not None:
            a_codec = "libopus" if container == "webm" else "aac"
            a_rate = 48000 if a_codec == "libopus" else audio_rate
            a_stream = out.add_stream(a_codec, rate=a_rate)
            a_stream.layout = "mono"
        for k, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = k
            frame.time_base = Fraction(1) / rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
        if a_stream is not None:
            pcm = audio if a_stream.rate == audio_rate else _resample(audio, audio_rate, a_stream.rate)
            block = 960 if a_stream.codec_context.name == "libopus" else 1024
            for i in range(0, len(pcm), block):
                chunk = pcm[i : i + block].astype(np.float32)
                af = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="flt", layout="mono")
                af.sample_rate = a_stream.rate
                af.pts = i
                af.time_base = Fraction(1, a_stream.rate)
                for packet in a_stream.encode(af):
                    out.mux(packet)
            for packet in a_stream.encode(None):
                out.mux(packet)
    return buf.getvalue()


def _resample(pcm: np.ndarray, rate: int, to: int) -> np.ndarray:
    n = int(len(pcm) * to / rate)
    return np.interp(np.arange(n) * rate / to, np.arange(len(pcm)), pcm).astype(np.float32)


def film(seconds: float, seed: int, fps: float = 15, with_audio: bool = True, music_seed: int | None = None,
         **kwargs) -> bytes:
    """A synthetic film with (by default) synthetic music of the same length."""
    audio = synth_music(seconds, seed=seed if music_seed is None else music_seed) if with_audio else None
    return encode_video(film_frames(seconds, fps, seed), fps=fps, audio=audio, **kwargs)
