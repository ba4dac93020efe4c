"""Which kind of evidence finds the audio bench's noisy clips, and how high each reaches by chance.

    python bench/audio_evidence.py --corpus CORPUS [--limit N] [--workers 2]

Under 0 dB noise or a louder mix few landmark triplets survive, and a clip is found, if at all, by
the scans of every offset (``alignment``): the peak count's z (``verification.offset_z``), the
target's peaks read on the clip (``presence``), the band-energy changes (``changes``), and the joint z
of peaks and changes. The engine takes the strongest on one scale (``calibration.evidence_z``; 0.80
at z 7.5). Here each kind is read alone, on the match bench's clips (its seeds, ``audio_match.queries``):
at the true offset of the clips under NOISY, and as the highest over every offset of the bench's
unrelated pairs, together with the noisy clips against the same unrelated references (pairs the match
bench does not score). "All three" sums the peak count's, the presence's and the changes' z over
sqrt(3) where each reaches 2: a line that all three kinds see at once, which the engine does not use.
Pitch, speed and the lookups' votes are left out: these scans run at unchanged pitch and tempo.
"""

from __future__ import annotations

import argparse
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from audio_match import (
    FALSE_PAIR_TRANSFORMS,
    engine,
    heard,
    init_ours,
    list_tracks,
    our_references,
    ours,
    queries,
    recording,
)

from medialayer.media.audio.calibration import (
    CHANGE_Z_AT_OPERATING_POINT,
    JOINT_Z_AT_OPERATING_POINT,
    Z_KNOTS,
    evidence_z,
    joint_z,
)
from medialayer.media.audio.changes import scan_fingerprints
from medialayer.media.audio.fingerprint import AudioFingerprint
from medialayer.media.audio.presence import scan_presence
from medialayer.media.audio.spectrogram import FRAME_SECONDS
from medialayer.media.audio.verification import offset_z

NOISY = ("white_0dB", "pink_0dB", "mixed_under_6dB")
# The true line is found within this many frames of the truth (the scans step one frame; the bench
# counts a clip as placed within 0.5 s).
TRUTH_FRAMES = 1.5
ALL_THREE_FLOOR = 2.0
# Each kind's operating point on its own scale (None: it has none; read against the chance highs).
KINDS = {"peak count": Z_KNOTS[2], "presence": Z_KNOTS[2], "changes": CHANGE_Z_AT_OPERATING_POINT,
         "joint (peaks, changes)": JOINT_Z_AT_OPERATING_POINT, "engine's scan evidence": Z_KNOTS[2],
         "all three": None}

def kinds_by_offset(source: AudioFingerprint, target: AudioFingerprint) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(offsets, z of each kind)`` at every whole-frame offset of the peak count's scan; a scan that
    cannot run (a stored source has no presence) reads -inf. The others are read as the engine reads
    them beside the peak count: the best within one of their own offsets (``OffsetScan.z_near``)."""
    offsets, count = offset_z(source, target)
    unknown = np.full(len(offsets), -np.inf)
    presence, changes = scan_presence(source, target), scan_fingerprints(source, target)
    present = presence.z_near(offsets) if presence is not None and len(offsets) else unknown
    change = changes.z_near(offsets) if changes is not None and len(offsets) else unknown
    peaks = np.maximum(count, present)
    lowest = np.minimum(np.minimum(count, present), change)
    every = np.where(lowest >= ALL_THREE_FLOOR, (count + present + change) / np.sqrt(3.0), 0.0)
    return offsets, {"peak count": count, "presence": present, "changes": change,
                     "joint (peaks, changes)": joint_z(peaks, np.maximum(change, 0.0)),
                     "engine's scan evidence": evidence_z(peaks, np.maximum(change, 0.0)), "all three": every}


def _highest(values: np.ndarray) -> float:
    return float(values.max()) if len(values) else -np.inf


def query_job(i: int) -> list[dict]:
    """Track ``i``'s noisy clips at their true offset, and its clips against unrelated references."""
    targets: dict[int, AudioFingerprint] = {}

    def target(j: int) -> AudioFingerprint:
        if j not in targets:
            targets[j] = engine().from_bytes(ours().blobs[j])
        return targets[j]

    rows, tracks = [], ours().tracks
    for query in queries(tracks, i, ours().durations):
        name = query.transform.name
        if name not in NOISY and name not in FALSE_PAIR_TRANSFORMS:
            continue
        data, pad = query.transform.make(query.pcm, query.seed, query.unrelated)
        fp = engine().fingerprint_bytes(data)
        if name in NOISY:
            offsets, kinds = kinds_by_offset(fp, target(i))
            near = np.abs(offsets - (query.offset_s - pad) / FRAME_SECONDS) <= TRUTH_FRAMES
            rows.append({"related": True, "transform": name, "z": {k: _highest(v[near]) for k, v in kinds.items()}})
        held = heard(tracks, query.track, query.mix_track)
        for j in query.false_refs:
            if recording(tracks[j]) not in held:
                _, kinds = kinds_by_offset(fp, target(j))
                rows.append({"related": False, "transform": name, "clip_s": query.clip_s, "query": tracks[i].name,
                             "ref": tracks[j].name, "z": {k: _highest(v) for k, v in kinds.items()}})
    return rows


def summarise(rows: list[dict]) -> str:
    unrelated = [r for r in rows if not r["related"]]
    clips = {name: [r for r in rows if r["related"] and r["transform"] == name] for name in NOISY}
    lines = [f"{len(unrelated)} unrelated pairs (the bench's, and its noisy clips against the same references); "
             "noisy clips at their true offset: at the kind's operating point / above the unrelated pairs' highest",
             "", "| evidence | operating point | unrelated highest | " + " | ".join(NOISY) + " |",
             "|---|---|---|" + "---|" * len(NOISY)]
    for kind, point in KINDS.items():
        chance = sorted((r["z"][kind] for r in unrelated), reverse=True)
        cells = []
        for name in NOISY:
            z = np.array([r["z"][kind] for r in clips[name]])
            at_point = "-" if point is None else str(int(np.sum(z >= point)))
            cells.append(f"{at_point} / {int(np.sum(z > chance[0]))} of {len(z)}")
        lines.append(f"| {kind} | {'-' if point is None else f'{point:g}'} | "
                     f"{', '.join(f'{v:.2f}' for v in chance[:3])} | " + " | ".join(cells) + " |")
    lines.append("")
    for kind in ("engine's scan evidence", "all three"):
        top = sorted(unrelated, key=lambda r: -r["z"][kind])[:3]
        lines.append(f"Highest unrelated pairs, {kind}: " + "; ".join(
            f"{r['z'][kind]:.2f} ({r['clip_s']:.0f} s {r['transform']} clip of {r['query']} against {r['ref']})"
            for r in top) + ".")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True, help="corpus built by build_corpus.sh")
    parser.add_argument("--limit", type=int, help="only the first N tracks (a quick look)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    tracks = list_tracks(args.corpus, args.limit)
    started = time.time()
    refs, durations = our_references(tracks, args.workers)
    print(f"references: {len(refs)} in {time.time() - started:.0f} s", flush=True)
    with Pool(args.workers, initializer=init_ours, initargs=(tracks, refs, durations)) as pool:
        rows = [r for part in pool.imap_unordered(query_job, range(len(tracks))) for r in part]
    print(summarise(rows))


if __name__ == "__main__":
    main()
