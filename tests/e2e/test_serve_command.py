"""`make serve`'s program starts everything, answers /health, and writes the dev credentials;
with AWS_ENDPOINT_URL set it uses that endpoint instead of starting its own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import httpx
from moto.server import ThreadedMotoServer

from medialayer.local.aws_endpoint import free_port


@contextmanager
def _serve(repo_root: Path, creds_path: Path, **extra_env: str) -> Iterator[tuple[dict, list[str]]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(MEDIALAYER_PORT=str(port), MEDIALAYER_DEV_CREDENTIALS=str(creds_path), **extra_env)
    proc = subprocess.Popen([sys.executable, "-m", "medialayer.local.serve"], cwd=repo_root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output: list[str] = []
    try:
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline and proc.poll() is None and status != 200:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code
            except httpx.TransportError:
                time.sleep(0.3)
        assert status == 200, "service never became healthy"
        yield json.loads(creds_path.read_text()), output
    finally:
        proc.send_signal(signal.SIGINT)
        output.append(proc.communicate(timeout=30)[0])


def test_serve_starts_the_whole_service(tmp_path, repo_root) -> None:
    with _serve(repo_root, tmp_path / "creds.json") as (creds, output):
        assert {"api_key", "owner_token", "project_id", "base_url"} <= set(creds)
        empty = httpx.post(f"{creds['base_url']}/image/match", headers={"x-api-key": creds["api_key"]}, json={})
        assert empty.json()["error"]["code"] == "invalid_request"  # authenticated, then validated
    assert creds["api_key"] in output[0]  # the key is printed for the developer


def test_restart_keeps_the_dev_key(tmp_path, repo_root) -> None:
    with _serve(repo_root, tmp_path / "creds.json") as (first, _):
        pass
    with _serve(repo_root, tmp_path / "creds.json") as (second, _):
        assert second["api_key"] == first["api_key"]
        ok = httpx.post(f"{second['base_url']}/image/match", headers={"x-api-key": second["api_key"]}, json={})
        assert ok.status_code == 400  # the re-seeded key authenticates on the fresh endpoint


def test_an_external_endpoint_is_used_instead_of_the_embedded_one(tmp_path, repo_root) -> None:
    external = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    external.start()
    try:
        url = f"http://127.0.0.1:{external._port}"
        with _serve(repo_root, tmp_path / "creds.json", AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="testing",
                    AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1") as (creds, _):
            ddb = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1",
                               aws_access_key_id="testing", aws_secret_access_key="testing")
            assert "medialayer-local-main" in ddb.list_tables()["TableNames"]
            assert creds["api_key"]
    finally:
        external.stop()
