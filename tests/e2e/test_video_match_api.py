"""POST /video/match through HTTP: clips align in time, the response says which evidence matched,
and a still image or an audio clip can stand on one side."""

from __future__ import annotations

import io

import httpx
import numpy as np
from PIL import Image

from tests.unit._audio_fixtures import RATE, synth_music
from tests.unit._audio_fixtures import encode as encode_audio
from tests.unit._video_fixtures import encode_video, film_frames

SECONDS, FPS = 12.0, 15


def _film(seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    return film_frames(SECONDS, FPS, seed=seed), synth_music(SECONDS, seed=seed)


def test_clip_from_the_middle_matches_with_segments_and_evidence(api: httpx.Client, media_server) -> None:
    frames, music = _film(31)
    start, stop = 4.0, 10.0
    full_url = media_server.add("/film.mp4", encode_video(frames, fps=FPS, audio=music), "video/mp4")
    clip = encode_video(frames[int(start * FPS): int(stop * FPS)], fps=FPS,
                        audio=music[int(start * RATE): int(stop * RATE)], container="webm", codec="libvpx")
    response = api.post("/video/match",
                        files={"source": ("clip.webm", clip, "video/webm"), "target_url": (None, full_url)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["match"] is True and body["media_type"] == "video" and body["similarity_score"] >= 0.75
    assert body["evidence"] == ["visual", "audio"] and body["coverage"] >= 0.9
    segment = max(body["matched_segments"], key=lambda s: s["source_end"] - s["source_start"])
    assert abs(segment["target_start"] - start) <= 1.0 and abs(segment["target_end"] - stop) <= 1.0


def test_unrelated_videos_do_not_match(api: httpx.Client) -> None:
    (a, _), (b, _) = _film(32), _film(33)
    files = {"source": ("a.mp4", encode_video(a, fps=FPS), "video/mp4"),
             "target": ("b.avi", encode_video(b, fps=FPS, container="avi", codec="mpeg4"), "video/x-msvideo")}
    body = api.post("/video/match", files=files).json()
    assert body["match"] is False and body["matched_segments"] == [] and body["evidence"] == []


def test_a_still_on_one_side_gets_the_videos_timestamps(api: httpx.Client) -> None:
    frames, music = _film(34)
    t = 7.4
    buf = io.BytesIO()
    Image.fromarray(frames[int(t * FPS)]).save(buf, "JPEG", quality=85)
    files = {"source": ("still.jpg", buf.getvalue(), "image/jpeg"),
             "target": ("film.mp4", encode_video(frames, fps=FPS, audio=music), "video/mp4")}
    body = api.post("/video/match", files=files).json()
    assert body["match"] is True and body["evidence"] == ["visual"]
    assert any(s["target_start"] - 1 <= t <= s["target_end"] + 1 for s in body["matched_segments"])


def test_an_audio_clip_on_one_side_is_found_in_the_soundtrack(api: httpx.Client) -> None:
    frames, music = _film(35)
    files = {"source": ("film.mp4", encode_video(frames, fps=FPS, audio=music), "video/mp4"),
             "target": ("clip.mp3", encode_audio(music[3 * RATE: 10 * RATE], "mp3"), "audio/mpeg")}
    body = api.post("/video/match", files=files).json()
    assert body["match"] is True and body["evidence"] == ["audio"]
    segment = body["matched_segments"][0]
    assert abs(segment["source_start"] - segment["target_start"] - 3.0) <= 0.2


def test_bad_inputs_get_clear_codes(api: httpx.Client) -> None:
    from tests.conftest import encode as encode_image
    from tests.conftest import synthetic_photo

    photo = encode_image(synthetic_photo(3))
    both_images = api.post("/video/match", files={"source": ("a.jpg", photo, "image/jpeg"),
                                                  "target": ("b.jpg", photo, "image/jpeg")})
    assert both_images.status_code == 415 and both_images.json()["error"]["code"] == "unsupported_media"
    corrupt = b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 40
    frames, _ = _film(36)
    response = api.post("/video/match", files={"source": ("bad.mp4", corrupt, "video/mp4"),
                                               "target": ("ok.mp4", encode_video(frames[:30], fps=FPS), "video/mp4")})
    assert response.status_code == 415 and response.json()["error"]["code"] == "unsupported_media"


def test_image_responses_keep_the_seed_envelope(api: httpx.Client) -> None:
    from tests.conftest import encode as encode_image
    from tests.conftest import synthetic_photo

    photo = encode_image(synthetic_photo(4))
    body = api.post("/image/match", files={"source": ("a.jpg", photo, "image/jpeg"),
                                           "target": ("b.jpg", photo, "image/jpeg")}).json()
    assert set(body) == {"match", "confidence", "similarity_score", "processing_time_ms", "media_type",
                         "matched_segments"}
