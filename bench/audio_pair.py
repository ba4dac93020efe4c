"""Processing time of one /audio/match of two 3-minute files, stage by stage.

    python bench/audio_pair.py --corpus CORPUS [--runs 7] [--write-docs]

Two corpus tracks of at least 3 minutes are cut to 180 s: the first as Ogg Vorbis and as MP3 128k
(a matching pair: every line of the song aligns, repeats included), the second as Ogg Vorbis (an
unrelated pair). Each pair is timed the way the match endpoint times it (``compare_bytes``:
decode and fingerprint both sides, then compare; the downloads are not counted) on two cores, as
the match function's 3538 MB buy, and again pinned to one core. Medians of ``--runs`` warm runs.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# As infra/template.yaml sets it for every function (read when numpy loads).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _docs import write_section

from medialayer.media.audio.engine import AudioEngine
from medialayer.media.audio.peaks import find_peaks
from medialayer.media.audio.spectrogram import log_spectrogram

SECONDS = 180
MIN_TRACK_S = 185
CODECS = {"vorbis": ["-c:a", "libvorbis", "-f", "ogg"], "mp3": ["-c:a", "libmp3lame", "-b:a", "128k", "-f", "mp3"]}


def _long_tracks(corpus: Path) -> list[Path]:
    found = []
    for path in sorted((corpus / "audio").rglob("*")):
        if path.suffix.lower() not in {".ogg", ".opus", ".mp3", ".flac", ".wav"}:
            continue
        with av.open(str(path)) as container:
            if container.duration and container.duration / 1e6 >= MIN_TRACK_S:
                found.append(path)
        if len(found) == 2:
            return found
    raise SystemExit(f"need two tracks of at least {MIN_TRACK_S} s under {corpus / 'audio'}")


def _encode(path: Path, codec: str) -> bytes:
    cmd = ["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-t", str(SECONDS), *CODECS[codec], "-"]
    return subprocess.run(cmd, check=True, capture_output=True).stdout


def _bare_decode(data: bytes) -> None:
    """Codec frames only, no downmix or resampling: the floor any decoder path pays."""
    with av.open(io.BytesIO(data)) as container:
        for _ in container.decode(container.streams.audio[0]):
            pass


def _timed(fn, runs: int) -> dict[str, float]:
    fn()  # warm: first-call set-up (FFT plans, caches) is not per-request work
    wall, cpu = [], []
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return {"wall_ms": float(np.median(wall)) * 1000, "cpu_ms": float(np.median(cpu)) * 1000}


def measure(files: dict[str, bytes], runs: int, stages: bool) -> dict:
    engine = AudioEngine(max_bytes=10**9, max_seconds=300)
    pairs = {"matching": (files["a.ogg"], files["a.mp3"]), "unrelated": (files["a.ogg"], files["b.ogg"])}
    out: dict = {"pairs": {}, "stages": {}}
    for name, (x, y) in pairs.items():
        out["pairs"][name] = _timed(lambda x=x, y=y: engine.compare_bytes(x, y), runs)
        fx, fy = engine.fingerprint_bytes(x), engine.fingerprint_bytes(y)
        # The compare as the endpoint runs it: fresh fingerprints, no compare-time caches yet.
        out["pairs"][name]["compare"] = _timed(
            lambda fx=fx, fy=fy: (fx.cache.clear(), fy.cache.clear(), engine.compare(fx, fy)), runs)
        out["pairs"][name]["similarity"] = engine.compare(fx, fy).similarity
    for side in ("a.ogg", "a.mp3") if stages else ():
        data = files[side]
        signal = engine.decode(data)
        spectrogram = log_spectrogram(signal.samples)
        out["stages"][side] = {
            "bare decode": _timed(lambda data=data: _bare_decode(data), runs),
            "decode to 8 kHz mono": _timed(lambda data=data: engine.decode(data), runs),
            "spectrogram": _timed(lambda s=signal: log_spectrogram(s.samples), runs),
            "peaks": _timed(lambda s=spectrogram: find_peaks(s), runs),
        }
    return out


def _one_core(workdir: Path, runs: int) -> dict:
    """The same measurement in a child process pinned to one CPU (one vCPU: 1769 MB)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    cmd = [sys.executable, __file__, "--child", str(workdir), "--runs", str(runs)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env,
                          preexec_fn=lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}))
    return json.loads(done.stdout)


def _ms(v: dict) -> str:
    return f"{v['wall_ms']:.0f} ms"


def report(two: dict, one: dict, tracks: list[Path], runs: int) -> str:
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} with `python bench/audio_pair.py --corpus CORPUS --runs {runs} "
        f"--write-docs`: {tracks[0].name} cut to {SECONDS} s as Ogg Vorbis and as MP3 128k (matching), and "
        f"against {tracks[1].name} as Ogg Vorbis (unrelated). Processing time as the match endpoint counts "
        "it (decode and fingerprint both sides, compare; downloads not counted), median wall time of "
        f"{runs} warm runs; CPU is the process's CPU time over all threads.",
        "",
        "| pair | two cores (3538 MB) | CPU | one core (1769 MB) | compare alone | similarity |",
        "|---|---|---|---|---|---|",
    ]
    for name, v in two["pairs"].items():
        lines.append(f"| {name} | {_ms(v)} | {v['cpu_ms']:.0f} ms | {_ms(one['pairs'][name])} | "
                     f"{_ms(v['compare'])} | {v['similarity']:.3f} |")
    lines += ["", "One side, stage by stage (one core):", "",
              "| stage | " + " | ".join(one["stages"]) + " |", "|---|" + "---|" * len(one["stages"])]
    for stage in next(iter(one["stages"].values())):
        lines.append(f"| {stage} | " + " | ".join(_ms(s[stage]) for s in one["stages"].values()) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, help="corpus built by build_corpus.sh")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--write-docs", action="store_true", help="write the section into docs/benchmarks.md")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        files = {p.name: p.read_bytes() for p in args.child.iterdir()}
        print(json.dumps(measure(files, args.runs, stages=True)))
        return
    if args.corpus is None:
        parser.error("--corpus is required")
    tracks = _long_tracks(args.corpus)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "a.ogg").write_bytes(_encode(tracks[0], "vorbis"))
        (workdir / "a.mp3").write_bytes(_encode(tracks[0], "mp3"))
        (workdir / "b.ogg").write_bytes(_encode(tracks[1], "vorbis"))
        files = {p.name: p.read_bytes() for p in workdir.iterdir()}
        two = measure(files, args.runs, stages=False)
        one = _one_core(workdir, args.runs)
    text = report(two, one, tracks, args.runs)
    print(text)
    if args.write_docs:
        write_section("Pair of 3-minute tracks", text)


if __name__ == "__main__":
    main()
