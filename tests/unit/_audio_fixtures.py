"""Synthetic, music-like audio for the audio engine tests, encoded in memory with PyAV."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np

RATE = 44100


def synth_music(seconds: float, seed: int, rate: int = RATE, tempo_bpm: float = 120.0) -> np.ndarray:
    """Notes of a random melody over random chords, with harmonics, envelopes and a little noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    out = np.zeros(n, dtype=np.float64)
    beat = 60.0 / tempo_bpm
    t_note = np.arange(int(beat * rate)) / rate
    envelope = np.exp(-t_note * 3.0) * np.minimum(1.0, t_note / 0.01)
    scale = np.array([0, 2, 4, 5, 7, 9, 11])
    for start in np.arange(0.0, seconds, beat):
        i = int(start * rate)
        seg = slice(i, min(n, i + len(t_note)))
        m = seg.stop - seg.start
        notes = [57 + rng.choice(scale) + 12 * rng.integers(0, 2)]  # melody
        root = 45 + rng.choice(scale)
        notes += [root, root + 4 + rng.integers(0, 2), root + 7]  # a chord
        for k, midi in enumerate(notes):
            f0 = 440.0 * 2 ** ((midi - 69) / 12)
            amp = 0.25 if k == 0 else 0.12
            for h in range(1, 5):
                if f0 * h < rate / 2:
                    out[seg] += amp / h * envelope[:m] * np.sin(2 * np.pi * f0 * h * t_note[:m] + rng.uniform(0, 6.28))
    out += 0.003 * rng.standard_normal(n)
    return (0.5 * out / np.max(np.abs(out))).astype(np.float32)


def with_white_noise(pcm: np.ndarray, snr_db: float, seed: int = 5) -> np.ndarray:
    """``pcm`` plus white noise ``snr_db`` below its level (negative: louder than the music)."""
    noise = np.random.default_rng(seed).standard_normal(len(pcm)) * np.sqrt(np.mean(pcm**2)) * 10 ** (-snr_db / 20)
    return pcm + noise.astype(np.float32)


_FORMATS = {
    # name: (container format, codec, sample format, bit rate)
    "mp3": ("mp3", "libmp3lame", "fltp", 128_000),
    "aac": ("adts", "aac", "fltp", 96_000),
    "m4a": ("mp4", "aac", "fltp", 96_000),
    "opus": ("ogg", "libopus", "flt", 64_000),
    "vorbis": ("ogg", "libvorbis", "fltp", 96_000),
    "flac": ("flac", "flac", "s16", None),
    "wav": ("wav", "pcm_s16le", "s16", None),
    "webm": ("webm", "libopus", "flt", 64_000),
}


def encode(pcm: np.ndarray, fmt: str, rate: int = RATE) -> bytes:
    container_fmt, codec, sample_fmt, bit_rate = _FORMATS[fmt]
    if codec == "libopus" and rate not in (8000, 12000, 16000, 24000, 48000):
        pcm, rate = resample_linear(pcm, rate, 48000), 48000
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=container_fmt) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        if bit_rate:
            stream.bit_rate = bit_rate
        _write_audio(out, stream, pcm, rate, sample_fmt)
    return buf.getvalue()


def _write_audio(out: av.container.OutputContainer, stream: av.audio.stream.AudioStream, pcm: np.ndarray,
                 rate: int, sample_fmt: str) -> None:
    block = 4096
    for i in range(0, len(pcm), block):
        chunk = pcm[i : i + block]
        data = (chunk * 32767).astype(np.int16) if sample_fmt == "s16" else chunk.astype(np.float32)
        frame = av.AudioFrame.from_ndarray(data.reshape(1, -1), format=sample_fmt, layout="mono")
        frame.sample_rate = rate
        frame.pts = i
        frame.time_base = Fraction(1, rate)
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)


def encode_video_with_audio(pcm: np.ndarray, rate: int = RATE, seconds: float = 4.0) -> bytes:
    """A tiny MP4 (mpeg4 video + AAC audio)."""
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as out:
        video = out.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = out.add_stream("aac", rate=rate)
        audio.layout = "mono"
        for k in range(int(seconds * 10)):
            img = np.full((48, 64, 3), (k * 6) % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = k
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        _write_audio(out, audio, pcm[: int(seconds * rate)], rate, "fltp")
    return buf.getvalue()


def resample_linear(pcm: np.ndarray, rate_in: float, rate_out: float) -> np.ndarray:
    """Plain linear-interpolation resampling: playing ``pcm`` at ``rate_out`` changes speed and pitch."""
    n_out = int(len(pcm) * rate_out / rate_in)
    x = np.arange(n_out) * rate_in / rate_out
    return np.interp(x, np.arange(len(pcm)), pcm).astype(np.float32)
