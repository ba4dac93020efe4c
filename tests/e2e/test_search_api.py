"""Search end to end: assets indexed through the API and the real worker become searchable at
once; queries with transformed copies find them with the match endpoint's scores; deletes take
effect at once; projects never see each other's assets; compaction keeps every result."""

from __future__ import annotations

import time

import httpx
import pytest
from PIL import ImageOps

from medialayer.dal.index_store import ManifestRepository
from medialayer.logic import library_index
from medialayer.models.tenancy import ALL_SCOPES
from tests.conftest import encode, synthetic_photo
from tests.e2e._tenancy import Org, new_org
from tests.unit._audio_fixtures import RATE, resample_linear, synth_music
from tests.unit._audio_fixtures import encode as encode_audio

PHOTO_SEEDS = (201, 202, 203, 204, 205)


def _ready(client: httpx.Client, asset_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/v1/assets/{asset_id}").json()
        if body.get("status") in ("ready", "failed"):
            return body
        assert time.monotonic() < deadline, f"asset {asset_id} still {body.get('status')}"
        time.sleep(0.1)


def _index(client: httpx.Client, media_type: str, name: str, data: bytes) -> str:
    response = client.post(f"/v1/index/{media_type}/upload", files={"file": (name, data)}, data={"name": name})
    assert response.status_code == 202, response.text
    return response.json()["asset_id"]


@pytest.fixture(scope="module")
def org(runtime) -> Org:
    return new_org(runtime.base_url, "Searchers")


@pytest.fixture(scope="module")
def client(org: Org) -> httpx.Client:
    _, secret = org.key(list(ALL_SCOPES))
    with httpx.Client(base_url=org.base_url, headers={"x-api-key": secret}, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def photos(client: httpx.Client) -> dict[int, str]:
    ids = {seed: _index(client, "image", f"photo-{seed}.jpg", encode(synthetic_photo(seed))) for seed in PHOTO_SEEDS}
    for asset_id in ids.values():
        assert _ready(client, asset_id)["status"] == "ready"
    return ids


def _search_file(client: httpx.Client, media_type: str, data: bytes, **fields: object) -> dict:
    response = client.post(f"/v1/search/{media_type}", files={"file": ("query", data)},
                           data={k: str(v) for k, v in fields.items()})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_mirrored_resized_copy_finds_its_original_first(client: httpx.Client, photos: dict[int, str]) -> None:
    query = ImageOps.mirror(synthetic_photo(203)).resize((320, 240))
    body = _search_file(client, "image", encode(query, quality=60))
    assert body["media_type"] == "image" and body["query"]["bytes"] > 0
    assert [m["asset_id"] for m in body["matches"]] == [photos[203]]
    best = body["matches"][0]
    assert best["name"] == "photo-203.jpg" and best["similarity"] >= 0.85 and best["coverage"] is None
    # The same pair through the match endpoint scores the same: search verifies with compare.
    pair = client.post("/image/match", files={"source": ("q.jpg", encode(query, quality=60)),
                                              "target": ("t.jpg", encode(synthetic_photo(203)))}).json()
    assert abs(pair["similarity_score"] - best["similarity"]) < 0.02


def test_a_crop_is_found_and_an_unrelated_photo_is_not(client: httpx.Client, photos: dict[int, str]) -> None:
    cropped = synthetic_photo(201).crop((64, 48, 576, 432))
    assert _search_file(client, "image", encode(cropped))["matches"][0]["asset_id"] == photos[201]
    assert _search_file(client, "image", encode(synthetic_photo(299)))["matches"] == []


def test_json_query_by_url_with_options(client: httpx.Client, photos: dict[int, str], media_server) -> None:
    url = media_server.add("/search-query.png", encode(synthetic_photo(204), "PNG"), "image/png")
    response = client.post("/v1/search/image", json={"url": url, "threshold": 0.5, "top_k": 1})
    assert response.status_code == 200, response.text
    assert [m["asset_id"] for m in response.json()["matches"]] == [photos[204]]
    bad = client.post("/v1/search/image", json={"url": url, "top_k": 0})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request"


def test_other_projects_never_see_these_assets(runtime, api: httpx.Client, photos: dict[int, str]) -> None:
    body = _search_file(api, "image", encode(synthetic_photo(202)))  # the dev project's key
    assert photos[202] not in [m["asset_id"] for m in body["matches"]]


def test_a_new_asset_is_searchable_as_soon_as_it_is_ready(client: httpx.Client, photos: dict[int, str]) -> None:
    asset_id = _index(client, "image", "fresh.jpg", encode(synthetic_photo(211)))
    assert _ready(client, asset_id)["status"] == "ready"
    body = _search_file(client, "image", encode(synthetic_photo(211), quality=70))
    assert [m["asset_id"] for m in body["matches"]] == [asset_id]


def test_delete_removes_from_search_at_once(client: httpx.Client, photos: dict[int, str]) -> None:
    asset_id = _index(client, "image", "doomed.jpg", encode(synthetic_photo(212)))
    assert _ready(client, asset_id)["status"] == "ready"
    assert _search_file(client, "image", encode(synthetic_photo(212)))["matches"]
    assert client.delete(f"/v1/assets/{asset_id}").status_code == 204
    assert _search_file(client, "image", encode(synthetic_photo(212)))["matches"] == []


def test_compaction_merges_segments_and_drops_deleted_rows(client: httpx.Client, org: Org,
                                                           photos: dict[int, str]) -> None:
    manifests = ManifestRepository()
    before = manifests.get(org.project_id, "image")
    assert len(before.segments) >= len(PHOTO_SEEDS)
    assert library_index.compact(org.project_id, "image") is not None
    after = manifests.get(org.project_id, "image")
    assert len(after.segments) == 1 and after.tombstones == set()
    for seed, asset_id in photos.items():
        body = _search_file(client, "image", encode(synthetic_photo(seed), quality=80))
        assert body["matches"][0]["asset_id"] == asset_id


def test_the_worker_compacts_once_segments_pile_up(client: httpx.Client, org: Org, photos: dict[int, str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(library_index, "COMPACT_AT", 3)
    ids = [_index(client, "image", f"pile-{s}.jpg", encode(synthetic_photo(s))) for s in (221, 222, 223)]
    for asset_id in ids:
        assert _ready(client, asset_id)["status"] == "ready"
    deadline = time.monotonic() + 30
    while len(ManifestRepository().get(org.project_id, "image").segments) > 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(ManifestRepository().get(org.project_id, "image").segments) <= 2
    body = _search_file(client, "image", encode(synthetic_photo(222)))
    assert [m["asset_id"] for m in body["matches"]] == [ids[1]]


def test_an_index_larger_than_a_shard_is_searched_by_the_shard_function(
        client: httpx.Client, org: Org, photos: dict[int, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from medialayer.logic import search as search_logic
    from medialayer.settings import get_settings

    manifest = ManifestRepository().get(org.project_id, "image")
    total = sum(info.bytes for info in manifest.segments.values())
    monkeypatch.setattr(get_settings(), "search_shard_bytes", max(1, total // 2))  # 2 or 3 shards
    calls = []
    real_invoke = search_logic.invoke

    def counted(name: str, event: dict) -> dict:  # the real Lambda invoke, counted
        calls.append(event["shard"])
        return real_invoke(name, event)

    monkeypatch.setattr(search_logic, "invoke", counted)
    for seed, asset_id in photos.items():
        body = _search_file(client, "image", encode(ImageOps.mirror(synthetic_photo(seed)), quality=70))
        assert body["matches"][0]["asset_id"] == asset_id
    assert {n for _, n in calls} == {len(calls) // len(photos)} and len(calls) // len(photos) >= 2


def test_an_audio_clip_finds_its_track_with_segments_and_coverage(client: httpx.Client) -> None:
    tracks = {seed: synth_music(30.0, seed=seed) for seed in (31, 32, 33)}
    ids = {seed: _index(client, "audio", f"track-{seed}.ogg", encode_audio(t, "vorbis")) for seed, t in tracks.items()}
    for asset_id in ids.values():
        assert _ready(client, asset_id)["status"] == "ready"
    start, seconds = 12.5, 8.0
    clip = tracks[32][int(start * RATE): int((start + seconds) * RATE)]
    body = _search_file(client, "audio", encode_audio(clip, "mp3"), min_coverage=0.5)
    assert [m["asset_id"] for m in body["matches"]] == [ids[32]]
    best = body["matches"][0]
    assert best["similarity"] >= 0.8 and best["coverage"] >= 0.8
    segment = best["matched_segments"][0]
    assert abs(segment["target_start"] - segment["source_start"] - start) <= 0.1
    assert abs(body["query"]["duration_s"] - seconds) < 0.2
    assert abs(best["pitch_ratio"] - 1.0) <= 0.005 and abs(best["tempo_ratio"] - 1.0) <= 0.005
    # Played 4 % faster (pitch and tempo): still found, with the factor.
    faster = resample_linear(clip, RATE * 1.04, RATE)
    (best,) = _search_file(client, "audio", encode_audio(faster, "mp3"))["matches"]
    assert best["asset_id"] == ids[32] and best["similarity"] >= 0.8
    assert abs(best["pitch_ratio"] - 1.04) <= 0.01 and abs(best["tempo_ratio"] - 1.04) <= 0.01


def test_cross_type_search_is_refused_clearly(client: httpx.Client) -> None:
    response = client.post("/v1/search/audio", json={"url": "https://example.com/a.mp3", "media_types": ["image"]})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request"
