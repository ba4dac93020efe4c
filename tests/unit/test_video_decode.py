"""Video decoding: sampling grid, containers, rotation, caps and clean errors for bad input."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from medialayer.errors import MediaLayerError
from medialayer.media.video import decode as video_decode
from medialayer.media.video.decode import SAMPLE_FPS, THUMB_SIZE, decode_video
from tests.unit._audio_fixtures import encode as encode_audio
from tests.unit._audio_fixtures import synth_music
from tests.unit._video_fixtures import encode_video, film, film_frames

CAPS = {"max_bytes": 10_000_000, "max_seconds": 60.0}


@pytest.fixture(scope="module")
def mp4() -> bytes:
    return film(6.0, seed=1, fps=15)


def test_frames_are_sampled_on_a_two_per_second_grid_with_the_soundtrack(mp4: bytes) -> None:
    video = decode_video(mp4, **CAPS)
    assert video.frames.dtype == np.uint8 and max(video.frames.shape[1:]) == THUMB_SIZE
    assert len(video.times) == pytest.approx(6.0 * SAMPLE_FPS, abs=1)
    assert np.all(np.diff(video.times) > 0)
    # Each sample lands within a frame of its slot on the grid.
    slots = np.round(video.times * SAMPLE_FPS) / SAMPLE_FPS
    assert np.abs(video.times - slots).max() <= 1 / 15 + 1e-6
    assert video.duration_s == pytest.approx(6.0, abs=0.1)
    assert video.audio is not None and video.audio.duration_s == pytest.approx(6.0, abs=0.2)
    assert (video.width, video.height) == (192, 108)


@pytest.mark.parametrize(("container", "codec"), [("webm", "libvpx"), ("matroska", "libvpx-vp9"), ("avi", "mpeg4"),
                                                  ("mov", "mjpeg")])
def test_other_containers_and_codecs_decode(container: str, codec: str) -> None:
    data = encode_video(film_frames(3.0, 10, seed=2), fps=10, container=container, codec=codec)
    video = decode_video(data, **CAPS)
    assert len(video.times) >= 5 and video.audio is None


def test_a_file_without_video_is_unsupported() -> None:
    with pytest.raises(MediaLayerError) as err:
        decode_video(encode_audio(synth_music(3.0, seed=1), "m4a"), **CAPS)
    assert err.value.code == "unsupported_media" and "no video" in err.value.message


@pytest.mark.parametrize("data", [b"", b"\x00" * 5000, b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 20])
def test_garbage_is_unsupported(data: bytes) -> None:
    with pytest.raises(MediaLayerError) as err:
        decode_video(data, **CAPS)
    assert err.value.code == "unsupported_media"


def test_truncated_file_decodes_what_it_can_or_refuses_cleanly(mp4: bytes) -> None:
    for cut in (len(mp4) // 3, len(mp4) - 100):
        try:
            video = decode_video(mp4[:cut], **CAPS)
        except MediaLayerError as exc:
            assert exc.code == "unsupported_media"
        else:
            assert len(video.times) >= 1


def test_caps(mp4: bytes) -> None:
    with pytest.raises(MediaLayerError) as err:
        decode_video(mp4, max_bytes=len(mp4) - 1, max_seconds=60)
    assert err.value.code == "file_too_large"
    with pytest.raises(MediaLayerError) as err:
        decode_video(mp4, max_bytes=len(mp4), max_seconds=3)
    assert err.value.code == "duration_too_long"


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg CLI to write a display matrix")
def test_rotation_metadata_is_honoured(mp4: bytes, tmp_path) -> None:
    src, rotated = tmp_path / "a.mp4", tmp_path / "r.mp4"
    src.write_bytes(mp4)
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(src), "-c", "copy", "-metadata:s:v", "rotate=90",
                    str(rotated)], check=True)
    video = decode_video(rotated.read_bytes(), **CAPS)
    plain = decode_video(mp4, **CAPS)
    assert video.frames.shape[1:] == plain.frames.shape[1:][::-1]
    assert (video.width, video.height) == (108, 192)
    # The first frame as FFmpeg itself displays it (autorotate), at the same size.
    h, w = video.frames.shape[1:]
    shown = subprocess.run(["ffmpeg", "-v", "error", "-i", str(rotated), "-frames:v", "1", "-vf",
                            f"scale={w}:{h},format=gray", "-f", "rawvideo", "-"],
                           check=True, capture_output=True).stdout
    shown_frame = np.frombuffer(shown, np.uint8).reshape(h, w).astype(int)
    assert np.abs(video.frames[0].astype(int) - shown_frame).mean() < 3


def test_past_the_budget_only_the_start_of_each_gop_is_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode_video(film_frames(12.0, 15, seed=4), fps=15, gop=45)  # a keyframe every 3 s
    full = decode_video(data, **CAPS)
    assert full.sampled_fraction == 1.0
    monkeypatch.setattr(video_decode, "DENSE_BUDGET", 192 * 108 * 180 * 0.25)  # a quarter of its packets
    sparse = decode_video(data, **CAPS)
    assert 0.2 <= sparse.sampled_fraction <= 0.3
    assert len(sparse.times) < len(full.times)
    # Every GOP still contributes its first samples, on the same grid as the full decode.
    assert {int(t // 3) for t in sparse.times} == {0, 1, 2, 3}
    assert set(np.round(sparse.times, 2)) <= set(np.round(full.times, 2))
