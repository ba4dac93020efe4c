"""Bulk jobs when something stops them, through the real local runtime: a fan-out that fails half-way,
a Progress step that keeps crashing, an asset deleted while its job runs. Every row must end in a
final state the job counts and reports, and a worker still holding a row must not undo that."""

from __future__ import annotations

import csv
import io
import threading
import time
from typing import Any

import httpx
import pytest

from medialayer.dal.assets import AssetRepository
from medialayer.dal.clients import client
from medialayer.dal.table import Table
from medialayer.local.functions import load_module
from medialayer.logic import bulk_steps
from medialayer.logic.bulk_steps import asset_id_for
from medialayer.settings import get_settings
from tests.conftest import MediaServer, encode, synthetic_photo
from tests.e2e._bulk import wait_for_job
from tests.e2e._tenancy import new_org


def _csv(urls: list[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["url", "media_type"])
    writer.writerows((url, "image") for url in urls)
    return buffer.getvalue().encode()


def _photos(server: MediaServer, prefix: str, count: int, seed: int) -> list[str]:
    return [server.add(f"/{prefix}/{i}.jpg", encode(synthetic_photo(seed + i, (160, 120))), "image/jpeg")
            for i in range(count)]


def _project_client(runtime, name: str) -> tuple[str, httpx.Client]:
    """A fresh project (its ready-asset counter starts at zero) and a client with a key for it."""
    org = new_org(runtime.base_url, name)
    _, key = org.key(["image:index", "jobs:read", "assets:read", "assets:delete"])
    return org.project_id, httpx.Client(base_url=runtime.base_url, headers={"x-api-key": key}, timeout=60)


def _assets(project_id: str, job_id: str) -> dict[int, dict[str, Any]]:
    """The job's asset records by row, straight from the table."""
    items = Table().query_prefix(f"PROJECT#{project_id}", "ASSET#")
    return {int(i["job_row"]): i for i in items if i.get("job_id") == job_id}


def _wait_for_assets(project_id: str, job_id: str, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(_assets(project_id, job_id)) < count:
        assert time.monotonic() < deadline, "the rows were never fanned out"
        time.sleep(0.1)


def _wait_for_index_queue_to_drain(runtime) -> None:
    """Until the index worker has finished every message (including those held at a gate until now)."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    deadline = time.monotonic() + 60
    while True:
        attributes = client("sqs").get_queue_attributes(QueueUrl=runtime.stack.ref("IndexQueue"),
                                                        AttributeNames=names)["Attributes"]
        if all(int(attributes[n]) == 0 for n in names):
            return
        assert time.monotonic() < deadline, f"the index queue is still busy: {attributes}"
        time.sleep(0.2)


def _execution_status(job_id: str) -> str:
    """How the job's state machine execution (named after the job) ended."""
    arn = get_settings().bulk_state_machine_arn.replace(":stateMachine:", ":execution:") + f":{job_id}"
    deadline = time.monotonic() + 30
    while (status := client("stepfunctions").describe_execution(executionArn=arn)["status"]) == "RUNNING":
        assert time.monotonic() < deadline, "the execution is still running"
        time.sleep(0.2)
    return str(status)


def _report_rows(job: dict[str, Any]) -> list[list[str]]:
    report = httpx.get(job["error_report_url"], timeout=30)
    assert report.status_code == 200
    return list(csv.reader(io.StringIO(report.text)))[1:]


def test_a_fan_out_that_stops_half_way_fails_the_rows_it_never_queued(
        api: httpx.Client, runtime, media_server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk_steps, "ROWS_PER_CHUNK", 2)  # six rows, three chunks
    real_send = bulk_steps.send_index_messages
    sends: list[int] = []

    def queue_goes_down_after_the_first_chunk(messages: list[dict]) -> None:
        sends.append(len(messages))
        if len(sends) > 1:
            raise ConnectionError("the index queue is unreachable")
        real_send(messages)

    monkeypatch.setattr(bulk_steps, "send_index_messages", queue_goes_down_after_the_first_chunk)
    urls = _photos(media_server, "halfway", 6, 1000)
    job = wait_for_job(api, api.post("/v1/bulk/csv", files={"file": ("c.csv", _csv(urls), "text/csv")})
                       .json()["job_id"], timeout=90)

    assert sends == [2, 2, 2, 2, 2]  # chunk 0, then chunk 1 and the state machine's three retries
    assert job["status"] == "partial" and job["error"]["code"] == "internal_error"
    assert "ConnectionError" in job["error"]["message"]
    assert (job["total"], job["ready"], job["failed"], job["pending"], job["processing"]) == (6, 2, 4, 0, 0)
    # Rows 2-3 (chunk 0) were queued and became ready; rows 4-5 have assets that never left; rows 6-7
    # were never fanned out at all.
    assert [(e["row"], e["code"]) for e in job["errors"]] == [(row, "not_queued") for row in (4, 5, 6, 7)]
    assert [e["row"] for e in job["errors"] if e["asset_id"]] == [4, 5]
    assets = _assets(runtime.credentials.project_id, job["job_id"])
    assert sorted(assets) == [2, 3, 4, 5]
    assert [assets[r]["status"] for r in (2, 3, 4, 5)] == ["ready", "ready", "failed", "failed"]
    assert assets[4]["error"]["code"] == "not_queued"
    assert [(int(r[0]), r[2]) for r in _report_rows(job)] == [(row, "not_queued") for row in (4, 5, 6, 7)]
    assert _execution_status(job["job_id"]) == "SUCCEEDED"  # the job's failure is in the job, not a lost execution


def test_rows_in_flight_when_progress_keeps_crashing_end_failed_and_late_workers_count_nothing(
        runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    (progress,) = [f for f in runtime.stack.functions() if f.logical_id == "BulkProgressFunction"]
    crashes: list[str] = []

    def broken_progress(event: dict[str, Any], context: Any) -> dict[str, Any]:
        crashes.append(event["job_id"])
        raise RuntimeError("the progress function is broken")

    monkeypatch.setattr(load_module(progress), progress.attribute, broken_progress)
    project_id, api = _project_client(runtime, "BulkProgressCrash")
    gated = MediaServer(gate=threading.Event())  # the rows stay pending or processing until it opens
    try:
        urls = _photos(gated, "inflight", 3, 1010)
        with api:
            job = wait_for_job(api, api.post("/v1/bulk/csv", files={"file": ("c.csv", _csv(urls), "text/csv")})
                               .json()["job_id"], timeout=60)
            assert len(crashes) == 4  # the first attempt and three retries
            assert job["status"] == "failed" and "RuntimeError" in job["error"]["message"]
            assert (job["failed"], job["pending"], job["processing"], job["ready"]) == (3, 0, 0, 0)
            assert [e["code"] for e in job["errors"]] == ["job_failed"] * 3
            assert all(e["asset_id"] for e in job["errors"])
            assert len(_report_rows(job)) == 3
            assert _execution_status(job["job_id"]) == "SUCCEEDED"

            gated.gate.set()  # the workers holding rows now finish them, too late
            _wait_for_index_queue_to_drain(runtime)
            after = api.get(f"/v1/jobs/{job['job_id']}").json()
    finally:
        gated.close()
    for counter in ("ready", "failed", "pending", "processing"):
        assert after[counter] == job[counter], counter
    assert {a["status"] for a in _assets(project_id, job["job_id"]).values()} == {"failed"}
    assert AssetRepository().ready_counts(project_id).get("image", 0) == 0


def test_deleting_an_unfinished_asset_settles_its_row_and_the_job_completes(runtime) -> None:
    project_id, api = _project_client(runtime, "BulkDeleteMidJob")
    gated = MediaServer(gate=threading.Event())
    try:
        urls = _photos(gated, "deleted", 3, 1020)
        with api:
            job_id = api.post("/v1/bulk/csv", files={"file": ("c.csv", _csv(urls), "text/csv")}).json()["job_id"]
            _wait_for_assets(project_id, job_id, 3)
            doomed = asset_id_for(job_id, 3)
            assert api.delete(f"/v1/assets/{doomed}").status_code == 204
            # Settled at once, while the other rows are still held at the gate.
            running = api.get(f"/v1/jobs/{job_id}").json()
            assert running["status"] == "running" and running["failed"] == 1
            assert [(e["row"], e["code"], e["asset_id"]) for e in running["errors"]] == [(3, "deleted", doomed)]

            gated.gate.set()
            job = wait_for_job(api, job_id, timeout=60)
            _wait_for_index_queue_to_drain(runtime)  # a worker that held the deleted row is done too
            assert api.get(f"/v1/assets/{doomed}").status_code == 404
            assert job["status"] == "partial"
            assert (job["total"], job["ready"], job["failed"], job["pending"], job["processing"]) == (3, 2, 1, 0, 0)
            assert [(int(r[0]), r[2]) for r in _report_rows(job)] == [(3, "deleted")]
            assert sorted(_assets(project_id, job_id)) == [2, 4]
            assert AssetRepository().ready_counts(project_id)["image"] == 2

            # A finished row's asset may go too: the ready count follows, the finished job does not change.
            assert api.delete(f"/v1/assets/{asset_id_for(job_id, 2)}").status_code == 204
            assert AssetRepository().ready_counts(project_id)["image"] == 1
            again = api.get(f"/v1/jobs/{job_id}").json()
            assert (again["ready"], again["failed"], again["status"]) == (2, 1, "partial")
    finally:
        gated.close()
