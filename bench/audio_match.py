"""Audio match benchmark: MediaLayer's AudioEngine against Chromaprint and an audfprint-style baseline.

    python bench/audio_match.py --corpus CORPUS [--limit N] [--workers 2] [--write-docs]

Every track of ``corpus/audio`` is a reference. From each, a 5 s and a 10 s clip are cut at seeded
random positions and transformed (re-encodes, volume, silence padding, white/pink noise, mixing
under a louder unrelated track, pitch shift with tempo kept, speed and tempo changes). A query
counts as recalled when the system says "match" and places it within 0.5 s of the true offset: where
the clip's first sample plays in the file, after any silence before it and the codec's priming
(``_audio_transforms.codec_delay``).
False matches: queries against references of other recordings (``recording``: another version of the
clip's track or of the track it is mixed under is the same recording). Peers' thresholds are set on those
very unrelated pairs (the lowest that gives no false match); ours is the engine's fixed 0.80.
Chromaprint's ``fpcalc`` comes from Debian's libchromaprint-tools.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _audio_peers import (
    audfprint_hashes,
    audfprint_match,
    audfprint_peaks,
    chromaprint,
    chromaprint_match,
)
from _audio_transforms import Transform, load_pcm, transforms
from _docs import write_section

from medialayer.media.audio.decode import decode_audio
from medialayer.media.audio.engine import AudioEngine
from medialayer.media.audio.fingerprint import AudioFingerprint

SYSTEMS = ("medialayer", "chromaprint", "audfprint-style")
CLIP_SECONDS = (5.0, 10.0)
OFFSET_TOLERANCE_S = 0.5
# The transforms whose clips are also compared with unrelated references (Query.false_refs).
FALSE_PAIR_TRANSFORMS = ("mp3_128k", "white_10dB", "mixed_under_6dB", "pitch_+5%")
REFERENCE_CAP_S = 3600.0  # references may exceed the API's 300 s cap: the benchmark wants long offsets
# Corpus names of one recording's versions differ only by these suffixes (wz2100__menu_enhanced.opus).
VERSION_SUFFIXES = ("_enhanced",)

_engine: AudioEngine | None = None
_systems: tuple[str, ...] = SYSTEMS
_only: set[str] = set(filter(None, os.environ.get("AUDIO_BENCH_ONLY", "").split(",")))  # tuning runs
_refs: dict[int, dict] = {}
_tracks: list[Path] = []


def _cpu() -> float:
    return time.process_time()


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def engine() -> AudioEngine:
    global _engine
    if _engine is None:
        _engine = AudioEngine(max_bytes=10**9, max_seconds=REFERENCE_CAP_S)
    return _engine


def recalled(score: float, offset_error_s: float | None, threshold: float) -> bool:
    """How the table counts a clip as recalled: "match" at ``threshold``, within the offset tolerance."""
    return score >= threshold and offset_error_s is not None and offset_error_s <= OFFSET_TOLERANCE_S


def dump_path() -> Path:
    """Where a run keeps every row's results (AUDIO_BENCH_DUMP; audio_dump_diff.py, audio_misses.py)."""
    return Path(os.environ.get("AUDIO_BENCH_DUMP", Path(tempfile.gettempdir()) / "audio_bench_results.npy"))


def our_rows(dump: Path) -> list[dict]:
    """Our engine's rows of a kept run, each a ``Result``'s fields."""
    return [r for r in np.load(dump, allow_pickle=True) if r["system"] == "medialayer"]


def recording(path: Path) -> str:
    """The recording a corpus file holds: its stem without a version suffix."""
    stem = path.stem
    for suffix in VERSION_SUFFIXES:
        stem = stem.removesuffix(suffix)
    return stem


def list_tracks(corpus: Path, limit: int | None) -> list[Path]:
    tracks = sorted(p for p in (corpus / "audio").rglob("*") if p.is_file() and p.suffix.lower() in
                    {".ogg", ".mp3", ".wav", ".flac", ".m4a", ".opus", ".webm", ".aac"})
    if limit and limit < len(tracks):
        step = len(tracks) / limit
        tracks = [tracks[int(i * step)] for i in range(limit)]
    return tracks


