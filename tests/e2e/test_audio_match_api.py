"""POST /audio/match through HTTP: a clip cut from a longer track is found with aligned segments, and
a copy played faster or pitched with the factor."""

from __future__ import annotations

import httpx

from tests.unit._audio_fixtures import RATE, encode, resample_linear, synth_music, with_white_noise


def test_clip_from_the_middle_matches_with_segments(api: httpx.Client, media_server) -> None:
    track = synth_music(40.0, seed=5)
    start, seconds = 17.3, 8.0
    clip = track[int(start * RATE): int((start + seconds) * RATE)]
    track_url = media_server.add("/track.ogg", encode(track, "vorbis"), "audio/ogg")
    files = {"source": ("clip.mp3", encode(clip, "mp3"), "audio/mpeg")}
    response = api.post("/audio/match", files={**files, "target_url": (None, track_url)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["match"] is True and body["media_type"] == "audio"
    assert body["similarity_score"] >= 0.8
    segment = max(body["matched_segments"], key=lambda s: s["source_end"] - s["source_start"])
    assert abs(segment["target_start"] - segment["source_start"] - start) <= 0.1
    assert segment["source_end"] - segment["source_start"] >= seconds - 1.0
    assert abs(body["pitch_ratio"] - 1.0) <= 0.005 and abs(body["tempo_ratio"] - 1.0) <= 0.005


def test_a_copy_played_faster_reports_its_pitch_and_tempo_factor(api: httpx.Client) -> None:
    track = synth_music(30.0, seed=6)
    clip = track[10 * RATE: 20 * RATE]
    files = {"source": ("faster.mp3", encode(resample_linear(clip, RATE * 1.05, RATE), "mp3"), "audio/mpeg"),
             "target": ("track.flac", encode(track, "flac"), "audio/flac")}
    body = api.post("/audio/match", files=files).json()
    assert body["match"] is True
    assert abs(body["pitch_ratio"] - 1.05) <= 0.01 and abs(body["tempo_ratio"] - 1.05) <= 0.01


def test_a_clip_under_noise_far_louder_than_the_music_is_found_at_its_offset(api: httpx.Client) -> None:
    # White noise 20 dB above the music: too few peaks survive to count, the target's peaks still
    # read on the clip's spectrogram (presence.py).
    track = synth_music(60.0, seed=11)
    clip = with_white_noise(track, -20.0)[30 * RATE: 35 * RATE]
    files = {"source": ("noisy.mp3", encode(clip, "mp3"), "audio/mpeg"),
             "target": ("track.flac", encode(track, "flac"), "audio/flac")}
    body = api.post("/audio/match", files=files).json()
    assert body["match"] is True
    segment = max(body["matched_segments"], key=lambda s: s["score"])
    assert abs(segment["target_start"] - segment["source_start"] - 30.0) <= 0.1


def test_unrelated_audio_does_not_match(api: httpx.Client) -> None:
    a, b = synth_music(12.0, seed=1), synth_music(12.0, seed=2)
    files = {"source": ("a.flac", encode(a, "flac"), "audio/flac"), "target": ("b.wav", encode(b, "wav"), "audio/wav")}
    body = api.post("/audio/match", files=files).json()
    assert body["match"] is False
    assert body["matched_segments"] == [] or body["similarity_score"] < 0.8
    if not body["matched_segments"]:  # no alignment: no factor to report, the seeds' envelope only
        assert set(body) == {"match", "confidence", "similarity_score", "processing_time_ms", "media_type",
                             "matched_segments"}


def test_an_image_is_not_audio(api: httpx.Client, media_server) -> None:
    from tests.conftest import encode as encode_image
    from tests.conftest import synthetic_photo

    files = {"source": ("a.jpg", encode_image(synthetic_photo(3)), "image/jpeg"),
             "target": ("b.jpg", encode_image(synthetic_photo(3)), "image/jpeg")}
    response = api.post("/audio/match", files=files)
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media"


def test_a_blip_shorter_than_one_analysis_window_answers_no_match_not_an_error(api: httpx.Client) -> None:
    track = synth_music(12.0, seed=1)
    files = {"source": ("blip.wav", encode(track[: RATE // 10], "wav"), "audio/wav"),
             "target": ("track.flac", encode(track, "flac"), "audio/flac")}
    response = api.post("/audio/match", files=files)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["match"] is False and body["confidence"] == "none" and body["matched_segments"] == []
