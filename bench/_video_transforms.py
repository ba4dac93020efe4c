"""Transformed copies of a corpus video for bench/video_match.py, made with the ffmpeg CLI.

Every variant is written once into a cache folder and reused. ``truth`` says where the variant
sits in its original: (source_start, source_end, target_start, target_end) with the variant as
the source, so segment edges can be checked.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

CLIP_SECONDS = 8.0


@dataclass(frozen=True)
class Probe:
    width: int
    height: int
    duration: float
    has_audio: bool


@dataclass(frozen=True)
class Variant:
    name: str
    path: Path
    truth: tuple[float, float, float, float]
    kind: str = "video"  # or "image" (a still frame), whose truth is (t, t, t, t)


def probe(path: Path) -> Probe:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,width,height:format=duration",
                          "-of", "json", str(path)], check=True, capture_output=True, text=True).stdout
    info = json.loads(out)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    has_audio = any(s["codec_type"] == "audio" for s in info["streams"])
    return Probe(int(video["width"]), int(video["height"]), float(info["format"]["duration"]), has_audio)


def _ffmpeg(args: list[str], out: Path) -> Path:
    if not out.exists():
        tmp = out.with_suffix(".part" + out.suffix)
        subprocess.run(["ffmpeg", "-v", "error", "-y", *args, str(tmp)], check=True)
        tmp.rename(out)
    return out


def _encode(audio: bool, crf: int = 23) -> list[str]:
    codec = ["-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p"]
    return codec + (["-c:a", "aac", "-b:a", "96k"] if audio else ["-an"])


def make_variants(src: Path, cache: Path, unrelated_audio: Path, seed: int) -> list[Variant]:
    """The issue's transforms of ``src`` (audio ones only when it has a soundtrack)."""
    p = probe(src)
    key = hashlib.sha1(str(src).encode()).hexdigest()[:8]
    folder = cache / f"{src.stem}_{key}"
    folder.mkdir(parents=True, exist_ok=True)
    d = p.duration
    whole = (0.0, d, 0.0, d)
    even = "scale=trunc(iw/2)*2:trunc(ih/2)*2"
    # 360p, or half size for sources already at or under 360 lines.
    small = "scale=-2:360" if p.height > 360 else "scale=trunc(iw/4)*2:trunc(ih/4)*2"
    wide = p.width / p.height > 4 / 3 + 0.01
    box = ("pad=iw:trunc(iw*3/8)*2:0:(oh-ih)/2:black" if wide  # letterbox into 4:3
           else "pad=trunc(ih*16/18)*2:ih:(ow-iw)/2:0:black")  # 4:3 sources: pillarbox into 16:9
    logo = "drawbox=x=iw*0.68:y=ih*0.05:w=iw*0.27:h=ih*0.18:color=white@1:t=fill," \
           "drawbox=x=iw*0.70:y=ih*0.08:w=iw*0.10:h=ih*0.12:color=red@1:t=fill"
    a = p.has_audio
    out: list[Variant] = []

    def add(name: str, vf: str, crf: int = 23, extra: list[str] | None = None, truth=whole) -> None:
        path = _ffmpeg(["-i", str(src), *(extra or []), "-vf", vf, *_encode(a, crf)], folder / f"{name}.mp4")
        out.append(Variant(name, path, truth))

    add("crf35", even, crf=35)
    add("360p", small)
    add("15fps", f"fps=15,{even}")
    add("brightness_contrast", f"eq=brightness=0.12:contrast=1.35:saturation=1.3,{even}")
    add("logo_box", f"{even},{logo}")
    add("letterbox", f"{even},{box}")
    add("hflip", f"hflip,{even}")
    start = round(max(0.0, d / 2 - CLIP_SECONDS / 2), 2)
    out.append(Variant("clip_8s", _ffmpeg(["-ss", str(start), "-i", str(src), "-t", str(CLIP_SECONDS), "-vf", even,
                                           *_encode(a)], folder / "clip_8s.mp4"),
                       (0.0, CLIP_SECONDS, start, start + CLIP_SECONDS)))
    if a:
        path = _ffmpeg(["-i", str(src), "-i", str(unrelated_audio), "-map", "0:v", "-map", "1:a", "-t", f"{d:.2f}",
                        "-vf", even, *_encode(True)], folder / "audio_swapped.mp4")
        out.append(Variant("audio_swapped", path, whole))
        path = _ffmpeg(["-f", "lavfi", "-i", f"color=black:s=320x180:r=25:d={d:.2f}", "-i", str(src), "-map", "0:v",
                        "-map", "1:a", *_encode(True)], folder / "black_pictures.mp4")
        out.append(Variant("black_pictures", path, whole))
    t = round(0.5 + (seed % 1000) / 1000 * max(0.0, d - 1.0), 2)
    still = _ffmpeg(["-ss", str(t), "-i", str(src), "-frames:v", "1", "-q:v", "3"], folder / f"still_{t}.jpg")
    out.append(Variant("still_jpeg", still, (0.0, 0.0, t, t), kind="image"))
    return out


def make_720p_pair(corpus: Path, cache: Path) -> tuple[Path, Path, Path]:
    """A 60 s 720p30 H.264 clip of the corpus's real videos with music, its CRF 28 re-encode, and a
    distinct 60 s 720p30 clip (two slideshows)."""
    real = sorted((corpus / "video" / "real").iterdir())
    music = sorted((corpus / "audio" / "music").iterdir())[1]
    chain = "".join(f"[{i}:v]scale=1280:720,setsar=1,fps=30[v{i}];" for i in range(len(real)))
    joined = "".join(f"[v{i}]" for i in range(len(real)))
    inputs = [arg for path in real for arg in ("-stream_loop", "1", "-i", str(path))]
    first = _ffmpeg([*inputs, "-i", str(music), "-filter_complex", f"{chain}{joined}concat=n={len(real)}:v=1:a=0[v]",
                     "-map", "[v]", "-map", f"{len(real)}:a", "-t", "60", "-c:v", "libx264", "-crf", "23",
                     "-c:a", "aac"], cache / "720p_a.mp4")
    again = _ffmpeg(["-i", str(first), "-c:v", "libx264", "-crf", "28", "-c:a", "aac"], cache / "720p_a_crf28.mp4")
    shows = sorted((corpus / "video" / "slideshow").glob("*.mp4"))[:2]
    other = _ffmpeg(["-i", str(shows[0]), "-i", str(shows[1]), "-filter_complex",
                     "[0:v][0:a][1:v][1:a]concat=n=2:v=1:a=1[v][a];[v]scale=1280:720,fps=30[w]", "-map", "[w]",
                     "-map", "[a]", "-c:v", "libx264", "-crf", "23", "-c:a", "aac"], cache / "720p_b.mp4")
    return first, again, other
