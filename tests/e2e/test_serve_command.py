"""`make serve`'s program starts everything, answers /health, and writes the dev credentials."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx

from medialayer.local.aws_endpoint import free_port


def test_serve_starts_the_whole_service(tmp_path, repo_root) -> None:
    port = free_port()
    creds_path = tmp_path / "creds.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(MEDIALAYER_PORT=str(port), MEDIALAYER_DEV_CREDENTIALS=str(creds_path))
    proc = subprocess.Popen([sys.executable, "-m", "medialayer.local.serve"], cwd=repo_root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code
                if status == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        assert status == 200, "service never became healthy"
        creds = json.loads(creds_path.read_text())
        assert {"api_key", "owner_token", "project_id", "base_url"} <= set(creds)
        assert creds["base_url"] == f"http://127.0.0.1:{port}"
        empty = httpx.post(f"{creds['base_url']}/image/match", headers={"x-api-key": creds["api_key"]}, json={})
        assert empty.json()["error"]["code"] == "invalid_request"  # authenticated, then validated
    finally:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=30)[0]
    assert creds["api_key"] in output  # the key is printed for the developer
