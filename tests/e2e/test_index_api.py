"""Indexing end to end: URL, upload and S3 ingest become ready assets through the real queue and
worker; failures end failed with a code; the assets API lists, pages and deletes; caps apply."""

from __future__ import annotations

import time

import httpx
import pytest

from medialayer.dal.assets import MediaStore
from medialayer.dal.clients import client
from tests.conftest import encode, synthetic_photo
from tests.e2e._tenancy import new_org


def _wait(api: httpx.Client, asset_id: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = api.get(f"/v1/assets/{asset_id}").json()
        if body.get("status") in ("ready", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


@pytest.fixture(scope="module")
def photo_url(media_server) -> str:
    return media_server.add("/index-photo.jpg", encode(synthetic_photo(61)), "image/jpeg")


def test_url_is_indexed_to_ready(api: httpx.Client, photo_url: str) -> None:
    accepted = api.post("/v1/index/image/url", json={"url": photo_url, "metadata": {"sku": "A-1"}})
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["status"] == "pending"
    asset = _wait(api, accepted.json()["asset_id"])
    assert asset["status"] == "ready", asset
    assert asset["name"] == "index-photo.jpg" and asset["media_type"] == "image"
    assert asset["bytes"] > 0 and asset["error"] is None and asset["metadata"] == {"sku": "A-1"}


def test_upload_is_indexed_and_bad_bytes_are_refused_at_once(api: httpx.Client) -> None:
    files = {"file": ("shot.png", encode(synthetic_photo(62), "PNG"), "image/png")}
    accepted = api.post("/v1/index/image/upload", files=files, data={"name": "my shot"})
    assert accepted.status_code == 202, accepted.text
    asset = _wait(api, accepted.json()["asset_id"])
    assert asset["status"] == "ready" and asset["name"] == "my shot"
    refused = api.post("/v1/index/image/upload", files={"file": ("a.txt", b"hello " * 50, "text/plain")})
    assert refused.status_code == 415
    assert refused.json()["error"]["code"] == "unsupported_media"


def test_unreachable_url_ends_failed_with_its_code(api: httpx.Client, media_server) -> None:
    accepted = api.post("/v1/index/image/url", json={"url": media_server.base_url + "/gone.jpg"})
    asset = _wait(api, accepted.json()["asset_id"])
    assert asset["status"] == "failed"
    assert asset["error"]["code"] == "fetch_failed"


def test_refused_url_is_refused_before_queueing(api: httpx.Client) -> None:
    response = api.post("/v1/index/image/url", json={"url": "http://169.254.169.254/latest"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_url"


def test_objects_put_under_the_ingest_prefix_are_indexed(api: httpx.Client, runtime) -> None:
    project = runtime.credentials.project_id
    client("s3").put_object(Bucket=runtime.stack.physical_name("UploadsBucket"),
                            Key=f"ingest/{project}/catalog/item-7.jpg", Body=encode(synthetic_photo(63)))
    deadline, found = time.monotonic() + 30, None
    while found is None and time.monotonic() < deadline:
        assets = api.get("/v1/assets", params={"media_type": "image", "limit": 100}).json()["assets"]
        found = next((a for a in assets if a["name"] == "item-7.jpg" and a["status"] == "ready"), None)
        time.sleep(0.3)
    assert found is not None, "the ingested object never became a ready asset"
    assert found["source"].endswith(f"ingest/{project}/catalog/item-7.jpg")


def test_list_filters_pages_and_delete_removes_everything(api: httpx.Client, runtime, photo_url: str) -> None:
    ids = [api.post("/v1/index/image/url", json={"url": photo_url}).json()["asset_id"] for _ in range(3)]
    for asset_id in ids:
        assert _wait(api, asset_id)["status"] == "ready"
    seen, cursor = [], None
    while True:
        page = api.get("/v1/assets", params={"media_type": "image", "status": "ready", "limit": 2,
                                             **({"cursor": cursor} if cursor else {})}).json()
        assert len(page["assets"]) <= 2
        seen += [a["asset_id"] for a in page["assets"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert set(ids) <= set(seen) and len(seen) == len(set(seen))
    assert api.get("/v1/assets", params={"cursor": "not-a-cursor"}).status_code == 400
    assert api.get("/v1/assets", params={"status": "ready"}).status_code == 400

    project = runtime.credentials.project_id
    assert api.delete(f"/v1/assets/{ids[0]}").status_code == 204
    assert api.get(f"/v1/assets/{ids[0]}").status_code == 404
    assert MediaStore().get(MediaStore.fingerprint_key(project, "image", ids[0])) is None
    assert MediaStore().get(MediaStore.fingerprint_key(project, "image", ids[1])) is not None


def test_ready_asset_cap_and_index_feature_flag(runtime, photo_url: str) -> None:
    org = new_org(runtime.base_url, "Capped")
    org.set_plan("two-images")
    _, key = org.key(["image:index", "assets:read", "assets:delete"])
    with httpx.Client(base_url=runtime.base_url, headers={"x-api-key": key}, timeout=60) as api:
        ids = [api.post("/v1/index/image/url", json={"url": photo_url}).json()["asset_id"] for _ in range(3)]
        statuses = sorted(_wait(api, i)["status"] for i in ids)
        assert statuses == ["failed", "ready", "ready"]
        failed = next(_wait(api, i) for i in ids if _wait(api, i)["status"] == "failed")
        assert failed["error"]["code"] == "quota_exceeded"
        ready = next(i for i in ids if _wait(api, i)["status"] == "ready")
        assert api.delete(f"/v1/assets/{ready}").status_code == 204
        again = api.post("/v1/index/image/url", json={"url": photo_url}).json()["asset_id"]
        assert _wait(api, again)["status"] == "ready"
    org.set_plan("no-image")
    with httpx.Client(base_url=runtime.base_url, headers={"x-api-key": key}, timeout=60) as api:
        refused = api.post("/v1/index/image/url", json={"url": photo_url})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "feature_disabled"


def test_other_projects_assets_are_not_found(runtime, api: httpx.Client, photo_url: str) -> None:
    asset_id = api.post("/v1/index/image/url", json={"url": photo_url}).json()["asset_id"]
    other = new_org(runtime.base_url, "Elsewhere")
    _, key = other.key(["assets:read", "assets:delete"])
    headers = {"x-api-key": key}
    assert httpx.get(f"{runtime.base_url}/v1/assets/{asset_id}", headers=headers).status_code == 404
    assert httpx.delete(f"{runtime.base_url}/v1/assets/{asset_id}", headers=headers).status_code == 404
    listed = httpx.get(f"{runtime.base_url}/v1/assets", headers=headers).json()["assets"]
    assert asset_id not in {a["asset_id"] for a in listed}


def test_a_photo_indexed_as_video_ends_failed_as_unsupported(api: httpx.Client, photo_url: str) -> None:
    response = api.post("/v1/index/video/url", json={"url": photo_url})
    assert response.status_code == 202, response.text
    asset = _wait(api, response.json()["asset_id"])
    assert asset["status"] == "failed" and asset["error"]["code"] == "unsupported_media"
