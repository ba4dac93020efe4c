"""Segment edges of partial copies: clips whose one part is the track and the rest other music.

    python bench/audio_edges.py --corpus CORPUS [--limit N] [--workers 2] [--dump PATH] [--write-docs]

The match bench's clips are the track from end to end, so its edges only say whether a segment
reaches the clip's ends. Here each track gives two 10 s clips at seeded positions: in one the track
plays up to a split point 3-7 s in and another recording takes over, in the other the other
recording plays first. The other recording's part is brought to the track part's loudness (measured
as the noise and mixes measure it), so the split is no fade the engine could hear, and each clip is
then transformed as the match bench does (re-encoded, under noise, mixed under a louder third
track). Each clip is compared with its track. Recalled: "match" within 0.5 s of the true offset.
Of the recalled clips: the split edge (where the copy gives way) and the clip's own edge within
0.5 s of the truth, and segments that run more than 0.5 s into the other recording or stop more
than 0.5 s short of the split.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from multiprocessing import Pool
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _audio_transforms import RATE, load_pcm, loudness, transforms
from _docs import write_section
from audio_match import OFFSET_TOLERANCE_S, engine, init_ours, list_tracks, our_references, ours, recalled, recording

TRANSFORMS = ("mp3_128k", "pink_10dB", "white_0dB", "pink_0dB", "mixed_under_6dB")
CLIP_S = 10.0
SPLIT_S = (3.0, 7.0)
TOLERANCE_S = OFFSET_TOLERANCE_S
THRESHOLD = 0.80


def _other(rng: np.random.Generator, i: int, not_these: set[str]) -> tuple[int, float]:
    """Another recording long enough for a clip, and a seeded position in it."""
    while True:
        j = int(rng.integers(len(ours().tracks)))
        if recording(ours().tracks[j]) not in not_these and ours().durations[j] >= CLIP_S + 1:
            return j, float(rng.uniform(0, ours().durations[j] - CLIP_S))


def partial_clip(track: np.ndarray, other: np.ndarray, split_s: float, copy_first: bool) -> np.ndarray:
    """``track`` up to ``split_s`` then ``other`` (or the other way round), ``other``'s part at the
    level of ``track``'s."""
    cut = int(split_s * RATE)
    own, foreign = (track[:cut], other[cut:]) if copy_first else (track[cut:], other[:cut])
    foreign = foreign * (loudness(own) / loudness(foreign))
    return np.concatenate([own, foreign] if copy_first else [foreign, own]).astype(np.float32)


def track_job(i: int) -> list[dict]:
    """Track ``i``'s two partial clips under every transform, compared with the track."""
    tracks, durations = ours().tracks, ours().durations
    if durations[i] < CLIP_S + 1:
        return []
    rng = np.random.default_rng(3000 + i)
    target = engine().from_bytes(ours().blobs[i])
    rows = []
    for copy_first in (True, False):
        off = float(rng.uniform(0, durations[i] - CLIP_S))
        split = float(rng.uniform(*SPLIT_S))
        j, j_off = _other(rng, i, {recording(tracks[i])})
        k, k_off = _other(rng, i, {recording(tracks[i]), recording(tracks[j])})
        track = load_pcm(str(tracks[i]), off, CLIP_S)
        clip = partial_clip(track, load_pcm(str(tracks[j]), j_off, CLIP_S), split, copy_first)
        louder = load_pcm(str(tracks[k]), k_off, CLIP_S)
        for tf in (t for t in transforms() if t.name in TRANSFORMS):
            data, pad = tf.make(clip, int(rng.integers(2**31)), louder)
            cmp = engine().compare(engine().fingerprint_bytes(data), target)
            truth = (pad, pad + split) if copy_first else (pad + split, pad + CLIP_S)
            errors = [abs(s.target_start - s.source_start - (off - pad)) for s in cmp.segments]
            best = cmp.segments[int(np.argmin(errors))] if errors else None
            rows.append({"transform": tf.name, "copy_first": copy_first, "score": cmp.similarity,
                         "offset_error_s": min(errors) if errors else None, "truth": truth,
                         "edges": None if best is None else (best.source_start, best.source_end)})
    return rows


def split_error(r: dict) -> float:
    """Reported minus true split edge, in seconds, signed so that > 0 runs into the other recording."""
    if r["copy_first"]:
        return r["edges"][1] - r["truth"][1]
    return r["truth"][0] - r["edges"][0]


def outer_error(r: dict) -> float:
    """Reported minus true edge at the clip's own end (start or end), unsigned."""
    return abs(r["edges"][0] - r["truth"][0]) if r["copy_first"] else abs(r["edges"][1] - r["truth"][1])


def summarise(rows: list[dict], tracks: int) -> str:
    by = defaultdict(list)
    for r in rows:
        by[r["transform"]].append(r)
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} with `python bench/audio_edges.py --corpus CORPUS`: two {CLIP_S:.0f} s "
        f"clips from each of {tracks} tracks, the track up to a split {SPLIT_S[0]:.0f}-{SPLIT_S[1]:.0f} s in and "
        "another recording after it, or the other way round, at one level; each clip transformed and compared "
        f"with its track. Recalled: \"match\" within {TOLERANCE_S} s of the true offset. Edges of the recalled "
        f"clips' segments: within {TOLERANCE_S} s of the truth at the split and at the clip's own end; segments "
        f"running more than {TOLERANCE_S} s into the other recording or stopping as far short of the split; "
        "the split edge's error (reported - truth, > 0 into the other recording).",
        "",
        "| transform | recalled | split edge within 0.5 s | clip's edge within 0.5 s | into the other | short "
        "| split error median / p5 / p95 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in TRANSFORMS:
        rs = by.get(name, [])
        hit = [r for r in rs if recalled(r["score"], r["offset_error_s"], THRESHOLD) and r["edges"] is not None]
        if not rs:
            continue
        split = np.array([split_error(r) for r in hit])
        outer = np.array([outer_error(r) for r in hit])
        spread = (f"{np.median(split):+.2f} / {np.percentile(split, 5):+.2f} / {np.percentile(split, 95):+.2f} s"
                  if len(hit) else "-")
        lines.append(f"| {name} | {len(hit)}/{len(rs)} | {int(np.sum(np.abs(split) <= TOLERANCE_S))}/{len(hit)} | "
                     f"{int(np.sum(outer <= TOLERANCE_S))}/{len(hit)} | {int(np.sum(split > TOLERANCE_S))} | "
                     f"{int(np.sum(split < -TOLERANCE_S))} | {spread} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True, help="corpus built by build_corpus.sh")
    parser.add_argument("--limit", type=int, help="only the first N tracks (a quick look)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dump", type=Path, help="keep every clip's row here (numpy .npy of dicts)")
    parser.add_argument("--write-docs", action="store_true", help="write the section into docs/benchmarks.md")
    args = parser.parse_args()
    tracks = list_tracks(args.corpus, args.limit)
    refs, durations = our_references(tracks, args.workers)
    with Pool(args.workers, initializer=init_ours, initargs=(tracks, refs, durations)) as pool:
        rows = [r for part in pool.imap_unordered(track_job, range(len(tracks))) for r in part]
    if args.dump:
        np.save(args.dump, np.array(rows, dtype=object), allow_pickle=True)
    text = summarise(rows, len(rows) // (2 * len(TRANSFORMS)))
    print(text)
    if args.write_docs:
        write_section("Audio segment edges of partial copies", text)


if __name__ == "__main__":
    main()
