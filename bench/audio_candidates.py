"""What one audio search candidate costs: the screen (``AudioIndex.plausible``) and the compare.

    python bench/audio_candidates.py --corpus CORPUS [--references 20] [--clips 4]

A search verifies its candidates one by one: each weak one is screened, and the shortlist is
compared exactly against the query. Here 10 s clips of the first ``--clips`` of ``--references``
corpus tracks (every third), plain, under 0 dB pink noise and 6 dB under another track, are
screened and compared against every reference (mostly other tracks, as in a search). CPU time of
one core per candidate, averaged over all pairs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# As infra/template.yaml sets it for every function (read when numpy loads).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _audio_transforms import load_pcm, transforms
from audio_match import list_tracks

from medialayer.media.audio.engine import AudioEngine
from medialayer.media.audio.index import AudioIndex

TRANSFORMS = ("mp3_128k", "pink_0dB", "mixed_under_6dB")
CLIP_S, CLIP_AT_S = 10.0, 30.0


def _per_pair_ms(fn, queries: list, references: list) -> float:
    started = time.process_time()
    for query in queries:
        for reference in references:
            fn(query, reference)
    return (time.process_time() - started) / (len(queries) * len(references)) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True, help="corpus built by build_corpus.sh")
    parser.add_argument("--references", type=int, default=20)
    parser.add_argument("--clips", type=int, default=4)
    args = parser.parse_args()
    engine = AudioEngine(max_bytes=10**9, max_seconds=3600)
    tracks = list_tracks(args.corpus, 84)[: args.references]
    # Stored form, as a search loads its candidates.
    references = [engine.from_bytes(engine.to_bytes(engine.fingerprint_bytes(p.read_bytes()))) for p in tracks]
    made = {t.name: t for t in transforms()}
    lines = ["| clips | screen ms | compare ms |", "|---|---|---|"]
    for name in TRANSFORMS:
        queries = []
        for i in range(0, min(3 * args.clips, len(tracks) - 1), 3):
            louder = load_pcm(str(tracks[i + 1]), CLIP_AT_S, CLIP_S)
            clip, _ = made[name].make(load_pcm(str(tracks[i]), CLIP_AT_S, CLIP_S), 1, louder)
            queries.append(engine.fingerprint_bytes(clip))
        screen = _per_pair_ms(AudioIndex.plausible, queries, references)
        compare = _per_pair_ms(engine.compare, queries, references)
        lines.append(f"| {name} | {screen:.1f} | {compare:.1f} |")
    print(f"{len(references)} references, {args.clips} clips of {CLIP_S:.0f} s per row, per candidate:\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
