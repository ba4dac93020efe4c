"""False matches of the audio engine on unrelated pairs that bench/audio_match.py does not draw.

    python bench/audio_false_matches.py --corpus CORPUS [--refs 12] [--workers 2] [--write-docs]

The match bench's unrelated pairs are where the engine's knots were last checked. Here every track
gives a 5 s and a 10 s clip at other seeded positions, each re-encoded, under white or pink noise at
0 dB (where the scans of every offset run), mixed under a louder track and pitch-shifted, and each
is compared with ``--refs`` references of other recordings.
A recording's other versions are not other recordings (``audio_match.recording``): a reference
that is a version of the clip's own track or of its mix track is left out, as in the match bench.
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

from _audio_transforms import load_pcm, transforms
from _docs import write_section
from audio_match import CLIP_SECONDS, engine, heard, list_tracks, our_references, recording

TRANSFORMS = ("mp3_128k", "white_0dB", "pink_0dB", "mixed_under_6dB", "pitch_+5%")
THRESHOLD = 0.80
# Seeds apart from the match bench's (1000 + track).
SEED_BASE = 777_000

_tracks: list[Path] = []
_refs: dict[int, bytes] = {}
_durations: list[float] = []
_per_clip = 12


def _init(tracks: list[Path], refs: dict[int, bytes], durations: list[float], per_clip: int) -> None:
    global _tracks, _refs, _durations, _per_clip
    _tracks, _refs, _durations, _per_clip = tracks, refs, durations, per_clip


def query_job(i: int) -> list[dict]:
    """Track ``i``'s clips against ``_per_clip`` references of other recordings each."""
    rng = np.random.default_rng(SEED_BASE + i)
    by_name = {t.name: t for t in transforms()}
    rows = []
    for clip_s in CLIP_SECONDS:
        if _durations[i] < clip_s + 1:
            continue
        off = float(rng.uniform(0, _durations[i] - clip_s))
        pcm = load_pcm(str(_tracks[i]), off, clip_s)
        j_mix = int(rng.choice([j for j in range(len(_tracks)) if j != i]))
        mix = load_pcm(str(_tracks[j_mix]), float(rng.uniform(0, max(_durations[j_mix] - clip_s, 0))), clip_s)
        held = heard(_tracks, i, j_mix)
        others = [j for j in range(len(_tracks)) if recording(_tracks[j]) not in held]
        picked = [others[int(k)] for k in rng.choice(len(others), size=min(_per_clip, len(others)), replace=False)]
        # One fingerprint per reference for every transform: it keeps its index between compares.
        refs = {j: engine().from_bytes(_refs[j]) for j in picked}
        for name in TRANSFORMS:
            data, _ = by_name[name].make(pcm, int(rng.integers(2**31)), mix)
            fp = engine().fingerprint_bytes(data)
            for j, ref in refs.items():
                cmp = engine().compare(fp, ref)
                rows.append({"transform": name, "clip_s": clip_s, "query": _tracks[i].name, "offset_s": off,
                             "ref": _tracks[j].name, "score": cmp.similarity,
                             "z": float(cmp.details.get("overlap_z", 0.0)),
                             "change_z": float(cmp.details.get("change_z", 0.0)),
                             "votes": int(cmp.details.get("votes", 0)),
                             "at_s": cmp.segments[0].target_start if cmp.segments else None})
    return rows


def summarise(rows: list[dict], n_tracks: int, per_clip: int) -> str:
    by = defaultdict(list)
    for r in rows:
        by[r["transform"]].append(r)
    lines = [f"Measured {time.strftime('%Y-%m-%d')} with `python bench/audio_false_matches.py --corpus CORPUS "
             f"--refs {per_clip} --write-docs`: {len(rows)} pairs of distinct recordings from {n_tracks} tracks "
             "(a 5 s and a 10 s clip of each at other positions than the match bench's, each against "
             f"{per_clip} references). A false match: similarity >= {THRESHOLD:.2f}.",
             "", "| transform | pairs | false matches | highest similarities | highest evidence z |",
             "|---|---|---|---|---|"]

    def top(values: list[float], n: int = 3) -> str:
        return ", ".join(f"{v:.2f}" for v in sorted(values, reverse=True)[:n])

    for name in (*TRANSFORMS, "all"):
        rs = rows if name == "all" else by[name]
        false = sum(r["score"] >= THRESHOLD for r in rs)
        label = f"**{name}**" if name == "all" else name
        lines.append(f"| {label} | {len(rs)} | {false} | {top([r['score'] for r in rs])} | "
                     f"{top([r['z'] for r in rs])} |")
    false = sorted((r for r in rows if r["score"] >= THRESHOLD), key=lambda r: -r["score"])
    lines += ["", "False matches: " + ("; ".join(
        f"{r['score']:.3f} ({r['clip_s']:.0f} s {r['transform']} clip of {r['query']} at {r['offset_s']:.1f} s "
        f"against {r['ref']}" + ("" if r["at_s"] is None else f" at {r['at_s']:.1f} s")
        + f", {r['votes']} votes, z {r['z']:.2f}, changes' z {r['change_z']:.2f})" for r in false) or "none") + "."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True, help="corpus built by build_corpus.sh")
    parser.add_argument("--refs", type=int, default=12, help="references of other recordings per clip")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--write-docs", action="store_true", help="write the section into docs/benchmarks.md")
    parser.add_argument("--dump", type=Path, help="keep every pair's row here (numpy .npy of dicts)")
    args = parser.parse_args()
    tracks = list_tracks(args.corpus, None)
    started = time.time()
    refs, durations = our_references(tracks, args.workers)
    print(f"references: {len(refs)} in {time.time() - started:.0f} s", flush=True)
    with Pool(args.workers, initializer=_init, initargs=(tracks, refs, durations, args.refs)) as pool:
        rows = [r for part in pool.imap_unordered(query_job, range(len(tracks))) for r in part]
    if args.dump:
        np.save(args.dump, np.array(rows, dtype=object), allow_pickle=True)
    text = summarise(rows, len(tracks), args.refs)
    print(text)
    if args.write_docs:
        write_section("Audio false matches", text)


if __name__ == "__main__":
    main()