def _our_reference(path: Path) -> tuple[bytes, float]:
    fp = engine().fingerprint_bytes(path.read_bytes())
    return engine().to_bytes(fp), fp.duration_s


def our_references(tracks: list[Path], workers: int) -> tuple[dict[int, bytes], list[float]]:
    """Every track's stored fingerprint (ours alone) by index, and its decoded seconds: the references
    of the benches that score our engine only."""
    with Pool(workers) as pool:
        done = pool.map(_our_reference, tracks)
    return {i: blob for i, (blob, _) in enumerate(done)}, [duration for _, duration in done]


@dataclass(frozen=True)
class OurReferences:
    """What a pool worker of a bench that scores our engine only reads: the tracks, their stored
    fingerprints by index and their decoded seconds (``our_references``)."""

    tracks: list[Path]
    blobs: dict[int, bytes]
    durations: list[float]


_our = OurReferences([], {}, [])


def init_ours(tracks: list[Path], blobs: dict[int, bytes], durations: list[float]) -> None:
    """A pool initializer: this worker's ``ours()``."""
    global _our
    _our = OurReferences(tracks, blobs, durations)


def ours() -> OurReferences:
    return _our


def reference_job(i: int) -> dict:
    path = _tracks[i]
    data = path.read_bytes()
    out: dict = {"i": i}
    t0 = _cpu()
    fp = engine().fingerprint_bytes(data)
    out["ml_time"] = _cpu() - t0
    out["ml_blob"] = engine().to_bytes(fp)
    out["duration"] = fp.duration_s
    t0 = _cpu()
    decode_audio(data, max_bytes=10**9, max_seconds=REFERENCE_CAP_S)
    out["decode_time"] = _cpu() - t0
    out["cp"], out["cp_time"] = np.zeros(0, np.uint32), 0.0
    out["af"], out["af_time"] = (np.zeros(0, int), np.zeros(0, int)), 0.0
    if "chromaprint" in _systems:
        c0 = _child_cpu()
        out["cp"] = chromaprint(data, path.suffix)
        out["cp_time"] = _child_cpu() - c0
    if "audfprint-style" in _systems:
        t0 = _cpu()
        t, f, _ = audfprint_peaks(data)
        out["af"] = audfprint_hashes(t, f)
        out["af_time"] = _cpu() - t0
    return out


def _init(tracks: list[Path], refs: dict[int, dict] | None, systems: tuple[str, ...] = SYSTEMS) -> None:
    global _tracks, _refs, _systems
    _tracks, _systems = tracks, systems
    if refs is not None:
        _refs = {i: dict(r, ml=engine().from_bytes(r["ml_blob"])) for i, r in refs.items()}


@dataclass
class Result:
    system: str
    transform: str
    group: str
    clip_s: float
    track_offset_s: float
    related: bool
    score: float
    offset_error_s: float | None
    seconds: float
    extra: dict = field(default_factory=dict)


def _ours(q: bytes, ref: AudioFingerprint, expected: float) -> tuple[float, float | None, float, dict]:
    t0 = _cpu()
    try:
        fp = engine().fingerprint_bytes(q)
    except Exception as exc:  # a benchmark row, not a crash
        return 0.0, None, _cpu() - t0, {"error": str(exc)}
    cmp = engine().compare(fp, ref)
    spent = _cpu() - t0
    tempo = cmp.details.get("tempo_ratio", 1.0)
    errors = [abs(s.target_start - tempo * s.source_start - expected) for s in cmp.segments]
    err = min(errors) if errors else None
    edges = None
    if err is not None:
        seg = cmp.segments[int(np.argmin(errors))]
        edges = (seg.source_start, seg.source_end)
    return cmp.similarity, err, spent, {"details": cmp.details, "edges": edges}


