"""Video match benchmark: MediaLayer's VideoEngine against vPDQ on the same transformed copies.

    python bench/video_match.py --corpus CORPUS [--cache DIR] [--limit N] [--workers 1] [--write-docs]

Every video of ``corpus/video`` (real clips and photo+music slideshows) is a reference. Each is
transformed with the ffmpeg CLI (bench/_video_transforms.py): H.264 CRF 35, 360p, 15 fps,
brightness/contrast, a logo box, letterbox to 4:3 (pillarbox for 4:3 sources), horizontal flip,
an 8 s clip from the middle, its audio replaced by unrelated music, its pictures replaced by
black, and a still frame as JPEG. Each copy is the source of a /video/match against its original
(recall) and against every other original (false matches); originals are also matched against
each other. Ours matches at the engine's fixed 0.75; vPDQ at its default rule (80 % of the query's
frames within 31 bits of a target frame, 1 frame per second, quality >= 50).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _docs import write_section
from _video_peers import IMPORT_ERROR, pdq_image, pdq_still_in, vpdq_hash, vpdq_query_percent
from _video_transforms import Variant, make_720p_pair, make_variants

from medialayer.media.image.decode import decode_image
from medialayer.media.video.crossmodal import image_in_video
from medialayer.media.video.decode import decode_video
from medialayer.media.video.engine import VideoEngine
from medialayer.media.video.fingerprint import VideoFingerprint, fingerprint_video
from medialayer.media.video.frames import frame_distances
from medialayer.media.video.pair import compare_media

EDGE_TOLERANCE_S = 1.0
TRANSFORMS = ("crf35", "360p", "15fps", "brightness_contrast", "logo_box", "letterbox", "hflip", "clip_8s",
              "audio_swapped", "black_pictures", "still_jpeg")
CAP_S = 600.0

_engine: VideoEngine | None = None
_refs: dict[int, VideoFingerprint] = {}
_vrefs: dict[int, tuple[np.ndarray, np.ndarray]] = {}
_use_vpdq = IMPORT_ERROR is None


def engine() -> VideoEngine:
    global _engine
    if _engine is None:
        _engine = VideoEngine(max_bytes=10**9, max_seconds=CAP_S)
    return _engine


def _cpu() -> float:
    return time.process_time()


def list_videos(corpus: Path, limit: int | None) -> list[Path]:
    videos = sorted(p for p in (corpus / "video").rglob("*") if p.suffix.lower() in {".mp4", ".avi", ".mov", ".mkv",
                                                                                     ".webm"})
    if limit and limit < len(videos):
        step = len(videos) / limit
        videos = [videos[int(i * step)] for i in range(limit)]
    return videos


def fingerprint_timed(data: bytes) -> tuple[VideoFingerprint, float, float]:
    t0 = _cpu()
    decoded = decode_video(data, max_bytes=10**9, max_seconds=CAP_S)
    t1 = _cpu()
    return fingerprint_video(decoded), t1 - t0, _cpu() - t1


def reference_job(args: tuple[int, Path]) -> dict:
    i, path = args
    fp, dec, fpt = fingerprint_timed(path.read_bytes())
    out = {"i": i, "blob": engine().to_bytes(fp), "decode": dec, "fingerprint": fpt, "duration": fp.duration_s,
           "frames": len(fp)}
    if _use_vpdq:
        t0 = time.perf_counter()
        out["vpdq"] = vpdq_hash(path)
        out["vpdq_time"] = time.perf_counter() - t0
    return out


def _init(refs: dict[int, dict] | None) -> None:
    global _refs, _vrefs
    if refs is not None:
        _refs = {i: engine().from_bytes(r["blob"]) for i, r in refs.items()}
        _vrefs = {i: r["vpdq"] for i, r in refs.items() if "vpdq" in r}


@dataclass
class Result:
    system: str
    transform: str
    video: str
    related: bool
    score: float
    matched: bool
    edges_ok: bool | None = None
    edge_error_s: float | None = None
    extra: dict = field(default_factory=dict)


def _edge_check(segments: list, truth: tuple[float, float, float, float], still: bool) -> tuple[bool, float | None]:
    if not segments:
        return False, None
    if still:
        t = truth[2]
        errors = [max(0.0, s.target_start - t, t - s.target_end) for s in segments]
    else:
        errors = [max(abs(s.source_start - truth[0]), abs(s.source_end - truth[1]), abs(s.target_start - truth[2]),
                      abs(s.target_end - truth[3])) for s in segments]
    best = float(min(errors))
    return best <= EDGE_TOLERANCE_S, best


def query_job(args: tuple[int, str, Variant, list[int]]) -> list[Result]:
    i, video, variant, others = args
    results: list[Result] = []
    threshold = engine().default_threshold
    still = variant.kind == "image"
    t0 = _cpu()
    if still:
        image = decode_image(variant.path.read_bytes())
        dec = fpt = 0.0
    else:
        fp, dec, fpt = fingerprint_timed(variant.path.read_bytes())
    for j, related in [(i, True)] + [(j, False) for j in others]:
        c0 = _cpu()
        cmp = image_in_video(image, _refs[j], True) if still else engine().compare(fp, _refs[j])
        compare_time = _cpu() - c0
        ok, err = _edge_check(cmp.segments, variant.truth, still) if related else (None, None)
        extra = {"details": cmp.details, "compare": compare_time}
        if related:
            extra.update(decode=dec, fingerprint=fpt, total=_cpu() - t0)
        results.append(Result("medialayer", variant.name, video, related, cmp.similarity,
                               cmp.similarity >= threshold, ok, err, extra))
    if _use_vpdq:
        t0 = time.perf_counter()
        if still:
            pdq = pdq_image(variant.path)
            for j, related in [(i, True)] + [(j, False) for j in others]:
                found, at = pdq_still_in(pdq, *_vrefs[j])
                ok = found and at is not None and abs(at - variant.truth[2]) <= EDGE_TOLERANCE_S
                results.append(Result("vpdq", variant.name, video, related, float(found), found,
                                      ok if related else None))
        else:
            query, _ = vpdq_hash(variant.path)
            for j, related in [(i, True)] + [(j, False) for j in others]:
                percent = vpdq_query_percent(query, _vrefs[j][0])
                results.append(Result("vpdq", variant.name, video, related, percent, percent >= 80.0, None))
        results[-1].extra["time"] = time.perf_counter() - t0
    return results


def distinct_originals(n: int) -> list[Result]:
    out = []
    for i in range(n):
        for j in range(n):
            if i != j:
                cmp = engine().compare(_refs[i], _refs[j])
                out.append(Result("medialayer", "original", str(i), False, cmp.similarity,
                                  cmp.similarity >= engine().default_threshold, extra={"details": cmp.details}))
                if _use_vpdq and i < j:
                    p = vpdq_query_percent(_vrefs[i][0], _vrefs[j][0])
                    out.append(Result("vpdq", "original", str(i), False, p, p >= 80.0))
    return out


def speed_720p(corpus: Path, cache: Path) -> dict:
    """A 60 s 720p30 H.264 pair as /video/match processes it (both sides at once), then step by step."""
    first, again, other = make_720p_pair(corpus, cache)
    out: dict = {}
    for name, (a, b) in {"same (CRF 28 re-encode)": (first, again), "distinct": (first, other)}.items():
        blobs = [a.read_bytes(), b.read_bytes()]
        compare_media(engine(), *blobs)  # warm-up: imports, thread pools
        walls = []
        for _ in range(3):
            w0 = time.perf_counter()
            cmp = compare_media(engine(), *blobs)
            walls.append(time.perf_counter() - w0)
        w0, c0 = time.perf_counter(), _cpu()
        decoded = [decode_video(x, max_bytes=10**9, max_seconds=CAP_S) for x in blobs]
        w1, c1 = time.perf_counter(), _cpu()
        fps = [fingerprint_video(d) for d in decoded]
        w2, c2 = time.perf_counter(), _cpu()
        engine().compare(fps[0], fps[1])
        w3, c3 = time.perf_counter(), _cpu()
        out[name] = {"decode": (w1 - w0, c1 - c0), "fingerprint": (w2 - w1, c2 - c1), "compare": (w3 - w2, c3 - c2),
                     "total": (w3 - w0, c3 - c0), "service": float(np.median(walls)), "similarity": cmp.similarity,
                     "evidence": cmp.details.get("evidence"),
                     "sampled_fraction": [round(d.sampled_fraction, 3) for d in decoded]}
    if _use_vpdq:
        t0 = time.perf_counter()
        vpdq_hash(first)
        vpdq_hash(again)
        out["vpdq_hash_pair_s"] = time.perf_counter() - t0
    return out


def frame_distance_tail(n: int) -> tuple[float, float, int]:
    """Distinct videos' frame pairs (either orientation, whole or corner rule): 0.1 % quantile, min, count."""
    found = []
    for i in range(n):
        for j in range(i + 1, n):
            a, b = _refs[i], _refs[j]
            keep = a.usable[:, None] & b.usable[None, :]
            for whole, corners in ((a.hashes, a.corners), (a.mirrored, a.corners_mirrored)):
                found.append(frame_distances(whole, corners, b.hashes, b.corners)[keep])
    values = np.concatenate(found) if found else np.zeros(1)
    return float(np.percentile(values, 0.1)), float(values.min()), int(values.size)


