"""POST /image/match through HTTP on the local runtime: URLs, multipart, upload://, and every refusal."""

from __future__ import annotations

import httpx
import pytest
from PIL import ImageOps

from tests.conftest import encode, synthetic_photo

ENVELOPE_KEYS = {"match", "confidence", "similarity_score", "processing_time_ms", "media_type",
                 "matched_segments"}


@pytest.fixture(scope="module")
def photos(media_server) -> dict[str, str]:
    original = synthetic_photo(11, (800, 600))
    return {
        "original": media_server.add("/original.jpg", encode(original, quality=92), "image/jpeg"),
        "edited": media_server.add("/edited.png", encode(ImageOps.mirror(original).resize((400, 300)), "PNG")),
        "other": media_server.add("/other.jpg", encode(synthetic_photo(12, (800, 600)))),
        "text": media_server.add("/notes.txt", b"just some text, not an image\n" * 20, "text/plain"),
    }


def _match(api: httpx.Client, source: str, target: str, path: str = "/image/match") -> httpx.Response:
    return api.post(path, json={"source_url": source, "target_url": target})


def test_a_mirrored_resized_copy_matches_by_url(api, photos) -> None:
    response = _match(api, photos["original"], photos["edited"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == ENVELOPE_KEYS
    assert body["match"] is True
    assert body["similarity_score"] >= 0.85
    assert body["confidence"] in ("high", "medium")
    assert body["media_type"] == "image"
    assert body["matched_segments"] == []
    assert isinstance(body["processing_time_ms"], int)


def test_different_photos_do_not_match(api, photos) -> None:
    body = _match(api, photos["original"], photos["other"], "/v1/match/image").json()
    assert body["match"] is False
    assert body["similarity_score"] < 0.85


def test_multipart_files_match(api) -> None:
    photo = synthetic_photo(21)
    files = {"source": ("a.jpg", encode(photo), "image/jpeg"),
             "target": ("b.webp", encode(photo.resize((320, 240)), "WEBP"), "image/webp")}
    body = api.post("/image/match", files=files).json()
    assert body["match"] is True, body


def test_upload_reference_matches(api) -> None:
    data = encode(synthetic_photo(31))
    slot = api.post("/v1/uploads", json={"filename": "a.jpg", "content_type": "image/jpeg",
                                         "bytes": len(data)}).json()
    assert httpx.put(slot["upload_url"], content=data, headers={"Content-Type": "image/jpeg"}).status_code == 200
    files = {"source_url": (None, f"upload://{slot['upload_id']}"),
             "target": ("b.jpg", encode(synthetic_photo(31), quality=40), "image/jpeg")}
    body = api.post("/image/match", files=files).json()
    assert body["match"] is True, body


def _error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"}
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


def test_unknown_upload_is_not_found(api, photos) -> None:
    _error(_match(api, "upload://upl_doesnotexist", photos["original"]), 404, "not_found")


def test_empty_upload_slot_cannot_be_fetched(api, photos) -> None:
    slot = api.post("/v1/uploads", json={"filename": "a.jpg", "bytes": 10}).json()
    _error(_match(api, f"upload://{slot['upload_id']}", photos["original"]), 422, "fetch_failed")


def test_text_is_unsupported_media(api, photos) -> None:
    _error(_match(api, photos["original"], photos["text"]), 415, "unsupported_media")


def test_corrupt_image_is_unsupported_media(api) -> None:
    truncated = encode(synthetic_photo(41))[:600]
    files = {"source": ("a.jpg", truncated, "image/jpeg"), "target": ("b.jpg", truncated, "image/jpeg")}
    _error(api.post("/image/match", files=files), 415, "unsupported_media")


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/a.jpg",
                                 "ftp://example.com/a.jpg", "not a url", "http://[::ffff:10.0.0.1]/x.jpg"])
def test_refused_urls_are_invalid_url(api, photos, url) -> None:
    _error(_match(api, photos["original"], url), 400, "invalid_url")


