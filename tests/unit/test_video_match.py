"""Video compare: re-uploads and clips align in time; pictures and sound are evidence on their own;
a still or an audio clip is found in a video."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from medialayer.errors import MediaLayerError
from medialayer.media.video.engine import VideoEngine
from medialayer.media.video.fingerprint import VideoFingerprint
from medialayer.media.video.pair import compare_media
from tests.unit._audio_fixtures import RATE, synth_music
from tests.unit._audio_fixtures import encode as encode_audio
from tests.unit._video_fixtures import encode_video, film_frames

ENGINE = VideoEngine(max_bytes=20_000_000, max_seconds=60)
SECONDS, FPS = 10.0, 15


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    return film_frames(SECONDS, FPS, seed=21)


@pytest.fixture(scope="module")
def music() -> np.ndarray:
    return synth_music(SECONDS, seed=21)


@pytest.fixture(scope="module")
def original_bytes(frames, music) -> bytes:
    return encode_video(frames, fps=FPS, audio=music)


@pytest.fixture(scope="module")
def original(original_bytes) -> VideoFingerprint:
    return ENGINE.fingerprint_bytes(original_bytes)


def _match(data: bytes, target: VideoFingerprint):
    return ENGINE.compare(ENGINE.fingerprint_bytes(data), target)


def _whole(segment, seconds: float = SECONDS, tolerance: float = 1.0) -> bool:
    return (abs(segment.source_start) <= tolerance and abs(segment.target_start) <= tolerance
            and abs(segment.source_end - seconds) <= tolerance and abs(segment.target_end - seconds) <= tolerance)


def test_reencode_at_another_rate_codec_and_brightness_matches_end_to_end(frames, music, original) -> None:
    edited = [np.clip(f.astype(np.float32) * 0.8 + 35, 0, 255).astype(np.uint8) for f in frames[::3]]
    result = _match(encode_video(edited, fps=FPS / 3, audio=music, container="webm", codec="libvpx"), original)
    assert result.similarity >= 0.875
    assert result.details["evidence"] == ["visual", "audio"]
    assert any(_whole(s) for s in result.segments)
    assert result.details["coverage"] >= 0.9


def test_mirrored_copy_with_a_logo_matches(frames, original) -> None:
    edited = []
    for f in frames:
        g = f[:, ::-1].copy()
        g[5:30, 130:185] = 255  # a logo box in the top-right corner
        edited.append(g)
    result = _match(encode_video(edited, fps=FPS), original)
    assert result.similarity >= 0.75 and result.details["mirrored"] is True
    assert any(_whole(s) for s in result.segments)


def test_clip_from_the_middle_is_placed_in_time(frames, music, original) -> None:
    start, stop = 3.0, 8.0
    clip = frames[int(start * FPS) : int(stop * FPS)]
    result = _match(encode_video(clip, fps=FPS, audio=music[int(start * RATE) : int(stop * RATE)]), original)
    assert result.similarity >= 0.75
    segment = max(result.segments, key=lambda s: s.source_end - s.source_start)
    assert abs(segment.target_start - start) <= 0.5 and abs(segment.target_end - stop) <= 0.5
    assert abs(segment.source_start) <= 0.5 and abs(segment.source_end - (stop - start)) <= 0.5
    # And the other way round: the original as the source finds the clip inside itself.
    back = ENGINE.compare(original, ENGINE.fingerprint_bytes(encode_video(clip, fps=FPS)))
    segment = max(back.segments, key=lambda s: s.source_end - s.source_start)
    assert abs(segment.source_start - start) <= 0.5 and abs(segment.target_start) <= 0.5


def test_swapped_audio_still_matches_on_pictures(frames, original) -> None:
    result = _match(encode_video(frames, fps=FPS, audio=synth_music(SECONDS, seed=99)), original)
    assert result.similarity >= 0.75 and result.details["evidence"] == ["visual"]


def test_black_pictures_still_match_on_sound(music, original) -> None:
    black = [np.zeros((108, 192, 3), np.uint8)] * int(SECONDS * 5)
    result = _match(encode_video(black, fps=5, audio=music), original)
    assert result.similarity >= 0.75 and result.details["evidence"] == ["audio"]
    assert result.segments and abs(result.segments[0].target_start - result.segments[0].source_start) <= 0.2


def test_unrelated_videos_do_not_match(original) -> None:
    # Another tempo: the synthetic music of one tempo and scale is all alike to the audio engine.
    music = synth_music(SECONDS, seed=22, tempo_bpm=97)
    result = _match(encode_video(film_frames(SECONDS, FPS, seed=22), fps=FPS, audio=music), original)
    assert result.similarity < 0.6 and result.segments == [] and result.details["evidence"] == []
    assert result.details["visual_similarity"] == 0.0


def _jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).resize((384, 216)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def test_a_still_frame_finds_its_timestamp(frames, original_bytes) -> None:
    t = 6.3
    result = compare_media(ENGINE, _jpeg(frames[int(t * FPS)]), original_bytes)
    assert result.similarity >= 0.75 and result.details["evidence"] == ["visual"]
    assert any(s.target_start - 1 <= t <= s.target_end + 1 and s.source_start == s.source_end == 0
               for s in result.segments)
    # Video as the source: the still's side is the target.
    swapped = compare_media(ENGINE, original_bytes, _jpeg(frames[int(t * FPS)]))
    assert any(s.source_start - 1 <= t <= s.source_end + 1 for s in swapped.segments)
    unrelated = compare_media(ENGINE, _jpeg(film_frames(0.2, 5, seed=40)[0]), original_bytes)
    assert unrelated.similarity < 0.75 and unrelated.segments == []


def test_an_audio_clip_is_found_in_the_soundtrack(music, original_bytes) -> None:
    clip = encode_audio(music[int(2.0 * RATE) : int(9.0 * RATE)], "mp3")
    result = compare_media(ENGINE, clip, original_bytes)
    assert result.similarity >= 0.75 and result.details["evidence"] == ["audio"]
    segment = result.segments[0]
    assert abs(segment.target_start - segment.source_start - 2.0) <= 0.2


def test_a_pair_without_a_video_is_refused() -> None:
    still = _jpeg(film_frames(0.2, 5, seed=41)[0])
    with pytest.raises(MediaLayerError) as err:
        compare_media(ENGINE, still, still)
    assert err.value.code == "unsupported_media"
