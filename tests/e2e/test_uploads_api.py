"""Presigned uploads end to end: create a slot, PUT the bytes to S3, see the worker record them."""

from __future__ import annotations

import time

import httpx

from tests.conftest import encode, synthetic_photo


def _wait_for_status(api: httpx.Client, upload_id: str, want: str) -> dict:
    deadline = time.monotonic() + 20
    while True:
        body = api.get(f"/v1/uploads/{upload_id}").json()
        if body["status"] == want or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def test_upload_is_received_and_sniffed(api: httpx.Client) -> None:
    data = encode(synthetic_photo(1), "PNG")
    created = api.post("/v1/uploads", json={"filename": "a.png", "content_type": "image/png", "bytes": len(data)})
    assert created.status_code == 201, created.text
    slot = created.json()
    assert set(slot) == {"upload_id", "upload_url", "expires_at"}
    assert api.get(f"/v1/uploads/{slot['upload_id']}").json()["status"] == "pending"
    put = httpx.put(slot["upload_url"], content=data, headers={"Content-Type": "image/png"})
    assert put.status_code == 200, put.text
    body = _wait_for_status(api, slot["upload_id"], "received")
    assert body["status"] == "received"
    assert body["detected_format"] == "png"


def test_upload_of_unknown_bytes_is_rejected(api: httpx.Client) -> None:
    data = b"plain text, not media" * 10
    slot = api.post("/v1/uploads", json={"filename": "a.txt", "bytes": len(data)}).json()
    httpx.put(slot["upload_url"], content=data, headers={"Content-Type": "application/octet-stream"})
    body = _wait_for_status(api, slot["upload_id"], "rejected")
    assert body["status"] == "rejected"
    assert body["error"] == "unsupported_media"


def test_upload_over_the_largest_cap_is_refused(api: httpx.Client) -> None:
    response = api.post("/v1/uploads", json={"filename": "big.mp4", "bytes": 500_000_000})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"


def test_uploads_of_another_project_are_not_found(api: httpx.Client, runtime) -> None:
    from medialayer.logic.tenancy import create_api_key, create_project

    other = create_project(runtime.credentials.org_id, "other")
    _, secret = create_api_key(other, "other key")
    data = encode(synthetic_photo(2), "PNG")
    slot = api.post("/v1/uploads", json={"filename": "a.png", "bytes": len(data)}).json()
    response = httpx.get(f"{runtime.base_url}/v1/uploads/{slot['upload_id']}",
                         headers={"x-api-key": secret.secret})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
