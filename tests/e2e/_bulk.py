"""Helpers for bulk job tests."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


class GatedMediaServer:
    """Serves bytes from 127.0.0.1 only once ``gate`` is set: holds rows in the middle of processing."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.gate = threading.Event()
        files, gate = self.files, self.gate

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                gate.wait(30)
                body = files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, path: str, body: bytes) -> str:
        self.files[path] = body
        return self.base_url + path

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
