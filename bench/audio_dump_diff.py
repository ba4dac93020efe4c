"""Whether two runs of the audio bench gave our engine the same results, row by row.

    AUDIO_BENCH_DUMP=before.npy python bench/audio_match.py --corpus CORPUS --systems medialayer
    AUDIO_BENCH_DUMP=after.npy python bench/audio_match.py --corpus CORPUS --systems medialayer
    python bench/audio_dump_diff.py before.npy after.npy

Rows are matched by transform, clip length, track offset and relatedness (the workers finish in any
order); a clip's several unrelated rows are matched in order of score. A row differs when its score,
offset error or extra fields (details, edges) do. Time is not compared.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np


def _ours(dump: Path) -> dict[tuple, list[dict]]:
    rows: dict[tuple, list[dict]] = defaultdict(list)
    for r in np.load(dump, allow_pickle=True):
        if r["system"] == "medialayer":
            rows[(r["transform"], r["clip_s"], round(r["track_offset_s"], 6), r["related"])].append(r)
    return {key: sorted(found, key=lambda r: (r["score"], repr(r["extra"]))) for key, found in rows.items()}


def _outcome(r: dict) -> tuple:
    return r["score"], r["offset_error_s"], repr(r["extra"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--show", type=int, default=5, help="differing rows to print")
    args = parser.parse_args()
    before, after = _ours(args.before), _ours(args.after)
    if before.keys() != after.keys() or any(len(before[k]) != len(after[k]) for k in before):
        raise SystemExit("the runs made different queries (AUDIO_BENCH_ONLY, --limit or another corpus?)")
    compared = differing = 0
    for key in before:
        for old, new in zip(before[key], after[key], strict=True):
            compared += 1
            if _outcome(old) != _outcome(new):
                differing += 1
                if differing <= args.show:
                    print(f"{key}: score {old['score']:.6f} -> {new['score']:.6f}, "
                          f"offset error {old['offset_error_s']} -> {new['offset_error_s']}")
    print(f"{compared} rows compared, {differing} differ")


if __name__ == "__main__":
    main()
