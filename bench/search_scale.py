"""Search at scale: one index shard filled with synthetic fingerprints drawn to look like real ones.

Image: 1,000,000 images x 11 stored window hashes. Each hash is drawn as PDQ-style bits of a
16x16 block of DCT coefficients with natural images' 1/f amplitude spectrum (coefficient (u, v)
~ N(0, 1/(u^2+v^2))), thresholded at the block's median, exactly as the engine makes bits; each
query is a stored image's windows with 12% of their bits flipped (a re-encoded, resized copy sits
well inside that), surrounded by random other windows and orientations as a real query carries.
Real corpus photos are indexed among them too, and queried with the edits whose originals the
index is likeliest to miss (crops, caption bars, a logo) and, held out, with photos never indexed.
Audio: H hours of postings at the engine's posting rate whose hashes combine anchor band, band
differences and gaps each drawn from its distribution in real corpus landmarks (common bands and
gaps are as common as in music, combinations as varied as in a large library); queries are real
10 s MP3 clips of corpus tracks, each track also indexed as one asset among the synthetic ones.

Video: 10,000 one-minute videos' frame hashes (see ``bench_video``); its soundtrack half is the
audio shard's postings.

Reported: build time, resident memory of the index, candidate-stage query latency percentiles on
one core, and whether the true asset came first. Usage:

    python bench/search_scale.py --corpus CORPUS [--images 1000000] [--videos 10000] [--hours 1000] [--write-docs]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import kept_rows, write_section

from medialayer.media.audio.engine import AudioEngine
from medialayer.media.audio.index import AudioIndex
from medialayer.media.image.engine import ImageEngine
from medialayer.media.image.fingerprint import ImageFingerprint
from medialayer.media.image.hashing import FREQS, to_bits
from medialayer.media.image.index import STORED_WINDOWS, ImageIndex

_U, _V = np.meshgrid(np.arange(1, FREQS + 1), np.arange(1, FREQS + 1), indexing="ij")
_AMPLITUDE = (1.0 / np.sqrt(_U**2 + _V**2)).astype(np.float32)


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def natural_hashes(n: int, rng: np.random.Generator) -> np.ndarray:
    out = np.empty((n, 4), np.uint64)
    for start in range(0, n, 200_000):
        stop = min(n, start + 200_000)
        coefficients = rng.standard_normal((stop - start, FREQS, FREQS), dtype=np.float32) * _AMPLITUDE
        out[start:stop] = to_bits(coefficients)
    return out


def flip_bits(codes: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    bits = np.unpackbits(codes.astype(">u8").view(np.uint8), axis=-1)
    bits ^= (rng.random(bits.shape) < share).astype(np.uint8)
    return np.packbits(bits, axis=-1).view(">u8").astype(np.uint64)


def timed_queries(index: object, queries: Iterator[tuple[int, object]]) -> str:
    """Query latency percentiles (ms) and how often the true asset came first, as table cells."""
    latencies, first, n = [], 0, 0
    for target, query in queries:
        started = time.perf_counter()
        found = index.candidates(query, 20)  # type: ignore[attr-defined]
        latencies.append(time.perf_counter() - started)
        first += bool(found) and found[0].asset == target
        n += 1
    p50, p95, p99 = np.percentile(np.array(latencies) * 1000, [50, 95, 99])
    return f"{p50:.1f} | {p95:.1f} | {p99:.1f} | {first}/{n}"


# Edits of real photos whose originals the image index is likeliest to miss (bench/image_match.py).
HARD_EDITS = ("crop 10% centred", "crop 10% off-centre", "caption bar 15%", "caption bar 15%, overlaid", "logo 10%")


def real_photo_queries(photos: list[Path]) -> tuple[list[ImageFingerprint], dict[str, list[ImageFingerprint]]]:
    """Each photo's fingerprint (to index) and its HARD_EDITS copies' (to query)."""
    from image_match import TRANSFORMS, _load, jpeg

    engine = ImageEngine()
    originals = [engine.fingerprint_bytes(p.read_bytes()) for p in photos]
    edits = {name: [engine.fingerprint_bytes(jpeg(TRANSFORMS[name][0](_load(p)), TRANSFORMS[name][1]))
                    for p in photos] for name in HARD_EDITS}
    return originals, edits


def bench_images(n_images: int, n_queries: int, rng: np.random.Generator, photos: list[Path],
                 held_out: list[Path]) -> tuple[list[str], list[str]]:
    """The table row, and notes on real photos inside the shard: how often an edited copy's original
    is among the first 20 candidates (what search verifies), and how many candidates an unindexed
    photo draws (each costs an exact compare)."""
    per = len(STORED_WINDOWS)
    originals, edits = real_photo_queries(photos)
    unindexed = [ImageEngine().fingerprint_bytes(p.read_bytes()) for p in held_out]
    real = [ImageIndex.rows(fp)["codes"] for fp in originals if fp.has_detail]
    before = rss_mb()
    started = time.perf_counter()
    synthetic = natural_hashes(n_images * per, rng)
    tables = {"codes": {
        "code": np.concatenate([synthetic, *(r["code"] for r in real)]),
        "window": np.concatenate([np.tile(np.array(STORED_WINDOWS, np.uint8), n_images), *(r["window"] for r in real)]),
        "asset": np.concatenate([np.repeat(np.arange(n_images, dtype=np.int32), per),
                                 *(np.full(len(r["code"]), n_images + i, np.int32) for i, r in enumerate(real))])}}
    del synthetic  # the shard's own copy, first in it, is what queries are drawn from
    codes = tables["codes"]["code"]
    generated = time.perf_counter()
    index = ImageIndex(tables, n_images + len(real))
    built = time.perf_counter()
    memory = rss_mb() - before
    windows = 122

    def queries() -> Iterator[tuple[int, ImageFingerprint]]:
        for target in rng.choice(n_images, n_queries, replace=False):
            hashes = natural_hashes(8 * windows, rng).reshape(8, windows, 4)
            hashes[0, list(STORED_WINDOWS)] = flip_bits(codes[target * per:(target + 1) * per], 0.12, rng)
            yield target, ImageFingerprint(hashes=hashes, detail=np.full(windows, 10.0, np.float32),
                                           thumb=np.zeros((8, 8, 3), np.uint8))

    row = (f"| image | {n_images:,} images ({n_images * per:,} hashes) | {generated - started:.0f} + "
           f"{built - generated:.0f} s | {memory:,.0f} MB | {timed_queries(index, queries())} |")
    with_detail = [i for i, fp in enumerate(originals) if fp.has_detail]
    found = []
    for name in HARD_EDITS:
        hits = sum(n_images + k in {c.asset for c in index.candidates(edits[name][i], 20)}
                   for k, i in enumerate(with_detail))
        found.append(f"{name} {hits}/{len(with_detail)}")
    drawn = [len(index.candidates(fp, 20)) for fp in unindexed]
    notes = [f"Real photos in the image shard ({len(with_detail)} corpus photos indexed among the synthetic ones): "
             f"original among an edited copy's first 20 candidates: {', '.join(found)}; "
             f"{len(unindexed)} photos never indexed draw {np.mean(drawn):.2f} candidates each on average."]
    return [row], notes


def bench_audio(corpus: Path, hours: float, n_queries: int, rng: np.random.Generator) -> list[str]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _audio_transforms import load_pcm, transforms

    engine = AudioEngine(max_seconds=1e9, max_bytes=1 << 31)
    tracks = sorted((corpus / "audio" / "music").iterdir())[:n_queries]
    real = [engine.fingerprint_bytes(t.read_bytes()) for t in tracks]
    real_rows = [AudioIndex.rows(fp)["postings"] for fp in real]
    sample = np.concatenate([r["hash"] for r in real_rows])
    rate = len(sample) / sum(fp.duration_s for fp in real)  # postings per second of music
    track_seconds = 180.0
    n_assets = int(hours * 3600 / track_seconds)
    per_asset = int(rate * track_seconds)
    before = rss_mb()
    started = time.perf_counter()
    total = n_assets * per_asset
    hashes = np.zeros(total + len(sample), np.uint32)
    fields = [(sample >> shift) & mask for shift, mask in ((22, 0x3FF), (16, 0x3F), (10, 0x3F), (5, 0x1F), (0, 0x1F))]
    for (shift, _), values in zip(((22, 0), (16, 0), (10, 0), (5, 0), (0, 0)), fields, strict=True):
        for start in range(0, total, 50_000_000):
            stop = min(total, start + 50_000_000)
            hashes[start:stop] |= rng.choice(values, size=stop - start).astype(np.uint32) << np.uint32(shift)
    # The real tracks' own postings are assets n_assets.. of the same shard.
    hashes[total:] = sample
    real_assets = np.concatenate([np.full(len(r["hash"]), n_assets + i, np.int32) for i, r in enumerate(real_rows)])
    real_times = np.concatenate([r["time"] for r in real_rows])
    order = np.argsort(hashes[total:], kind="stable")
    hashes.sort()  # synthetic postings' assets and times are random anyway: draw them in hash order
    times = rng.integers(0, int(track_seconds * 31.25), size=len(hashes), dtype=np.uint16)
    assets = rng.integers(0, n_assets, size=len(hashes), dtype=np.int32)
    where = np.searchsorted(hashes, sample[order], side="left")  # one slot per real posting, in hash order
    where += np.arange(len(where)) - np.searchsorted(sample[order], sample[order], side="left")
    times[where], assets[where] = real_times[order], real_assets[order]
    tables = {"postings": {"hash": hashes, "time": times, "asset": assets}}
    del hashes, times, assets
    generated = time.perf_counter()
    index = AudioIndex(tables, n_assets + len(real))
    del tables
    built = time.perf_counter()
    memory = rss_mb() - before
    mp3 = next(t for t in transforms() if t.name == "mp3_128k")
    clips = []
    for i, (track, fp) in enumerate(zip(tracks, real, strict=True)):
        start = float(rng.uniform(0, max(0.0, fp.duration_s - 12)))
        clip = mp3.make(load_pcm(str(track), start, 10.0), i, np.zeros(1, np.float32))[0]
        clips.append((n_assets + i, engine.fingerprint_bytes(clip)))
    return [f"| audio | {hours:,.0f} hours ({len(index.hashes):,} postings, {rate:.0f}/s) | "
            f"{generated - started:.0f} + {built - generated:.0f} s | {memory:,.0f} MB | "
            f"{timed_queries(index, iter(clips))} |"]


def bench_video(n_videos: int, n_queries: int, rng: np.random.Generator, seconds: float = 60.0) -> list[str]:
    """Frame tables of ``n_videos`` videos of ``seconds`` at 2 kept frames per second (the sampling
    rate before near-identical frames collapse), whole + 4 corner hashes each; a query is 10 s of
    one video's frames with 12% of their bits flipped. The soundtrack half of the index is the
    audio shard above (a video's postings are an audio track's)."""
    from medialayer.media.video.fingerprint import VideoFingerprint
    from medialayer.media.video.index import VideoIndex

    per = int(seconds * 2)
    before = rss_mb()
    started = time.perf_counter()
    codes = natural_hashes(n_videos * per * 5, rng)
    times = np.tile(np.repeat(np.arange(per, dtype=np.float32) / 2, 5), n_videos)
    tables = {"frames": {"code": codes, "window": np.tile(np.arange(5, dtype=np.uint8), n_videos * per),
                         "time": times, "asset": np.repeat(np.arange(n_videos, dtype=np.int32), per * 5)}}
    generated = time.perf_counter()
    index = VideoIndex(tables, n_videos)
    built = time.perf_counter()
    memory = rss_mb() - before
    n = 20  # 10 s at 2 frames per second

    def queries() -> Iterator[tuple[int, VideoFingerprint]]:
        for target in rng.choice(n_videos, n_queries, replace=False):
            start = int(rng.integers(0, per - n))
            rows = codes[(target * per + start) * 5:(target * per + start + n) * 5]
            mine = flip_bits(rows, 0.12, rng).reshape(n, 5, 4)
            yield target, VideoFingerprint(
                times=np.arange(n, dtype=np.float32) / 2, ends=np.arange(1, n + 1, dtype=np.float32) / 2,
                hashes=mine[:, 0], mirrored=natural_hashes(n, rng), corners=mine[:, 1:],
                corners_mirrored=natural_hashes(4 * n, rng).reshape(n, 4, 4), detail=np.full(n, 10.0, np.float32),
                duration_s=10.0, audio=None)

    return [f"| video | {n_videos:,} videos x {seconds:.0f} s ({len(codes):,} frame hashes) | {generated - started:.0f}"
            f" + {built - generated:.0f} s | {memory:,.0f} MB | {timed_queries(index, queries())} |"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--images", type=int, default=1_000_000)
    parser.add_argument("--hours", type=float, default=1000.0)
    parser.add_argument("--videos", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--photos", type=int, default=200, help="real corpus photos indexed in the image shard; "
                        "up to 100 more are held out")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    rng = np.random.default_rng(7)
    rows = ["| medium | shard | generate + build | index memory | p50 ms | p95 ms | p99 ms | true asset first |",
            "|---|---|---|---|---|---|---|---|"]
    notes: list[str] = []
    title = "Search at scale"
    photos = sorted(p for p in (args.corpus / "images" / "photos").iterdir() if p.is_file())
    if args.images:
        image_rows, notes = bench_images(args.images, args.queries, rng, photos[:args.photos],
                                         photos[args.photos:args.photos + 100])
        rows += image_rows
        print("\n".join(rows + notes), flush=True)
    # A medium not run keeps its last measured row.
    if args.videos:
        rows += bench_video(args.videos, args.queries, rng)
        print("\n".join(rows), flush=True)
    else:
        rows += kept_rows(title, "| video |")
    if args.hours:
        rows += bench_audio(args.corpus, args.hours, min(args.queries, 20), rng)
    else:
        rows += kept_rows(title, "| audio |")
    table = "\n".join(rows)
    print(table)
    command = (f"python bench/search_scale.py --corpus CORPUS --images {args.images} --videos {args.videos} "
               f"--hours {args.hours:g} --photos {args.photos}")
    body = (f"`{command}`, one process, one core (numpy is single-threaded here). Latency is the "
            "candidate stage of one shard (`CandidateIndex.candidates`); the exact compare of the few "
            "candidates it returns adds ~1 ms per image candidate and 80-120 ms per audio candidate "
            "(a 10 s clip against a 5-minute track, measured on corpus tracks)."
            + f" Load average {os.getloadavg()[0]:.1f} at the end of the run (2 cores; other work inflates latency)."
            + (" Rows of media this run skipped are the previous run's." if not (args.videos and args.hours) else "")
            + "\n\n" + table + ("\n\n" + "\n".join(notes) if notes else ""))
    if args.write_docs:
        write_section(title, body)


if __name__ == "__main__":
    main()
