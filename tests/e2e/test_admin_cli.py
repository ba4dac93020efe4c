"""`medialayer admin create-organisation` gives an owner token that works against the running service."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx


def test_create_organisation_prints_a_working_owner_token(runtime) -> None:
    env = {**os.environ}  # the runtime exported its endpoint and table names
    result = subprocess.run([sys.executable, "-m", "medialayer.cli", "admin", "create-organisation",
                             "--name", "Cli Co", "--owner-email", "boss@cli.example", "--plan", "slow"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    me = httpx.get(f"{runtime.base_url}/v1/me", headers={"authorization": f"Bearer {created['owner_token']}"})
    assert me.status_code == 200
    assert me.json()["role"] == "owner"
    assert me.json()["organisation"]["plan"] == "slow"


def test_unknown_plan_is_refused(runtime) -> None:
    result = subprocess.run([sys.executable, "-m", "medialayer.cli", "admin", "set-plan", "--org", "org_nope",
                             "--plan", "slow"], capture_output=True, text=True, env={**os.environ}, timeout=60)
    assert result.returncode == 1
    assert json.loads(result.stderr)["error"]["code"] == "not_found"
