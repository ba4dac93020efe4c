"""Does a part of one recording occur in another? A clean cut of ``A`` compared with the whole of ``B``.

    python bench/audio_part.py A B --start S [--seconds 10]

``--start`` counts from the end of ``A`` when negative (``--start -11``: the 10 s before the last
second). Prints the similarity, the evidence and the segments, as ``POST /audio/match`` would find
them: what tells shared material (a common intro, outro or sample) from a chance match.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _audio_transforms import encode, load_pcm
from audio_match import engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", type=Path, help="the file a part is cut from")
    parser.add_argument("b", type=Path, help="the file it is looked for in")
    parser.add_argument("--start", type=float, required=True, help="seconds into A (negative: from its end)")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with av.open(str(args.a)) as container:
        length = (container.duration or 0) / 1e6
    start = args.start if args.start >= 0 else length + args.start
    if start < 0:
        parser.error(f"{args.a.name} states {length:.1f} s: --start {args.start:g} lies before its beginning")
    part = engine().fingerprint_bytes(encode(load_pcm(str(args.a), start, args.seconds), ["-c:a", "pcm_f32le"], "wav"))
    result = engine().compare(part, engine().fingerprint_bytes(args.b.read_bytes()))
    d = result.details
    print(f"{args.a.name} {start:.1f}-{start + args.seconds:.1f} s in {args.b.name}: similarity "
          f"{result.similarity:.3f}, {d.get('votes')} votes, evidence z {d.get('overlap_z')}")
    for s in result.segments:
        print(f"  {start + s.source_start:.1f}-{start + s.source_end:.1f} s of A at {s.target_start:.1f}-"
              f"{s.target_end:.1f} s of B (score {s.score:.3f})")


if __name__ == "__main__":
    main()
