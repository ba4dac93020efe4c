"""Helpers for bulk job tests."""

from __future__ import annotations

import time
from typing import Any

import httpx

from medialayer.dal.table import Table

FINISHED = ("succeeded", "partial", "failed")


def wait_for_job(api: httpx.Client, job_id: str, timeout: float = 60) -> dict[str, Any]:
    """Poll GET /v1/jobs/{id} until the job finishes; checks the counters add up at every poll."""
    deadline = time.monotonic() + timeout
    while True:
        response = api.get(f"/v1/jobs/{job_id}")
        assert response.status_code == 200, response.text
        job = response.json()
        assert_counts_add_up(job)
        if job["status"] in FINISHED:
            return job
        assert time.monotonic() < deadline, f"job still {job['status']} after {timeout} s: {job}"
        time.sleep(0.3)


def assert_counts_add_up(job: dict[str, Any]) -> None:
    parts = sum(job[k] for k in ("pending", "processing", "ready", "failed", "rejected"))
    assert parts == job["total"], job


def job_assets(runtime: Any, job_id: str) -> list[dict[str, Any]]:
    """Every asset record of a job, read straight from the table (the API lists by type and status)."""
    items = Table().query_prefix(f"PROJECT#{runtime.credentials.project_id}", "ASSET#")
    return [i for i in items if i.get("job_id") == job_id]
