"""Deterministic query clips for the audio benchmark: cut, distort and re-encode with ffmpeg + numpy."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

RATE = 44100


def load_pcm(path: str, start: float | None = None, duration: float | None = None) -> np.ndarray:
    """Mono float32 PCM at RATE of a file (or a slice of it), decoded by the ffmpeg CLI."""
    cmd = ["ffmpeg", "-v", "error", "-nostdin"]
    if start is not None:
        cmd += ["-ss", f"{start:.4f}"]
    if duration is not None:
        cmd += ["-t", f"{duration:.4f}"]
    cmd += ["-i", path, "-ac", "1", "-ar", str(RATE), "-f", "f32le", "-"]
    out = subprocess.run(cmd, check=True, capture_output=True).stdout
    return np.frombuffer(out, dtype=np.float32).copy()


def encode(pcm: np.ndarray, args: list[str], fmt: str, filters: str | None = None) -> bytes:
    """PCM through optional ffmpeg filters into a container, returned as bytes."""
    cmd = ["ffmpeg", "-v", "error", "-nostdin", "-f", "f32le", "-ar", str(RATE), "-ac", "1", "-i", "-"]
    if filters:
        cmd += ["-af", filters]
    cmd += [*args, "-f", fmt, "-"]
    return subprocess.run(cmd, input=pcm.astype(np.float32).tobytes(), check=True, capture_output=True).stdout


def decode(data: bytes) -> np.ndarray:
    """Mono float32 PCM at RATE of encoded bytes, decoded by the ffmpeg CLI."""
    cmd = ["ffmpeg", "-v", "error", "-nostdin", "-i", "pipe:0", "-ac", "1", "-ar", str(RATE), "-f", "f32le", "-"]
    out = subprocess.run(cmd, input=data, check=True, capture_output=True).stdout
    return np.frombuffer(out, dtype=np.float32).copy()


@cache
def codec_delay(args: tuple[str, ...], fmt: str) -> float:
    """Seconds by which an encoder's output plays its input late. MP3 and AAC prepend priming
    samples, and a stream written to a pipe carries no LAME tag or edit list that would let a
    decoder trim them (~25 ms for MP3, ~23 ms for AAC): the clip's first sample sits that far into
    the file. Found by encoding a seeded noise burst and locating it in the decoded output."""
    burst = np.random.default_rng(0).standard_normal(RATE // 2).astype(np.float32) * 0.3
    lead = RATE // 4
    x = np.concatenate([np.zeros(lead, np.float32), burst, np.zeros(lead, np.float32)])
    y = decode(encode(x, list(args), fmt))
    n = 1 << (len(x) + len(y)).bit_length()
    corr = np.fft.irfft(np.fft.rfft(y, n) * np.conj(np.fft.rfft(x, n)), n)
    lags = np.arange(-lead, lead)  # circular: negative lags wrap to the end
    return float(lags[int(np.argmax(corr[lags]))]) / RATE


def _coded(x: np.ndarray, args: list[str], fmt: str, lead_s: float = 0.0) -> tuple[bytes, float]:
    """``x`` encoded, and where its first sample plays in the file: ``lead_s`` (silence put before
    it) plus the codec's delay."""
    return encode(x, args, fmt), lead_s + codec_delay(tuple(args), fmt)


# Levels are measured, and noise is made, in the audio band (AES17's 20 Hz - 20 kHz; here up to the
# clip's Nyquist): a DC offset or infrasound is not signal, and pink noise made down to the clip's
# lowest bin puts ~45 % of its power below 20 Hz, where no listener and no fingerprint hears it.
AUDIO_BAND_LOW_HZ = 20.0


def _audio_band(x: np.ndarray) -> np.ndarray:
    spec = np.fft.rfft(x.astype(np.float64))
    spec[np.fft.rfftfreq(len(x), 1.0 / RATE) < AUDIO_BAND_LOW_HZ] = 0
    return np.fft.irfft(spec, len(x))


