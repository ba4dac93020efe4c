"""Two deliveries of one index message processed at the same time (SQS is at-least-once) against the
local DynamoDB: the asset becomes ready once, and the project's ready-asset counter (plan caps) and
its bulk job's counters count it once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from medialayer.dal.assets import AssetRepository
from medialayer.dal.jobs import JobRepository
from medialayer.logic.indexing import process_asset
from medialayer.logic.secrets import new_id
from medialayer.models.assets import Asset
from medialayer.models.common import MediaType
from medialayer.models.jobs import JobRecord
from tests.conftest import MediaServer, encode, synthetic_photo
from tests.e2e._tenancy import new_org


def _pending_asset(project_id: str, url: str, job_id: str | None) -> Asset:
    now = datetime.now(UTC)
    asset = Asset(asset_id=new_id("ast"), project_id=project_id, media_type=MediaType.image, status="pending",
                  source=url, created_at=now, updated_at=now, job_id=job_id, job_row=2 if job_id else None)
    AssetRepository().put(asset)
    return asset


def _job_of_one_row(project_id: str) -> str:
    now = datetime.now(UTC)
    jobs = JobRepository()
    job = JobRecord(job_id=new_id("job"), project_id=project_id, kind="csv", status="running", source="input.csv",
                    index_types=[MediaType.image], created_at=now, updated_at=now)
    jobs.put(job)
    jobs.start_counting(project_id, job.job_id, total=1, pending=1, rejected=0, chunks=1, now=now.isoformat())
    return job.job_id


@pytest.mark.parametrize("in_a_job", [False, True], ids=["single-asset", "bulk-row"])
def test_two_processors_racing_on_one_message_count_the_asset_once(runtime, in_a_job: bool) -> None:
    project_id = new_org(runtime.base_url, "ReadyRace").project_id
    gated = MediaServer(gate=threading.Event())  # both processors wait here, past their status checks
    try:
        url = gated.add("/race.jpg", encode(synthetic_photo(1030, (160, 120))), "image/jpeg")
        job_id = _job_of_one_row(project_id) if in_a_job else None
        asset = _pending_asset(project_id, url, job_id)
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = [pool.submit(process_asset, project_id, asset.asset_id) for _ in range(2)]
            deadline = time.monotonic() + 30
            while len(gated.requested) < 2:
                assert time.monotonic() < deadline, "the two processors never both fetched the media"
                assert not any(r.done() for r in results), [r.result() for r in results if r.done()]
                time.sleep(0.05)
            gated.gate.set()  # both fingerprint and race to mark the asset ready
            finished = [r.result(timeout=60) for r in results]
    finally:
        gated.close()

    assert [a.status for a in finished if a is not None] == ["ready", "ready"]
    assert AssetRepository().get(project_id, asset.asset_id).status == "ready"
    assert AssetRepository().ready_counts(project_id) == {"image": 1}
    if job_id is not None:
        job = JobRepository().get(project_id, job_id)
        assert (job.ready, job.pending, job.processing, job.failed) == (1, 0, 0, 0)
