"""A target's peaks read on a fresh source's whole spectrogram: the dense side of the peak evidence.

``verification`` counts source peaks that land on target peaks, so a partial counts only where it
survived as a local maximum of the source. Under 0 dB noise most do not, yet each still lifts the
source's level where it sits. Here every target peak reads the source's prominence at its place
(per band in units of the band's own spread, only where it stands above the band's median), summed
over every offset at once and weighed like the changes (``changes.offset_scan_z``). A line's peak
evidence is the higher of the two z-scores. Noise cells read ~0 whatever the target, and the map is
zero-mean per band, so a held note or a shared key adds nothing by itself: on the audio bench pink
0 dB rose from 154 to 158 of 168 clips, mixed from 150 to 152, with the unrelated pairs' highest
scores unchanged (docs/benchmarks.md, "Audio match", note "The target's peaks read on a fresh
clip's spectrogram").

Only a fresh fingerprint keeps its spectrogram, so only a fresh source (a query, either side of a
match) has this evidence; a stored target needs its peaks alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from medialayer.media.audio.changes import MAD_TO_STD, OffsetScan, correlations, offset_scan_z
from medialayer.media.audio.peaks import FREQ_SUBSTEPS, prominence
from medialayer.media.audio.spectrogram import FRAME_SECONDS, band_count

if TYPE_CHECKING:  # the fingerprint keeps the spectrogram this reads
    from medialayer.media.audio.fingerprint import AudioFingerprint

# A source cell counts in units of its band's spread (median and MAD over the source), from 0 (at
# or below the band's median: noise) up to this many: one loud partial must not outweigh the rest.
MAX_UNITS = 5.0


def source_map(fp: AudioFingerprint) -> np.ndarray | None:
    """``(frames, bands)`` float32: how far each cell of a fresh fingerprint stands above its band,
    zero-mean per band (so a target peak on a silent or steady band adds nothing on average);
    None for a stored fingerprint (cached on ``fp``)."""
    if fp.spectrogram is None or len(fp.spectrogram) == 0:
        return None
    cached = fp.cache.get("presence")
    if cached is None:
        _, above = prominence(fp.spectrogram)
        median = np.median(above, axis=0)
        spread = MAD_TO_STD * np.median(np.abs(above - median), axis=0) + 1e-6
        units = np.clip((above - median) / spread, 0.0, MAX_UNITS)
        cached = (units - units.mean(axis=0)).astype(np.float32)
        fp.cache["presence"] = cached
    return cached


def target_map(fp: AudioFingerprint) -> np.ndarray:
    """``(frames, bands)`` float32 over ``fp``'s length, with each of its peaks shared between the two
    bands beside its sub-band frequency (cached on ``fp``)."""
    cached = fp.cache.get("peak_map")
    if cached is None:
        frames = max(int(fp.duration_s / FRAME_SECONDS), int(fp.frames[-1]) + 1)
        cached = np.zeros((frames, band_count()), np.float32)
        f = fp.freqs.astype(np.float64) / FREQ_SUBSTEPS
        lo = np.floor(f).astype(np.int64)
        upper = (f - lo).astype(np.float32)
        last = band_count() - 1
        np.add.at(cached, (fp.frames, np.minimum(lo, last)), 1.0 - upper)
        np.add.at(cached, (fp.frames, np.minimum(lo + 1, last)), upper)
        fp.cache["peak_map"] = cached
    return cached


def scan_presence(source: AudioFingerprint, target: AudioFingerprint) -> OffsetScan | None:
    """z of the target's peaks read on the source's map at every whole-frame offset that keeps the
    source inside the target (unchanged pitch and tempo); None without a fresh source map."""
    query = source_map(source)
    if query is None or len(target) == 0:
        return None
    reference = target_map(target)
    if len(query) > len(reference):
        return None
    z = offset_scan_z(correlations(query, reference), step=1)
    return None if z is None else OffsetScan(first=0, step=1, z=z)
