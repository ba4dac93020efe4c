"""Whether two runs of the audio bench gave our engine the same results, row by row.

    AUDIO_BENCH_DUMP=before.npy python bench/audio_match.py --corpus CORPUS --systems medialayer
    AUDIO_BENCH_DUMP=after.npy python bench/audio_match.py --corpus CORPUS --systems medialayer
    python bench/audio_dump_diff.py before.npy after.npy

Rows are matched by transform, clip length, track offset and relatedness (the workers finish in any
order); a clip's several unrelated rows are matched in order of score, where both runs have as
many (else they are left out and counted). A row differs when its score,
offset error or extra fields (details, edges) do; those whose offset error moved by more than 1 ms
(or was found or lost) are counted apart. Time is not compared. Then each run's segment
edges against the truth, over its recalled clips: how many are off by more than 0.5 s, how many
end more than 0.1 s early, the mean start and end errors, and the median end error per transform;
and how many of those clips it places more than 50 ms off.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from audio_match import engine, our_rows, recalled


def _ours(dump: Path) -> dict[tuple, list[dict]]:
    rows: dict[tuple, list[dict]] = defaultdict(list)
    for r in our_rows(dump):
        rows[(r["transform"], r["clip_s"], round(r["track_offset_s"], 6), r["related"])].append(r)
    return {key: sorted(found, key=lambda r: (r["score"], repr(r["extra"]))) for key, found in rows.items()}


def _outcome(r: dict) -> tuple:
    return r["score"], r["offset_error_s"], repr(r["extra"])


def _offset_moved(old: float | None, new: float | None) -> bool:
    """Whether a row's offset error was found or lost, or moved by more than 1 ms."""
    return (old is None) != (new is None) or (old is not None and abs(old - new) > 0.001)


def _edge_errors(rows: dict[tuple, list[dict]]) -> dict[str, list[tuple[float, float]]]:
    """(start, end) errors in seconds (reported - truth) of each recalled clip's segment, by transform."""
    threshold = engine().default_threshold
    out: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for (transform, *_), found in rows.items():
        for r in found:
            edges, truth = r["extra"].get("edges"), r["extra"].get("edges_truth")
            if r["related"] and edges and truth and recalled(r["score"], r["offset_error_s"], threshold):
                out[transform].append((edges[0] - truth[0], edges[1] - truth[1]))
    return out


def _edge_summary(label: str, errors: dict[str, list[tuple[float, float]]]) -> str:
    every = np.array([e for found in errors.values() for e in found]).reshape(-1, 2)
    medians = ", ".join(f"{t} {1000 * np.median([e[1] for e in found]):+.0f}" for t, found in sorted(errors.items()))
    off = int(np.sum(np.abs(every).max(axis=1) > 0.5))
    return (f"{label}: {len(every)} recalled clips; edges off by > 0.5 s: {off}; "
            f"ends > 0.1 s early: {int(np.sum(every[:, 1] < -0.1))}; mean |error| start "
            f"{1000 * np.mean(np.abs(every[:, 0])):.1f} ms, end {1000 * np.mean(np.abs(every[:, 1])):.1f} ms\n"
            f"  median end error (ms) by transform: {medians}")


def _offset_summary(rows: dict[tuple, list[dict]]) -> str:
    """How many recalled clips start more than 50 ms off (over every transform), the median and the largest."""
    threshold = engine().default_threshold
    errors = np.array([r["offset_error_s"] for found in rows.values() for r in found
                       if r["related"] and recalled(r["score"], r["offset_error_s"], threshold)])
    if not len(errors):
        return "  start offsets: no recalled clip"
    return (f"  start offsets off by > 50 ms: {int(np.sum(errors > 0.05))} of {len(errors)}; median "
            f"{1000 * np.median(errors):.0f} ms, largest {1000 * errors.max():.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--show", type=int, default=5, help="differing rows to print")
    args = parser.parse_args()
    before, after = _ours(args.before), _ours(args.after)
    # A clip's unrelated pairs may differ in number (a run that leaves out a recording's versions);
    # its rows cannot be told apart then, so that clip's unrelated rows are not compared.
    uneven = {k for k in before.keys() | after.keys() if len(before.get(k, [])) != len(after.get(k, []))}
    if any(k[3] for k in uneven):
        raise SystemExit("the runs made different queries (AUDIO_BENCH_ONLY, --limit or another corpus?)")
    if uneven:
        print(f"{len(uneven)} clips' unrelated pairs differ in number ({sum(len(before.get(k, [])) for k in uneven)} "
              f"-> {sum(len(after.get(k, [])) for k in uneven)} rows): those rows are not compared")
    compared = differing = moved = 0
    for key in (k for k in before if k not in uneven):  # in the run's order: --show prints the same rows
        for old, new in zip(before[key], after[key], strict=True):
            compared += 1
            if _outcome(old) != _outcome(new):
                differing += 1
                moved += _offset_moved(old["offset_error_s"], new["offset_error_s"])
                if differing <= args.show:
                    print(f"{key}: score {old['score']:.6f} -> {new['score']:.6f}, "
                          f"offset error {old['offset_error_s']} -> {new['offset_error_s']}")
    print(f"{compared} rows compared, {differing} differ, {moved} of them in offset error by more than 1 ms "
          "(or found / lost)")
    for label, rows in (("before", before), ("after", after)):
        print(_edge_summary(label, _edge_errors(rows)))
        print(_offset_summary(rows))


if __name__ == "__main__":
    main()
