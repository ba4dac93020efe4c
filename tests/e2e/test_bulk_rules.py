"""Bulk jobs under the rules that apply to every row: retries and the dead-letter queue, plan quotas and
feature flags, scopes, paging and project isolation. All through the real local runtime."""

from __future__ import annotations

import csv
import hashlib
import io

import httpx
import pytest

from medialayer.logic import bulk_steps
from medialayer.media.registry import get_engine
from medialayer.models.common import MediaType
from tests.conftest import encode, synthetic_photo
from tests.e2e._bulk import wait_for_job
from tests.e2e._tenancy import new_org


def _csv(rows: list[tuple[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["url", "media_type"])
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _submit(api: httpx.Client, rows: list[tuple[str, str]]) -> httpx.Response:
    return api.post("/v1/bulk/csv", files={"file": ("rows.csv", _csv(rows), "text/csv")})


def test_a_crashing_row_is_retried_and_a_poison_row_ends_in_the_dlq_counted_failed(
        api: httpx.Client, media_server, monkeypatch: pytest.MonkeyPatch) -> None:
    good, flaky, poison = (encode(synthetic_photo(seed, (160, 120))) for seed in (911, 912, 913))
    attempts: dict[str, int] = {}
    engine = get_engine(MediaType.image)
    original = engine.fingerprint_bytes

    def crashing(data: bytes):  # the worker process dies mid-row (not a media error: SQS retries it)
        digest = hashlib.sha256(data).hexdigest()
        attempts[digest] = attempts.get(digest, 0) + 1
        if data == poison or (data == flaky and attempts[digest] == 1):
            raise RuntimeError("worker crashed")
        return original(data)

    monkeypatch.setattr(engine, "fingerprint_bytes", crashing)
    rows = [(media_server.add(f"/crash/{name}.jpg", body, "image/jpeg"), "image")
            for name, body in (("good", good), ("flaky", flaky), ("poison", poison))]
    job = wait_for_job(api, _submit(api, rows).json()["job_id"], timeout=90)

    assert job["status"] == "partial"
    assert (job["ready"], job["failed"], job["pending"], job["processing"]) == (2, 1, 0, 0)
    assert attempts[hashlib.sha256(flaky).hexdigest()] == 2
    assert attempts[hashlib.sha256(poison).hexdigest()] == 5  # the index queue's maxReceiveCount
    (error,) = job["errors"]
    assert error["row"] == 4 and error["code"] == "internal_error" and "dead-letter" in error["message"]
    asset = api.get(f"/v1/assets/{error['asset_id']}").json()
    assert asset["status"] == "failed" and asset["error"]["code"] == "internal_error"


def test_rows_over_the_asset_cap_fail_with_quota_exceeded(runtime, media_server) -> None:
    org = new_org(runtime.base_url, "BulkCapped")
    org.set_plan("two-images")
    _, key = org.key(["image:index", "jobs:read", "assets:read"])
    rows = [(media_server.add(f"/cap/{i}.jpg", encode(synthetic_photo(920 + i, (160, 120))), "image/jpeg"), "image")
            for i in range(4)]
    with httpx.Client(base_url=runtime.base_url, headers={"x-api-key": key}, timeout=60) as api:
        job = wait_for_job(api, _submit(api, rows).json()["job_id"])
    assert job["status"] == "partial"
    assert (job["ready"], job["failed"]) == (2, 2)
    assert {e["code"] for e in job["errors"]} == {"quota_exceeded"}


def test_feature_flags_and_scopes_apply_per_row(runtime, media_server) -> None:
    photo = media_server.add("/flags/p.jpg", encode(synthetic_photo(930, (160, 120))), "image/jpeg")
    org = new_org(runtime.base_url, "BulkFlags")
    _, audio_only = org.key(["audio:index", "jobs:read"])
    with httpx.Client(base_url=runtime.base_url, headers={"x-api-key": audio_only}, timeout=60) as api:
        job = wait_for_job(api, _submit(api, [(photo, "image")]).json()["job_id"])
    assert job["status"] == "failed" and job["rejected"] == 1
    assert job["errors"][0]["code"] == "forbidden"

    org.set_plan("no-image")
    _, both = org.key(["image:index", "audio:index", "jobs:read"])
    with httpx.Client(base_url=runtime.base_url, headers={"x-api-key": both}, timeout=60) as api:
        job = wait_for_job(api, _submit(api, [(photo, "image")]).json()["job_id"])
    assert job["status"] == "failed" and job["errors"][0]["code"] == "feature_disabled"

    _, reader = org.key(["jobs:read", "assets:read"])
    with httpx.Client(base_url=runtime.base_url, headers={"x-api-key": reader}, timeout=60) as api:
        refused = _submit(api, [(photo, "image")])
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
        assert api.post("/v1/bulk/zip", json={"zip_url": photo}).status_code == 403
    _, indexer = org.key(["audio:index"])
    with httpx.Client(base_url=runtime.base_url, headers={"x-api-key": indexer}, timeout=60) as api:
        assert api.get(f"/v1/jobs/{job['job_id']}").status_code == 403
        assert api.get("/v1/jobs").status_code == 403


def test_jobs_list_newest_first_in_pages_and_stay_in_their_project(api: httpx.Client, runtime,
                                                                    media_server) -> None:
    photo = media_server.add("/list/p.jpg", encode(synthetic_photo(940, (160, 120))), "image/jpeg")
    ids = [_submit(api, [(photo, "image")]).json()["job_id"] for _ in range(3)]
    for job_id in ids:
        wait_for_job(api, job_id)
    seen, cursor = [], None
    while True:
        page = api.get("/v1/jobs", params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["jobs"]) <= 2 and all(j["errors"] == [] for j in body["jobs"])
        seen += [j["job_id"] for j in body["jobs"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen[:3] == ids[::-1] and len(seen) == len(set(seen))
    assert api.get("/v1/jobs", params={"cursor": "bogus"}).status_code == 400

    other = new_org(runtime.base_url, "BulkElsewhere")
    _, key = other.key(["jobs:read"])
    with httpx.Client(base_url=runtime.base_url, headers={"x-api-key": key}, timeout=60) as client:
        assert client.get(f"/v1/jobs/{ids[0]}").status_code == 404
        assert client.get("/v1/jobs").json()["jobs"] == []
    assert api.get("/v1/jobs/job_unknown").status_code == 404


def test_a_step_that_keeps_failing_is_retried_then_the_job_fails(api: httpx.Client, media_server,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def queue_down(messages: list[dict]) -> None:
        calls.append(len(messages))
        raise ConnectionError("the index queue is unreachable")

    monkeypatch.setattr(bulk_steps, "send_index_messages", queue_down)
    photo = media_server.add("/stepfail/p.jpg", encode(synthetic_photo(950, (160, 120))), "image/jpeg")
    job = wait_for_job(api, _submit(api, [(photo, "image")]).json()["job_id"], timeout=60)
    assert len(calls) == 4  # the first attempt and the state machine's three retries
    assert job["status"] == "failed" and job["error"]["code"] == "internal_error"
    assert "ConnectionError" in job["error"]["message"]
    # The row's asset was created but never queued: it ends failed, counted and reported, not pending.
    assert (job["pending"], job["failed"]) == (0, 1)
    (error,) = job["errors"]
    assert error["code"] == "not_queued" and error["asset_id"]
    assert api.get(f"/v1/assets/{error['asset_id']}").json()["status"] == "failed"
