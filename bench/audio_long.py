"""Long copies: whole stretches of a track (not clips) re-encoded, noisy, pitch-shifted, sped up.

    python bench/audio_long.py --corpus CORPUS [--tracks 24] [--seconds 120] [--workers 2] [--write-docs]

From each of ``--tracks`` corpus tracks at least ``--seconds`` + 10 s long, a stretch of
``--seconds`` is cut at a seeded random position and transformed. Each copy is compared with its
whole track (recalled: "match" and within 0.5 s of the true offset; "whole": that segment spans at
least 90 % of the copy) and with the next track (a false match if "match"). Long sources search
with a sample of their landmarks (alignment.GRID_MAX_LANDMARKS), which clips never do: this is the
bench that covers that path. Times are CPU seconds of the compare alone.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from multiprocessing import Pool
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _audio_transforms import load_pcm, transforms
from _docs import write_section
from audio_match import engine, list_tracks

TRANSFORMS = ("mp3_64k", "white_10dB", "pink_10dB", "mixed_under_6dB", "pitch_-3%", "pitch_+3%",
              "pitch_-5%", "pitch_+5%", "speed_-5%", "speed_+5%", "tempo_-5%", "tempo_+5%")
OFFSET_TOLERANCE_S = 0.5
WHOLE_SHARE = 0.9
THRESHOLD = 0.80

_tracks: list[Path] = []
_seconds = 120.0


def _duration(path: Path) -> float:
    with av.open(str(path)) as container:
        return (container.duration or 0) / 1e6


def _pitch_factor(name: str) -> float:
    """Source pitch over target pitch the engine should report for a transform."""
    kind, _, pct = name.partition("_")
    return 1 + float(pct.rstrip("%")) / 100 if kind in ("pitch", "speed") else 1.0


def _init(tracks: list[Path], seconds: float) -> None:
    global _tracks, _seconds
    _tracks, _seconds = tracks, seconds


def track_job(i: int) -> list[dict]:
    eng = engine()
    own = eng.fingerprint_bytes(_tracks[i].read_bytes())
    other = eng.fingerprint_bytes(_tracks[(i + 1) % len(_tracks)].read_bytes())
    rng = np.random.default_rng(2000 + i)
    off = float(rng.uniform(0, own.duration_s - _seconds))
    pcm = load_pcm(str(_tracks[i]), off, _seconds)
    louder = load_pcm(str(_tracks[(i + 2) % len(_tracks)]), 0.0, _seconds)
    rows = []
    for tf in (t for t in transforms() if t.name in TRANSFORMS):
        q, lead = tf.make(pcm, int(rng.integers(2**31)), louder)
        fp = eng.fingerprint_bytes(q)
        row = {"transform": tf.name, "copy_s": _seconds / tf.speed}
        for side, ref in (("own", own), ("other", other)):
            t0 = time.process_time()
            cmp = eng.compare(fp, ref)
            row[f"{side}_s"] = time.process_time() - t0
            row[f"{side}_score"] = cmp.similarity
            if side == "own":
                tempo = cmp.details.get("tempo_ratio", 1.0)
                errors = [abs(s.target_start - tempo * s.source_start - (off - lead)) for s in cmp.segments]
                best = int(np.argmin(errors)) if errors else None
                row["error_s"] = errors[best] if errors else None
                row["span_s"] = cmp.segments[best].source_end - cmp.segments[best].source_start if errors else 0.0
                row["segments"] = len(cmp.segments)
                row["tempo_error"] = abs(tempo - tf.speed)
                row["pitch_error"] = abs(cmp.details.get("pitch_ratio", 1.0) - _pitch_factor(tf.name))
        rows.append(row)
    return rows


def summarise(rows: list[dict], tracks: int, seconds: float) -> str:
    by = defaultdict(list)
    for r in rows:
        by[r["transform"]].append(r)
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} with `python bench/audio_long.py --corpus CORPUS --tracks {tracks} "
        f"--seconds {seconds:.0f}`: a {seconds:.0f} s stretch of each of {tracks} tracks against its whole track "
        f"and against another track. Recalled: \"match\" (similarity >= {THRESHOLD:.2f}) within "
        f"{OFFSET_TOLERANCE_S} s of the true offset; whole: that segment spans >= {WHOLE_SHARE:.0%} of the copy. "
        "Factor errors are the largest of the recalled copies; times are the median CPU time of the compare alone.",
        "",
        "| transform | recalled | whole | offset error (median) | tempo / pitch error (max) | segments (median) "
        "| compare, own / other track |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in TRANSFORMS:
        rs = by.get(name, [])
        if not rs:
            continue
        hit = [r for r in rs if r["own_score"] >= THRESHOLD and r["error_s"] is not None
               and r["error_s"] <= OFFSET_TOLERANCE_S]
        whole = [r for r in hit if r["span_s"] >= WHOLE_SHARE * r["copy_s"]]
        err = f"{np.median([r['error_s'] for r in hit]) * 1000:.0f} ms" if hit else "-"
        factors = (f"{max(r['tempo_error'] for r in hit):.3f} / {max(r['pitch_error'] for r in hit):.3f}"
                   if hit else "-")
        lines.append(
            f"| {name} | {len(hit)}/{len(rs)} | {len(whole)}/{len(rs)} | {err} | {factors} | "
            f"{np.median([r['segments'] for r in rs]):.0f} | {np.median([r['own_s'] for r in rs]) * 1000:.0f} / "
            f"{np.median([r['other_s'] for r in rs]) * 1000:.0f} ms |")
    false = sum(r["other_score"] >= THRESHOLD for r in rows)
    top = sorted((r["other_score"] for r in rows), reverse=True)[:3]
    lines += ["", f"False matches: {false} of {len(rows)} copies against another track; highest scores "
              + ", ".join(f"{s:.3f}" for s in top) + "."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True, help="corpus built by build_corpus.sh")
    parser.add_argument("--tracks", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--write-docs", action="store_true", help="write the section into docs/benchmarks.md")
    args = parser.parse_args()
    long_enough = [p for p in list_tracks(args.corpus, None) if _duration(p) >= args.seconds + 10]
    if len(long_enough) < 3:
        raise SystemExit(f"need three tracks of at least {args.seconds + 10:.0f} s under {args.corpus / 'audio'}")
    step = max(1.0, len(long_enough) / args.tracks)
    tracks = [long_enough[int(i * step)] for i in range(min(args.tracks, len(long_enough)))]
    with Pool(args.workers, initializer=_init, initargs=(tracks, args.seconds)) as pool:
        rows = [r for part in pool.imap_unordered(track_job, range(len(tracks))) for r in part]
    text = summarise(rows, len(tracks), args.seconds)
    print(text)
    if args.write_docs:
        write_section("Long copies", text)


if __name__ == "__main__":
    main()