def _quantiles(values: list[float]) -> str:
    if not values:
        return "-"
    q = np.percentile(values, [0, 5, 50, 95, 100])
    return " / ".join(f"{v:.3f}" for v in q)


def summarise(results: list[Result], refs: dict[int, dict], speed: dict, args: argparse.Namespace,
              videos: list[Path], tail: tuple[float, float, int]) -> str:
    systems = ["medialayer"] + (["vpdq"] if _use_vpdq else [])
    by = defaultdict(list)
    for r in results:
        by[(r.system, r.transform, r.related)].append(r)
    lines = ["| transform | ours: match | ours: match + edges within 1 s | vPDQ: match (80 % rule) | "
             "ours: similarity median (min) | ours: evidence |",
             "|---|---|---|---|---|---|"]

    def frac(rs: list[Result], pred) -> str:
        return f"{sum(map(pred, rs)) / len(rs):.2f} ({sum(map(pred, rs))}/{len(rs)})" if rs else "-"

    for t in TRANSFORMS:
        ours = by[("medialayer", t, True)]
        peer = by[("vpdq", t, True)]
        if not ours:
            continue
        evidence = defaultdict(int)
        for r in ours:
            for kind in r.extra["details"].get("evidence", []):
                evidence[kind] += 1
        peer_text = frac(peer, lambda r: r.matched) if peer else "-"
        if t == "still_jpeg" and peer:
            peer_text = frac(peer, lambda r: bool(r.edges_ok)) + " (PDQ of the still vs its frames, within 1 s)"
        scores = [r.score for r in ours]
        lines.append(f"| {t} | {frac(ours, lambda r: r.matched)} | {frac(ours, lambda r: r.matched and r.edges_ok)} "
                     f"| {peer_text} | {np.median(scores):.3f} ({min(scores):.3f}) | "
                     + ", ".join(f"{k} {v}" for k, v in sorted(evidence.items())) + " |")
    all_true = [r for r in results if r.system == "medialayer" and r.related]
    lines.append(f"| **all** | {frac(all_true, lambda r: r.matched)} | "
                 f"{frac(all_true, lambda r: r.matched and r.edges_ok)} | "
                 + (frac([r for r in results if r.system == "vpdq" and r.related and r.transform != "still_jpeg"],
                         lambda r: r.matched) + " (videos)" if _use_vpdq else "-") + " | | |")
    distinct = {s: [r for r in results if r.system == s and not r.related] for s in systems}
    false_line = "| false matches / distinct pairs | " + " | ".join(
        f"{sum(r.matched for r in distinct[s])} / {len(distinct[s])}" for s in systems) + " |"
    ours_distinct = sorted((r for r in distinct["medialayer"]), key=lambda r: -r.score)
    true_scores = [r.score for r in all_true]
    edge_errors = [r.edge_error_s for r in all_true if r.matched and r.edge_error_s is not None
                   and r.transform != "still_jpeg"]
    still_errors = [r.edge_error_s for r in all_true if r.matched and r.transform == "still_jpeg"
                    and r.edge_error_s is not None]
    ref_seconds = sum(r["duration"] for r in refs.values())
    dec = sum(r["decode"] for r in refs.values())
    fpt = sum(r["fingerprint"] for r in refs.values())
    query_totals = [r.extra["total"] for r in all_true if "total" in r.extra and r.transform != "still_jpeg"]
    compares = [r.extra["compare"] for r in results if "compare" in r.extra and r.transform != "still_jpeg"]
    text = [
        f"Measured {time.strftime('%Y-%m-%d')} with `python bench/video_match.py --corpus CORPUS"
        + (f" --limit {args.limit}" if args.limit else "") + f" --workers {args.workers} --write-docs` on "
        f"{len(videos)} reference videos ({ref_seconds / 60:.1f} min: {', '.join(v.name for v in videos)}).",
        "",
        "Each transformed copy is the source, its original the target. \"match\" is similarity >= 0.75 "
        "(ours) or vPDQ's default rule; \"edges within 1 s\": some segment has all four edges within 1 s of "
        "the truth (for a still: the still's time lies within 1 s of a segment). Distinct pairs: every copy "
        "against every other original, and the originals against each other.",
        "",
        *lines,
        "",
        "| | " + " | ".join(systems) + " |",
        "|---|" + "---|" * len(systems),
        false_line,
        "",
        f"Score distributions (ours; min / 5 % / median / 95 % / max): true pairs {_quantiles(true_scores)}; "
        f"distinct pairs {_quantiles([r.score for r in ours_distinct])}. Highest distinct pairs: "
        + "; ".join(f"{r.transform} of {r.video} {r.score:.3f} (evidence {r.extra['details'].get('visual_evidence')},"
                    f" audio {r.extra['details'].get('audio_similarity', '-')})" for r in ours_distinct[:3]) + ".",
        "",
        f"Frame distances (bits of 256) between distinct videos: 0.1 % quantile {tail[0]:.0f}, minimum "
        f"{tail[1]:.0f} over {tail[2]} frame pairs; frame weights reach 0 at 72 "
        f"(`alignment.FRAME_KNOTS`). Median distance on the matched line per transform: "
        + ", ".join(f"{t} {np.median(ds):.0f}" for t in TRANSFORMS
                    if (ds := [r.extra['details']['frame_distance'] for r in all_true if r.transform == t
                               and r.extra['details'].get('frame_distance', 256) < 256])) + ".",
        "",
        f"Segment edge error of matched copies (s, largest of the four edges): median "
        f"{np.median(edge_errors) if edge_errors else float('nan'):.2f}, 95 % "
        f"{np.percentile(edge_errors, 95) if edge_errors else float('nan'):.2f}, max "
        f"{max(edge_errors) if edge_errors else float('nan'):.2f}; stills: found within 1 s "
        f"{sum(e <= 1 for e in still_errors)}/{len(still_errors)} of those matched.",
        "",
        f"Speed (CPU seconds, this 2-core machine shared with other work): decoding the references ran at "
        f"{ref_seconds / max(dec, 1e-9):.0f}x real time, fingerprinting (hashes + audio) at "
        f"{ref_seconds / max(fpt, 1e-9):.0f}x; a query (decode + fingerprint + compare against its original) takes "
        f"{np.median(query_totals) * 1000:.0f} ms median, a compare {np.median(compares) * 1000:.1f} ms median "
        f"({max(compares) * 1000:.1f} ms max).",
    ]
    if _use_vpdq:
        vt = sum(r.get("vpdq_time", 0.0) for r in refs.values())
        text[-1] += f" vPDQ hashed the references at {ref_seconds / max(vt, 1e-9):.0f}x real time (wall, 1 thread)."
        text += ["", "vPDQ is `vpdq` 0.2.5 from PyPI (extra `bench-video`): it has no wheel and builds with CMake "
                     "against the system FFmpeg development libraries (`apt-get install cmake pkg-config "
                     "libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libavfilter-dev libavdevice-dev "
                     "libswresample-dev`), so `make test` does not install it."]
    else:
        text += ["", f"vPDQ did not run here: {IMPORT_ERROR}. It builds from source with CMake against the FFmpeg "
                     "development libraries (`apt-get install cmake pkg-config libavcodec-dev libavformat-dev "
                     "libavutil-dev libswscale-dev libavfilter-dev libavdevice-dev libswresample-dev`)."]
    if speed:
        text += ["", "Pair of 60 s 720p30 H.264 files through `/video/match`'s processing (both sides decoded at "
                     "once, as the service does; median of 3, wall), then step by step with one side after the "
                     "other (decode both / fingerprint both / compare; wall ms, CPU ms in brackets):", ""]
        for name, s in speed.items():
            if not isinstance(s, dict):
                continue
            parts = " / ".join(f"{s[k][0] * 1000:.0f} ({s[k][1] * 1000:.0f})" for k in ("decode", "fingerprint",
                                                                                       "compare"))
            text.append(f"- {name}: **{s['service'] * 1000:.0f} ms**; steps {parts}; similarity "
                        f"{s['similarity']:.3f}, evidence {s['evidence']}, share of packets decoded "
                        f"{s['sampled_fraction']}.")
        if "vpdq_hash_pair_s" in speed:
            text.append(f"- vPDQ hashing the same-content pair (1 frame/s, 1 thread): "
                        f"{speed['vpdq_hash_pair_s'] * 1000:.0f} ms wall.")
    return "\n".join(text) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "medialayer_video_bench")
    parser.add_argument("--limit", type=int, default=None, help="number of reference videos (evenly spread)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--only", default="", help="comma-separated transforms (tuning runs)")
    parser.add_argument("--no-vpdq", action="store_true")
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--write-docs", action="store_true", help="write the section into docs/benchmarks.md")
    args = parser.parse_args()
    global _use_vpdq
    _use_vpdq = _use_vpdq and not args.no_vpdq
    if IMPORT_ERROR:
        print(f"vpdq unavailable: {IMPORT_ERROR}", flush=True)
    videos = list_videos(args.corpus, args.limit)
    music = sorted((args.corpus / "audio" / "music").iterdir())
    started = time.time()
    variants = {i: make_variants(v, args.cache, music[-1 - i], seed=1000 + 137 * i) for i, v in enumerate(videos)}
    only = set(filter(None, args.only.split(",")))
    print(f"variants ready in {time.time() - started:.0f} s", flush=True)
    with Pool(args.workers, initializer=_init, initargs=(None,)) as pool:
        refs = {r["i"]: r for r in pool.map(reference_job, list(enumerate(videos)))}
    print(f"references: {len(refs)} in {time.time() - started:.0f} s", flush=True)
    jobs = [(i, videos[i].name, v, [j for j in range(len(videos)) if j != i])
            for i in variants for v in variants[i] if not only or v.name in only]
    results: list[Result] = []
    with Pool(args.workers, initializer=_init, initargs=(refs,)) as pool:
        for k, rs in enumerate(pool.imap_unordered(query_job, jobs)):
            results.extend(rs)
            if k % 20 == 0:
                print(f"queries: {k + 1}/{len(jobs)}, {time.time() - started:.0f} s", flush=True)
    _init(refs)
    results += distinct_originals(len(videos))
    tail = frame_distance_tail(len(videos))
    speed = {} if args.no_speed else speed_720p(args.corpus, args.cache)
    section = summarise(results, refs, speed, args, videos, tail)
    print(section)
    for r in sorted((r for r in results if r.system == "medialayer" and r.related and not (r.matched and r.edges_ok)),
                    key=lambda r: r.transform):
        print("MISS", r.transform, r.video, r.score, r.edge_error_s, r.extra["details"])
    if args.write_docs:
        write_section("Video match", section)
    dump = Path(os.environ.get("VIDEO_BENCH_DUMP", Path(tempfile.gettempdir()) / "video_bench_results.npy"))
    np.save(dump, np.array([r.__dict__ for r in results], dtype=object), allow_pickle=True)


if __name__ == "__main__":
    main()