def test_missing_file_is_fetch_failed(api, media_server, photos) -> None:
    _error(_match(api, photos["original"], media_server.base_url + "/missing.jpg"), 422, "fetch_failed")


def test_invalid_body_is_invalid_request(api) -> None:
    _error(api.post("/image/match", json={"source_url": "http://example.com/a.jpg"}), 400, "invalid_request")
    _error(api.post("/image/match", content=b"{not json", headers={"content-type": "application/json"}),
           400, "invalid_request")


def test_unknown_route_and_method_use_the_envelope(api) -> None:
    _error(api.get("/no/such/thing"), 404, "not_found")
    _error(api.get("/image/match"), 405, "method_not_allowed")
    _error(api.post("/sculpture/match", json={"source_url": "a", "target_url": "b"}), 400, "invalid_request")


def test_two_photos_are_not_a_video_match(api, photos) -> None:
    _error(_match(api, photos["original"], photos["original"], "/video/match"), 415, "unsupported_media")


def test_missing_and_unknown_keys_are_unauthorized(runtime, photos) -> None:
    body = {"source_url": photos["original"], "target_url": photos["original"]}
    _error(httpx.post(f"{runtime.base_url}/image/match", json=body), 401, "unauthorized")
    _error(httpx.post(f"{runtime.base_url}/image/match", json=body, headers={"x-api-key": "ml_nope"}),
           401, "unauthorized")


@pytest.mark.parametrize("header", ["x-api-key", "authorization", "x-rapidapi-key"])
def test_every_documented_key_header_works(runtime, photos, header) -> None:
    key = runtime.credentials.api_key
    value = f"Bearer {key}" if header == "authorization" else key
    response = httpx.post(f"{runtime.base_url}/image/match", headers={header: value},
                          json={"source_url": photos["original"], "target_url": photos["original"]}, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json()["similarity_score"] == 1.0


def test_key_without_the_search_scope_is_forbidden(runtime, photos) -> None:
    from medialayer.dal.tenants import TenantRepository
    from medialayer.logic.tenancy import create_api_key

    project = TenantRepository().get_project(runtime.credentials.project_id)
    _, secret = create_api_key(project, "audio only", ["audio:search"])
    response = httpx.post(f"{runtime.base_url}/image/match", headers={"x-api-key": secret.secret},
                          json={"source_url": photos["original"], "target_url": photos["original"]})
    _error(response, 403, "forbidden")


def test_revoked_and_expired_keys_are_unauthorized(runtime, photos) -> None:
    from datetime import UTC, datetime, timedelta

    from medialayer.dal.tenants import TenantRepository
    from medialayer.logic.secrets import hash_secret
    from medialayer.logic.tenancy import create_api_key

    tenants = TenantRepository()
    project = tenants.get_project(runtime.credentials.project_id)
    _, revoked = create_api_key(project, "to revoke")
    tenants.revoke_api_key(hash_secret(revoked.secret), datetime.now(UTC))
    _, expired = create_api_key(project, "expired", expires_at=datetime.now(UTC) - timedelta(seconds=1))
    body = {"source_url": photos["original"], "target_url": photos["original"]}
    for secret in (revoked.secret, expired.secret):
        _error(httpx.post(f"{runtime.base_url}/image/match", json=body, headers={"x-api-key": secret}),
               401, "unauthorized")


def test_oversized_multipart_body_is_refused_while_streaming(api) -> None:
    # Two files over the 15 MB image cap: refused from Content-Length before the body is read.
    big = b"\xff\xd8\xff" + b"\0" * 16_000_000
    files = {"source": ("a.jpg", big, "image/jpeg"), "target": ("b.jpg", big, "image/jpeg")}
    _error(api.post("/image/match", files=files), 413, "file_too_large")


def test_a_single_file_over_the_cap_is_refused(api) -> None:
    big = b"\xff\xd8\xff" + b"\0" * 15_500_000
    files = {"source": ("a.jpg", big, "image/jpeg"), "target": ("b.jpg", b"\xff\xd8\xff", "image/jpeg")}
    _error(api.post("/image/match", files=files), 413, "file_too_large")