@dataclass(frozen=True)
class Query:
    """One query clip as the bench makes it: cut from track ``track`` at ``offset_s``, transformed."""

    track: int
    clip_s: float
    offset_s: float
    pcm: np.ndarray  # the clean cut, before the transform
    transform: Transform
    seed: int
    unrelated: np.ndarray  # the louder track a mix goes under
    mix_track: int
    false_refs: tuple[int, ...]  # other recordings this clip is also compared with (FALSE_PAIR_TRANSFORMS)


def heard(tracks: list[Path], track: int, mix_track: int) -> set[str]:
    """The recordings a query clip holds: its own track's and, mixed or not, its mix track's."""
    return {recording(tracks[track]), recording(tracks[mix_track])}


def queries(tracks: list[Path], i: int, durations: list[float], only: Collection[str] = ()) -> Iterator[Query]:
    """Track ``i``'s query clips, in the order and with the seeds of every run (``durations``: each
    track's decoded seconds; ``only``: AUDIO_BENCH_ONLY, which draws its own seeds)."""
    rng = np.random.default_rng(1000 + i)
    others = [j for j in range(len(tracks)) if j != i]
    for clip_s in CLIP_SECONDS:
        if durations[i] < clip_s + 1:
            continue
        off = float(rng.uniform(0, durations[i] - clip_s))
        pcm = load_pcm(str(tracks[i]), off, clip_s)
        j_mix = others[int(rng.integers(len(others)))]
        unrelated = load_pcm(str(tracks[j_mix]), float(rng.uniform(0, max(durations[j_mix] - clip_s, 0))), clip_s)
        false_refs = tuple(others[int(k)] for k in rng.choice(len(others), size=min(4, len(others)), replace=False))
        for tf in transforms():
            if only and tf.name not in only:
                continue
            yield Query(i, clip_s, off, pcm, tf, int(rng.integers(2**31)), unrelated, j_mix, false_refs)


def query_job(i: int) -> list[Result]:
    results: list[Result] = []
    durations = [_refs[j]["duration"] for j in range(len(_tracks))]
    for query in queries(_tracks, i, durations, _only):
        tf, clip_s, off = query.transform, query.clip_s, query.offset_s
        q, pad = tf.make(query.pcm, query.seed, query.unrelated)
        expected = off - pad
        targets = [(i, True)]
        if tf.name in FALSE_PAIR_TRANSFORMS:
            held = heard(_tracks, query.track, query.mix_track)
            targets += [(j, False) for j in query.false_refs if recording(_tracks[j]) not in held]
        for j, related in targets:
            ref = _refs[j]
            score, err, spent, extra = _ours(q, ref["ml"], expected)
            extra["edges_truth"] = (pad, pad + clip_s / tf.speed)
            results.append(Result("medialayer", tf.name, tf.group, clip_s, off, related, score, err, spent, extra))
            if "chromaprint" not in _systems:
                continue
            c0 = _child_cpu()
            qcp = chromaprint(q, ".bin")
            t0 = _cpu()
            s, o = chromaprint_match(qcp, ref["cp"])
            spent = (_child_cpu() - c0) + (_cpu() - t0)
            results.append(Result("chromaprint", tf.name, tf.group, clip_s, off, related, s, abs(o - expected),
                                  spent))
            t0 = _cpu()
            tq, fq, _ = audfprint_peaks(q)
            v, o = audfprint_match(audfprint_hashes(tq, fq), ref["af"]) if len(tq) > 1 else (0, 0.0)
            results.append(Result("audfprint-style", tf.name, tf.group, clip_s, off, related, float(v),
                                  abs(o - expected), _cpu() - t0))
    return results