def loudness(x: np.ndarray) -> float:
    # Loudness of the audible part: quiet intros would otherwise make "10 dB SNR" far noisier.
    x = _audio_band(x)
    frames = x[: len(x) // 1024 * 1024].reshape(-1, 1024)
    energy = np.mean(frames**2, axis=1) if len(frames) else np.array([np.mean(x**2)])
    loud = energy[energy >= 0.1 * energy.max()] if energy.max() > 0 else energy
    return float(np.sqrt(np.mean(loud))) + 1e-9


def _noise(n: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    """White or pink (power falling 3 dB an octave) noise over the audio band only."""
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / RATE)
    if colour == "pink":
        spec[1:] /= np.sqrt(freqs[1:])
    spec[freqs < AUDIO_BAND_LOW_HZ] = 0
    return np.fft.irfft(spec, n)


def noise_for(x: np.ndarray, snr_db: float, colour: str, seed: int) -> np.ndarray:
    """The noise ``add_noise`` adds to ``x``: ``snr_db`` below its level, both in the audio band."""
    noise = _noise(len(x), colour, np.random.default_rng(seed))
    return noise * (loudness(x) / (np.sqrt(np.mean(noise**2)) + 1e-12) / 10 ** (snr_db / 20))


def add_noise(x: np.ndarray, snr_db: float, colour: str, seed: int) -> np.ndarray:
    return _limit(x + noise_for(x, snr_db, colour, seed))


def _limit(x: np.ndarray) -> np.ndarray:
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    return (x / peak * 0.99 if peak > 0.99 else x).astype(np.float32)


def mix_under(x: np.ndarray, louder: np.ndarray, db_under: float) -> np.ndarray:
    louder = np.resize(louder, len(x))
    gain = loudness(louder) / loudness(x) / 10 ** (db_under / 20)
    return _limit(x * gain + louder)


@dataclass(frozen=True)
class Transform:
    name: str
    group: str
    # (clip pcm, seed, unrelated pcm) -> (encoded bytes, where the clip's first sample plays in them)
    make: Callable[[np.ndarray, int, np.ndarray], tuple[bytes, float]]
    # Playback rate of the clip against its source: it lasts clip seconds / speed.
    speed: float = 1.0


def _wav(x: np.ndarray, filters: str | None = None) -> bytes:
    return encode(x, ["-c:a", "pcm_s16le"], "wav", filters)


def _mp3(x: np.ndarray, rate: str, lead_s: float = 0.0) -> tuple[bytes, float]:
    return _coded(x, ["-c:a", "libmp3lame", "-b:a", rate], "mp3", lead_s)


def _pitch_filter(factor: float) -> str:
    if shutil.which("rubberband") or _has_rubberband_filter():
        return f"rubberband=pitch={factor}"
    return f"asetrate={RATE * factor:.0f},aresample={RATE},atempo={1 / factor:.6f}"


_RB: bool | None = None


def _has_rubberband_filter() -> bool:
    global _RB
    if _RB is None:
        out = subprocess.run(["ffmpeg", "-hide_banner", "-filters"], capture_output=True, text=True).stdout
        _RB = " rubberband " in out
    return _RB


def transforms() -> list[Transform]:
    pad = 2.0
    t: list[Transform] = [
        Transform("mp3_128k", "re-encode", lambda x, s, u: _mp3(x, "128k")),
        Transform("mp3_64k", "re-encode", lambda x, s, u: _mp3(x, "64k")),
        Transform("aac_96k", "re-encode", lambda x, s, u: _coded(x, ["-c:a", "aac", "-b:a", "96k"], "adts")),
        Transform("opus_48k", "re-encode", lambda x, s, u: _coded(x, ["-c:a", "libopus", "-b:a", "48k"], "ogg")),
        Transform("vol_-10dB", "re-encode", lambda x, s, u: _mp3(x * 10 ** (-10 / 20), "128k")),
        Transform("vol_+6dB", "re-encode", lambda x, s, u: _mp3(np.clip(x * 2.0, -1, 1), "128k")),
        Transform("silence_pad", "re-encode", lambda x, s, u: _mp3(
            np.concatenate([np.zeros(int(pad * RATE), np.float32), x, np.zeros(int(pad * RATE), np.float32)]),
            "128k", pad)),
        Transform("white_10dB", "noise 10 dB", lambda x, s, u: _mp3(add_noise(x, 10, "white", s), "128k")),
        Transform("pink_10dB", "noise 10 dB", lambda x, s, u: _mp3(add_noise(x, 10, "pink", s), "128k")),
        Transform("white_0dB", "noise 0 dB", lambda x, s, u: _mp3(add_noise(x, 0, "white", s), "128k")),
        Transform("pink_0dB", "noise 0 dB", lambda x, s, u: _mp3(add_noise(x, 0, "pink", s), "128k")),
        Transform("mixed_under_6dB", "mixed -6 dB", lambda x, s, u: _mp3(mix_under(x, u, 6), "128k")),
    ]
    for pct in (-3, 3):
        f = 1 + pct / 100
        t.append(Transform(f"pitch_{pct:+d}%", "pitch +-3 %", lambda x, s, u, f=f: (_wav(x, _pitch_filter(f)), 0.0)))
    for pct in (-5, 5):
        f = 1 + pct / 100
        t.append(Transform(f"pitch_{pct:+d}%", "pitch/speed +-5 %",
                           lambda x, s, u, f=f: (_wav(x, _pitch_filter(f)), 0.0)))
        t.append(Transform(f"speed_{pct:+d}%", "pitch/speed +-5 %",
                           lambda x, s, u, f=f: (_wav(x, f"asetrate={RATE * f:.0f},aresample={RATE}"), 0.0), f))
        t.append(Transform(f"tempo_{pct:+d}%", "pitch/speed +-5 %",
                           lambda x, s, u, f=f: (_wav(x, f"atempo={f}"), 0.0), f))
    return t
