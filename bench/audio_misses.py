"""What the audio bench's misses under noise share: per clip of one noise transform, how much of the clean
clip's energy lies below the engine's band and the SNR inside that band, beside whether we recalled it
and the evidence our engine found (similarity, offset error, votes, evidence z, the changes' own z).
Then the highest evidence of the run's unrelated pairs, which any gain must stay above.

    python bench/audio_match.py --corpus CORPUS --systems medialayer     # writes the results dump
    python bench/audio_misses.py --corpus CORPUS [--transform pink_0dB] [--dump PATH]

The clips are rebuilt with the bench's own seeds (``audio_match.queries``): the clean cut and the noise
the transform adds to it, each through the same FFT band mask. The dump must come from a run without
AUDIO_BENCH_ONLY or --limit (those draw other clips).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _audio_transforms import RATE, noise_for
from audio_match import REFERENCE_CAP_S, dump_path, engine, list_tracks, our_rows, queries, recalled

from medialayer.media.audio.decode import decode_audio
from medialayer.media.audio.spectrogram import F_MAX_HZ, F_MIN_HZ

# A clip counts as bass-heavy when at least this share of its energy lies below the engine's band.
BASS_SHARE = 0.76


def _band_powers(x: np.ndarray, *bands: tuple[float, float]) -> list[float]:
    """Power of ``x`` in each ``(lo, hi)`` Hz band, from one transform."""
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1.0 / RATE)
    return [float(spectrum[(freqs >= lo) & (freqs < hi)].sum()) for lo, hi in bands]


def _ours(dump: Path, transform: str) -> tuple[dict[tuple[int, float], dict], list[dict]]:
    """Our related rows of ``transform`` by (track offset in ms, clip seconds), and every unrelated row."""
    related, unrelated = {}, []
    for r in our_rows(dump):
        if not r["related"]:
            unrelated.append(r)
        elif r["transform"] == transform:
            related[(round(r["track_offset_s"] * 1000), r["clip_s"])] = r
    return related, unrelated


def _evidence(r: dict) -> str:
    """Similarity | offset error | votes | evidence z | changes' z of one row, as table cells."""
    d = r["extra"].get("details") or {}
    err = "-" if r["offset_error_s"] is None else f"{1000 * r['offset_error_s']:.0f} ms"
    return (f"{r['score']:.3f} | {err} | {d.get('votes', '-')} | {d.get('overlap_z', '-')} | "
            f"{d.get('change_z', '-')}")


def _unrelated_highs(unrelated: list[dict], n: int = 5) -> str:
    """The ``n`` highest similarities, evidence z and votes of the unrelated pairs."""
    def top(values: list[float]) -> str:
        return ", ".join(f"{v:g}" for v in sorted(values, reverse=True)[:n])

    details = [r["extra"].get("details") or {} for r in unrelated]
    return (f"highest of {len(unrelated)} unrelated pairs (every transform): "
            f"similarity {top([round(r['score'], 3) for r in unrelated])}; "
            f"evidence z {top([d.get('overlap_z', 0.0) for d in details])}; "
            f"votes {top([d.get('votes', 0) for d in details])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True, help="corpus built by build_corpus.sh")
    parser.add_argument("--transform", default="pink_0dB", help="a noise transform: white_10dB, pink_0dB, ...")
    parser.add_argument("--dump", type=Path, default=dump_path())
    args = parser.parse_args()
    noise = re.fullmatch(r"(white|pink)_(-?\d+)dB", args.transform)
    if noise is None:
        parser.error("--transform must be a noise transform such as pink_0dB")
    colour, snr_db = noise.group(1), float(noise.group(2))
    ours, unrelated = _ours(args.dump, args.transform)
    tracks = list_tracks(args.corpus, None)
    # Each track's decoded length, as the bench's references have it: the clips' offsets follow from it.
    durations = [decode_audio(p.read_bytes(), max_bytes=10**9, max_seconds=REFERENCE_CAP_S).duration_s
                 for p in tracks]
    threshold = engine().default_threshold
    rows = []
    for i in range(len(tracks)):
        for q in queries(tracks, i, durations):
            if q.transform.name != args.transform:
                continue
            music, under, whole = _band_powers(q.pcm, (F_MIN_HZ, F_MAX_HZ), (0.0, F_MIN_HZ), (0.0, RATE))
            (noise_in_band,) = _band_powers(noise_for(q.pcm, snr_db, colour, q.seed), (F_MIN_HZ, F_MAX_HZ))
            r = ours[(round(q.offset_s * 1000), q.clip_s)]
            hit = recalled(r["score"], r["offset_error_s"], threshold)
            rows.append((10 * np.log10(music / noise_in_band), under / max(whole, 1e-30), hit, q.clip_s,
                         tracks[q.track].name, q.offset_s, _evidence(r)))
    rows.sort()
    print(f"{args.transform}: {len(rows)} clips, {sum(not r[2] for r in rows)} missed\n")
    band = f"{F_MIN_HZ:.0f}-{F_MAX_HZ:.0f} Hz"
    print(f"| SNR in {band} | energy below {F_MIN_HZ:.0f} Hz | recalled | clip | track | offset "
          "| similarity | offset error | votes | evidence z | changes' z |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for in_band, below, hit, clip_s, name, off, evidence in rows:
        if not hit or in_band < -5:
            print(f"| {in_band:.1f} dB | {100 * below:.0f} % | {'yes' if hit else 'no'} | {clip_s:.0f} s | {name} "
                  f"| {off:.1f} s | {evidence} |")
    for label, group in (("recalled", [r for r in rows if r[2]]), ("missed", [r for r in rows if not r[2]])):
        if group:
            bass = sum(r[1] >= BASS_SHARE for r in group)
            low = sum(r[0] <= -5 for r in group)
            print(f"\n{label}: {len(group)}; median in-band SNR {np.median([r[0] for r in group]):.1f} dB; "
                  f"{bass} with >= {100 * BASS_SHARE:.0f} % of their energy below {F_MIN_HZ:.0f} Hz; "
                  f"{low} at -5 dB or lower in the band", end="")
    print(f"\n\n{_unrelated_highs(unrelated)}")


if __name__ == "__main__":
    main()