def summarise(results: list[Result], refs: dict[int, dict], args: argparse.Namespace) -> str:
    by = defaultdict(list)
    for r in results:
        by[r.system].append(r)
    # Only the systems this run measured (--systems) get a column.
    systems = tuple(s for s in SYSTEMS if by[s])
    thresholds = {"medialayer": engine().default_threshold}
    false_counts = {}
    for system in systems:
        unrelated = [r.score for r in by[system] if not r.related]
        if system != "medialayer":
            top = max(unrelated) if unrelated else 0.0
            thresholds[system] = top + (1e-6 if system == "chromaprint" else 1)
        false_counts[system] = (sum(s >= thresholds[system] for s in unrelated), len(unrelated))

    def hit(r: Result) -> bool:
        return recalled(r.score, r.offset_error_s, thresholds[r.system])

    rows = defaultdict(dict)
    names = [t.name for t in transforms()]
    groups = {t.name: t.group for t in transforms()}
    for system in systems:
        rel = [r for r in by[system] if r.related]
        for name in names:
            rs = [r for r in rel if r.transform == name]
            rows[name][system] = (sum(map(hit, rs)), len(rs))
        for g in dict.fromkeys(groups.values()):
            rs = [r for r in rel if r.group == g]
            rows["group: " + g][system] = (sum(map(hit, rs)), len(rs))

    def pct(t: tuple[int, int]) -> str:
        return f"{t[0] / t[1]:.3f}" if t[1] else "-"

    lines = ["| transform | " + " | ".join(systems) + " |", "|---|" + "---|" * len(systems)]
    for name in [k for k in rows if k.startswith("group: ")] + names:
        label = f"**{name[7:]}**" if name.startswith("group: ") else name
        lines.append(f"| {label} | " + " | ".join(pct(rows[name][s]) for s in systems) + " |")
    fm = {s: false_counts[s] for s in systems}
    lines.append("| false matches / unrelated pairs | " + " | ".join(f"{a} / {b}" for a, b in fm.values()) + " |")
    lines.append("| threshold | " + " | ".join(f"{thresholds[s]:.4g}" for s in systems) + " |")

    def offset_stats(system: str, pred) -> str:
        errs = [r.offset_error_s for r in by[system] if r.related and hit(r) and pred(r)]
        if not errs:
            return "-"
        return f"{np.median(errs) * 1000:.0f} / {np.percentile(errs, 95) * 1000:.0f}"

    no_speed = {n for n in names if not n.startswith(("pitch", "speed", "tempo"))}
    lines.append("| offset error ms, median / p95 (no pitch/speed) | " +
                 " | ".join(offset_stats(s, lambda r: r.transform in no_speed) for s in systems) + " |")
    lines.append("| ... for offsets beyond 6 min | " +
                 " | ".join(offset_stats(s, lambda r: r.transform in no_speed and r.track_offset_s > 360)
                            for s in systems) + " |")
    total_min = sum(r["duration"] for r in refs.values()) / 60
    sizes = {
        "medialayer": sum(len(r["ml_blob"]) for r in refs.values()) / total_min,
        "chromaprint": sum(4 * len(r["cp"]) for r in refs.values()) / total_min,
        "audfprint-style": sum(4 * len(r["af"][0]) for r in refs.values()) / total_min,
    }
    lines.append("| fingerprint bytes per minute | " + " | ".join(f"{sizes[s]:.0f}" for s in systems) + " |")
    total_s = total_min * 60
    fp_speed = {
        "medialayer": total_s / sum(r["ml_time"] for r in refs.values()),
        "chromaprint": total_s / max(sum(r["cp_time"] for r in refs.values()), 1e-9),
        "audfprint-style": total_s / max(sum(r["af_time"] for r in refs.values()), 1e-9),
    }
    lines.append("| fingerprinting speed (x real time per core, incl. decode) | " +
                 " | ".join(f"{fp_speed[s]:.0f}" for s in systems) + " |")
    lines.append("| query time ms (median: decode + fingerprint + compare vs. full track) | " +
                 " | ".join(f"{np.median([r.seconds for r in by[s]]) * 1000:.0f}" for s in systems) + " |")

    ours_rel = [r for r in by["medialayer"] if r.related and hit(r) and r.extra.get("edges")]
    def edges_ok(pred) -> list[bool]:
        return [max(abs(r.extra["edges"][0] - r.extra["edges_truth"][0]),
                    abs(r.extra["edges"][1] - r.extra["edges_truth"][1])) <= 0.5 for r in ours_rel if pred(r)]

    edge_ok = {"other": edges_ok(lambda r: r.transform in no_speed),
               "pitch, speed and tempo": edges_ok(lambda r: r.transform not in no_speed)}
    # The median query settles on its first lookups; noise and mixes also scan every offset.
    query_ms = {g: np.array([r.seconds for r in by["medialayer"] if r.related and r.group == g]) * 1000
                for g in dict.fromkeys(groups.values())}
    decode_speed = total_s / sum(r["decode_time"] for r in refs.values())
    n_queries = len([r for r in by["medialayer"] if r.related])
    text = [
        f"Measured {time.strftime('%Y-%m-%d')} with `python bench/audio_match.py --corpus CORPUS"
        + (f" --limit {args.limit}" if args.limit else "") + f" --workers {args.workers} --write-docs` on "
        f"{len(refs)} reference tracks ({total_min:.0f} min), {n_queries} query clips "
        f"(5 s and 10 s, seeded random positions) per system.",
        "",
        "Recall = says \"match\" and places the clip within 0.5 s of its true offset. Peer thresholds are "
        "set on the very unrelated pairs below (the lowest with no false match: generous to the peers); "
        "ours is the engine's fixed operating point 0.80. Chromaprint is `fpcalc -raw -length 0` with a "
        "sliding bit-error-rate search over every offset; the audfprint-style baseline is "
        "`bench/_audio_peers.py` (audfprint2 needs numpy >= 2.3 + scipy, outside the service pins).",
        "",
        *lines,
        "",
        "Segment edges of recalled clips within 0.5 s of the truth: " + ", ".join(
            f"{kind} {np.mean(ok) if ok else float('nan'):.3f} of {len(ok)}" for kind, ok in edge_ok.items()) + ".",
        "",
        "Our query time by group (ms, median / 90th percentile, as in the table): " + ", ".join(
            f"{g} {np.median(v):.0f} / {np.percentile(v, 90):.0f}" for g, v in query_ms.items() if len(v)) + ".",
        "",
        f"Speed (CPU seconds of one core): bare PyAV decode + resample of the references runs at "
        f"{decode_speed:.0f}x real time, full fingerprinting at {fp_speed['medialayer']:.0f}x. A whole "
        "/audio/match of two 3-minute files: `bench/audio_pair.py` (\"Pair of 3-minute tracks\").",
    ]
    return "\n".join(text) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True, help="corpus built by build_corpus.sh")
    parser.add_argument("--limit", type=int, default=None, help="number of reference tracks (evenly spread)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated subset (for tuning runs)")
    parser.add_argument("--write-docs", action="store_true", help="write the section into docs/benchmarks.md")
    args = parser.parse_args()
    tracks = list_tracks(args.corpus, args.limit)
    systems = tuple(args.systems.split(","))
    if "chromaprint" in systems and shutil.which("fpcalc") is None:
        parser.error("Chromaprint's fpcalc is not installed (Debian: apt-get install libchromaprint-tools); "
                     "or leave it out with --systems medialayer,audfprint-style")
    started = time.time()
    with Pool(args.workers, initializer=_init, initargs=(tracks, None, systems)) as pool:
        refs = {r["i"]: r for r in pool.map(reference_job, range(len(tracks)))}
    print(f"references: {len(refs)} in {time.time() - started:.0f} s", flush=True)
    results: list[Result] = []
    with Pool(args.workers, initializer=_init, initargs=(tracks, refs, systems)) as pool:
        for k, rs in enumerate(pool.imap_unordered(query_job, range(len(tracks)))):
            results.extend(rs)
            if k % 10 == 0:
                print(f"queries: {k + 1}/{len(tracks)} tracks, {time.time() - started:.0f} s", flush=True)
    _init(tracks, refs, systems)
    section = summarise(results, refs, args)
    print(section)
    if args.write_docs:
        write_section("Audio match", section)
    np.save(dump_path(), np.array([r.__dict__ for r in results], dtype=object), allow_pickle=True)


if __name__ == "__main__":
    main()
