"""PCM to a log-frequency, log-magnitude spectrogram.

A log-frequency axis turns a pitch or playback-speed change into a constant shift along that axis,
which is what lets ``alignment`` search for a pitch factor with a handful of shifted lookups.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from medialayer.media.audio.decode import SAMPLE_RATE

# 128 ms windows hop 32 ms at 8 kHz: the window resolves partials 8 Hz apart; the hop gives offsets
# within 16 ms before sub-frame averaging (docs/benchmarks.md, "Audio match": offset error).
N_FFT = 1024
HOP = 256
# 24 bands per octave: a 5 % pitch change moves a partial by 1.7 bands, so shifted lookups in
# half-band steps cover +-6 % (docs/benchmarks.md: pitch rows).
BANDS_PER_OCTAVE = 24
# C3..~A#7/2: below 130 Hz the 8 Hz bins cannot resolve 24 bands per octave; above 3.7 kHz an
# 8 kHz stream has only the anti-alias roll-off.
F_MIN_HZ = 130.0
F_MAX_HZ = 3700.0
# Level floor: power this far below full scale counts as silence (dither, fades).
FLOOR_DB = -90.0

FRAME_SECONDS = HOP / SAMPLE_RATE
_FRAMES_PER_BLOCK = 256


def band_count() -> int:
    return int(np.floor(BANDS_PER_OCTAVE * np.log2(F_MAX_HZ / F_MIN_HZ))) + 1


@cache
def _filterbank() -> np.ndarray:
    """Triangular bands on a log axis, each a weighted mean of FFT bins (at least one bin wide)."""
    n_bins = N_FFT // 2 + 1
    hz_per_bin = SAMPLE_RATE / N_FFT
    bins = np.arange(n_bins, dtype=np.float64)
    centres = F_MIN_HZ * 2.0 ** (np.arange(band_count()) / BANDS_PER_OCTAVE) / hz_per_bin
    half = np.maximum(centres * (2.0 ** (1.0 / BANDS_PER_OCTAVE) - 1.0), 1.0)
    weights = np.clip(1.0 - np.abs(bins[None, :] - centres[:, None]) / half[:, None], 0.0, None)
    weights /= weights.sum(axis=1, keepdims=True)
    return weights.T.astype(np.float32)  # (fft bins, bands)


@cache
def band_bins() -> np.ndarray:
    """Effective number of independent FFT bins each band averages (1 / sum of squared weights):
    a noise band's level fluctuates as 1 / sqrt of it, so low, narrow bands are the spiky ones."""
    w = _filterbank().astype(np.float64)
    return (1.0 / np.sum(w**2, axis=0)).astype(np.float32)


@cache
def _window() -> np.ndarray:
    return np.hanning(N_FFT).astype(np.float32)


def log_spectrogram(samples: np.ndarray) -> np.ndarray:
    """``(frames, bands)`` power in dB re full scale; empty when the signal is shorter than a window."""
    if len(samples) < N_FFT:
        return np.zeros((0, band_count()), dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(samples, N_FFT)[::HOP]
    bands = np.empty((len(frames), band_count()), dtype=np.float32)
    # In blocks of frames that stay in cache: a 3-minute file's spectrum in one piece (23 MB of
    # windowed frames, 23 MB of spectrum) took ~48 ms, blocks ~25 ms; each frame's result is the same.
    for start in range(0, len(frames), _FRAMES_PER_BLOCK):
        spectrum = np.fft.rfft(frames[start : start + _FRAMES_PER_BLOCK] * _window(), axis=1)
        bands[start : start + _FRAMES_PER_BLOCK] = (spectrum.real**2 + spectrum.imag**2) @ _filterbank()
    # Full-scale sine -> ~0 dB: normalise by the window's energy.
    scale = float(np.sum(_window()) ** 2 / 4.0)
    return (10.0 * np.log10(bands / scale + 1e-12)).astype(np.float32)


def band_power(spec: np.ndarray) -> np.ndarray:
    """A dB spectrogram (``log_spectrogram``) back to power (float64), floored at FLOOR_DB."""
    return 10.0 ** (np.maximum(spec.astype(np.float64), FLOOR_DB) / 10.0)
