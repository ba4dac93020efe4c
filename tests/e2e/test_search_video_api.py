"""Video search end to end, and cross-modal search: a still finds the video (and time) it was
taken from, an audio clip the video whose soundtrack it is."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
from PIL import Image

from medialayer.models.tenancy import ALL_SCOPES
from tests.e2e._tenancy import new_org
from tests.e2e.test_search_api import _index, _ready, _search_file
from tests.unit._audio_fixtures import RATE, synth_music
from tests.unit._audio_fixtures import encode as encode_audio
from tests.unit._video_fixtures import encode_video, film_frames

SECONDS, FPS = 16.0, 10
SEEDS = (61, 62, 63)


@pytest.fixture(scope="module")
def library(runtime) -> tuple[httpx.Client, dict[int, str], dict[int, tuple[list[np.ndarray], np.ndarray]]]:
    org = new_org(runtime.base_url, "Broadcasters")
    _, secret = org.key(list(ALL_SCOPES))
    client = httpx.Client(base_url=org.base_url, headers={"x-api-key": secret}, timeout=120)
    films = {seed: (film_frames(SECONDS, FPS, seed=seed), synth_music(SECONDS, seed=seed)) for seed in SEEDS}
    ids = {seed: _index(client, "video", f"film-{seed}.mp4", encode_video(frames, fps=FPS, audio=music))
           for seed, (frames, music) in films.items()}
    for asset_id in ids.values():
        assert _ready(client, asset_id)["status"] == "ready"
    yield client, ids, films
    client.close()


def test_a_clip_finds_its_video_with_segments_and_coverage(library) -> None:
    client, ids, films = library
    frames, music = films[62]
    start, stop = 5.0, 12.0
    clip = encode_video(frames[int(start * FPS): int(stop * FPS)], fps=FPS,
                        audio=music[int(start * RATE): int(stop * RATE)], container="webm", codec="libvpx")
    body = _search_file(client, "video", clip)
    assert [m["asset_id"] for m in body["matches"]] == [ids[62]]
    best = body["matches"][0]
    assert best["similarity"] >= 0.75 and best["coverage"] >= 0.8
    segment = max(best["matched_segments"], key=lambda s: s["source_end"] - s["source_start"])
    assert abs(segment["target_start"] - segment["source_start"] - start) <= 1.0


def test_a_still_finds_the_video_and_the_time_it_appears(library) -> None:
    client, ids, films = library
    frames, _ = films[63]
    at = 9.0
    buffer = io.BytesIO()
    Image.fromarray(frames[int(at * FPS)]).save(buffer, "JPEG", quality=85)
    body = _search_file(client, "image", buffer.getvalue(), media_types="image,video")
    videos = [m for m in body["matches"] if m["media_type"] == "video"]
    assert [m["asset_id"] for m in videos] == [ids[63]]
    assert videos[0]["coverage"] is None
    assert any(s["target_start"] - 1.0 <= at <= s["target_end"] + 1.0 for s in videos[0]["matched_segments"])


def test_an_audio_clip_finds_the_video_it_is_heard_in(library) -> None:
    client, ids, films = library
    _, music = films[61]
    clip = encode_audio(music[int(3.0 * RATE): int(11.0 * RATE)], "mp3")
    body = _search_file(client, "audio", clip, media_types="video")
    assert [m["asset_id"] for m in body["matches"]] == [ids[61]]
    segment = body["matches"][0]["matched_segments"][0]
    assert abs(segment["target_start"] - segment["source_start"] - 3.0) <= 0.2


def test_video_assets_cannot_be_searched_with_an_unsupported_pairing(library) -> None:
    client, _, _ = library
    response = client.post("/v1/search/video", json={"url": "https://example.com/v.mp4", "media_types": ["audio"]})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request"
