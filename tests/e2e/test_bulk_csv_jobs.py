"""Bulk CSV jobs end to end through the real local runtime: the API starts a Step Functions execution
on the embedded endpoint, whose Lambda tasks run our handlers; rows go through the real index queue
and worker. Checks that every row ends as exactly one asset or one row error, that redelivered
messages and a repeated fan-out duplicate nothing, and that the error report is safe to open."""

from __future__ import annotations

import csv
import io
import json
import threading
import time

import httpx
import pytest

from medialayer.dal.clients import client
from medialayer.logic.bulk_steps import asset_id_for
from tests.conftest import MediaServer, encode, synthetic_photo
from tests.e2e._bulk import assert_counts_add_up, job_assets, wait_for_job

GOOD, MISSING, PRIVATE, UNSUPPORTED, REPEATED, BAD_TYPE = 100, 50, 40, 40, 40, 30


def _csv(rows: list[tuple[str, str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["url", "media_type", "name"])
    writer.writerows(rows)
    return buffer.getvalue().encode()


@pytest.fixture(scope="module")
def catalog(media_server) -> list[tuple[str, str, str]]:
    """A few hundred rows mixing good media, 404s, private addresses, unsupported files and duplicates."""
    photos = [encode(synthetic_photo(700 + i, (160, 120))) for i in range(40)]
    rows = [(media_server.add(f"/bulk/good-{i}.jpg", photos[i % 40], "image/jpeg"), "image", f"good {i}")
            for i in range(GOOD)]  # 40 distinct pictures at 200 URLs: near-duplicate content is still indexed
    rows += [(f"{media_server.base_url}/bulk/missing-{i}.jpg", "image", "") for i in range(MISSING)]
    rows += [(f"http://10.1.2.{i}/private.jpg", "image", "") for i in range(PRIVATE)]
    rows += [(media_server.add(f"/bulk/notes-{i}.txt", b"plain text, not media " * 20, "text/plain"), "image", "")
             for i in range(UNSUPPORTED)]
    rows += [(*rows[i * 3][:2], "again") for i in range(REPEATED)]  # same url and media_type as an earlier row
    rows += [(f"{media_server.base_url}/bulk/x-{i}.jpg", "picture", "") for i in range(BAD_TYPE)]
    return rows


def test_a_csv_of_a_few_hundred_rows_adds_up(api: httpx.Client, runtime, catalog) -> None:
    started = time.monotonic()
    accepted = api.post("/v1/bulk/csv", files={"file": ("catalog.csv", _csv(catalog), "text/csv")})
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["status"] == "queued"
    job_id = accepted.json()["job_id"]
    job = wait_for_job(api, job_id, timeout=120)
    elapsed = time.monotonic() - started

    assert job["status"] == "partial", job
    assert job["kind"] == "csv"
    assert job["total"] == len(catalog)
    assert job["ready"] == GOOD
    assert job["failed"] == MISSING + UNSUPPORTED
    assert job["rejected"] == PRIVATE + REPEATED + BAD_TYPE
    assert_counts_add_up(job)
    assert job["pending"] == job["processing"] == 0

    codes: dict[str, int] = {}
    for error in job["errors"]:
        codes[error["code"]] = codes.get(error["code"], 0) + 1
    assert codes == {"fetch_failed": MISSING, "unsupported_media": UNSUPPORTED, "invalid_url": PRIVATE,
                     "invalid_request": REPEATED + BAD_TYPE}
    rows = [e["row"] for e in job["errors"]]
    assert rows == sorted(rows) and len(set(rows)) == len(rows)
    # Failed assets name their asset; rows refused before they became assets do not.
    assert sum(1 for e in job["errors"] if e["asset_id"]) == job["failed"]

    assets = job_assets(runtime, job_id)
    assert len(assets) == GOOD + MISSING + UNSUPPORTED
    assert {a["asset_id"] for a in assets} == {asset_id_for(job_id, a["job_row"]) for a in assets}
    assert sum(a["status"] == "ready" for a in assets) == GOOD

    report = httpx.get(job["error_report_url"], timeout=30)
    assert report.status_code == 200
    lines = list(csv.reader(io.StringIO(report.text)))
    assert lines[0] == ["row", "url", "code", "message", "asset_id"]
    assert len(lines) - 1 == job["failed"] + job["rejected"]
    print(f"\n{len(catalog)} rows in {elapsed:.1f} s")  # shown with -s


def test_redelivered_messages_and_a_repeated_fan_out_duplicate_nothing(api: httpx.Client, runtime) -> None:
    gated = MediaServer(gate=threading.Event())  # rows stay in flight until the gate opens
    try:
        rows = [(gated.add(f"/{i}.jpg", encode(synthetic_photo(800 + i, (160, 120)))), "image", "")
                for i in range(6)]
        rows.append((f"{gated.base_url}/missing.jpg", "image", ""))
        job_id = api.post("/v1/bulk/csv", files={"file": ("c.csv", _csv(rows), "text/csv")}).json()["job_id"]
        project = runtime.credentials.project_id
        deadline = time.monotonic() + 30
        while len(job_assets(runtime, job_id)) < len(rows):
            assert time.monotonic() < deadline, "the rows were never fanned out"
            time.sleep(0.1)
        # Mid-job, the fan-out step runs again (the state machine retrying it) and every index
        # message is delivered twice more (SQS is at-least-once).
        fan_out = client("lambda").invoke(
            FunctionName=runtime.stack.physical_name("BulkFanOutFunction"),
            Payload=json.dumps({"project_id": project, "job_id": job_id, "chunk": 0, "chunks": 1}).encode())
        assert "FunctionError" not in fan_out, fan_out["Payload"].read()
        assert json.loads(fan_out["Payload"].read())["chunk"] == 1
        _redeliver(runtime, job_id)
        assert api.get(f"/v1/jobs/{job_id}").json()["status"] == "running"
        gated.gate.set()
        job = wait_for_job(api, job_id)
    finally:
        gated.close()
    assert (job["ready"], job["failed"], job["total"]) == (6, 1, 7)

    _redeliver(runtime, job_id)  # and once more after the job finished
    time.sleep(3)
    again = api.get(f"/v1/jobs/{job_id}").json()
    for counter in ("total", "pending", "processing", "ready", "failed", "rejected"):
        assert again[counter] == job[counter], counter
    assets = job_assets(runtime, job_id)
    assert len(assets) == 7 and len({a["asset_id"] for a in assets}) == 7
    assert sorted(a["status"] for a in assets) == ["failed"] + ["ready"] * 6


def _redeliver(runtime, job_id: str) -> None:
    sqs = client("sqs")
    for asset in job_assets(runtime, job_id):
        for _ in range(2):
            sqs.send_message(QueueUrl=runtime.stack.ref("IndexQueue"), MessageBody=json.dumps(
                {"project_id": runtime.credentials.project_id, "asset_id": asset["asset_id"]}))


def test_csv_url_and_upload_are_accepted_and_a_bad_header_fails_the_job(api: httpx.Client, media_server) -> None:
    photo = media_server.add("/via-url/p.jpg", encode(synthetic_photo(901, (160, 120))), "image/jpeg")
    csv_url = media_server.add("/via-url/list.csv", _csv([(photo, "image", "from a url")]), "text/csv")
    job = wait_for_job(api, api.post("/v1/bulk/csv", json={"csv_url": csv_url}).json()["job_id"])
    assert job["status"] == "succeeded" and job["ready"] == job["total"] == 1 and job["errors"] == []
    assert job["error_report_url"] is None

    body = _csv([(photo, "image", "uploaded list")])
    upload = api.post("/v1/uploads", json={"filename": "list.csv", "content_type": "text/csv",
                                           "bytes": len(body)}).json()
    assert httpx.put(upload["upload_url"], content=body, headers={"content-type": "text/csv"}).status_code == 200
    job = wait_for_job(api, api.post("/v1/bulk/csv", json={"csv_url": f"upload://{upload['upload_id']}"})
                       .json()["job_id"])
    assert job["status"] == "succeeded" and job["ready"] == 1

    headless = media_server.add("/via-url/headless.csv", f"{photo},image,x\n".encode(), "text/csv")
    job = wait_for_job(api, api.post("/v1/bulk/csv", json={"csv_url": headless}).json()["job_id"])
    assert job["status"] == "failed" and job["error"]["code"] == "invalid_request"
    assert job["total"] == 0

    refused = api.post("/v1/bulk/csv", files={"file": ("h.csv", f"{photo},image,x\n".encode(), "text/csv")})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_request"
    private = api.post("/v1/bulk/csv", json={"csv_url": "http://169.254.169.254/list.csv"})
    assert private.status_code == 400 and private.json()["error"]["code"] == "invalid_url"
    assert api.post("/v1/bulk/csv", json={}).status_code == 400


def test_the_error_report_is_safe_to_open_in_a_spreadsheet(api: httpx.Client, media_server) -> None:
    rows = [("=HYPERLINK(\"http://evil.example\")", "image", ""), ("@SUM(1+1)", "image", "")]
    job = wait_for_job(api, api.post("/v1/bulk/csv", files={"file": ("f.csv", _csv(rows), "text/csv")})
                       .json()["job_id"])
    assert job["status"] == "failed" and job["rejected"] == 2
    report = httpx.get(job["error_report_url"], timeout=30).text
    cells = [line[1] for line in csv.reader(io.StringIO(report))][1:]
    assert cells == ["'=HYPERLINK(\"http://evil.example\")", "'@SUM(1+1)"]
