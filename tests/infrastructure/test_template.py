"""The SAM template is valid, and the code it deploys is the code the local runtime serves."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from fastapi.routing import APIRoute

from medialayer.local.functions import load_module
from medialayer.local.template import TEMPLATE_PATH, Stack, load_template

ROOT = TEMPLATE_PATH.parents[1]


def _tool(name: str) -> str:
    # The project's pinned tools first (the venv, then the SAM venv on PATH), not whatever else is installed.
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed (make test installs it)")
        pytest.skip(f"{name} is not installed; `make test` installs it")
    return found


def test_cfn_lint_passes() -> None:
    result = subprocess.run([_tool("cfn-lint"), str(TEMPLATE_PATH)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_passes() -> None:
    result = subprocess.run([_tool("sam"), "validate", "--lint", "--template-file", str(TEMPLATE_PATH),
                             "--region", "us-east-1"], capture_output=True, text=True,
                            env={**os.environ, "SAM_CLI_TELEMETRY": "0"})
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_route_a_function_serves_is_declared_in_the_template() -> None:
    stack = Stack(load_template(), "drift-check", "us-east-1")
    for spec in stack.functions():
        if not spec.http_routes:
            continue
        served = {(method, route.path) for router in load_module(spec).routers for route in router.routes
                  if isinstance(route, APIRoute) for method in route.methods}
        assert served == set(spec.http_routes), spec.logical_id


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        match = re.match(r"^\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([^\s;#]+)", line)
        if match:
            pins[match.group(1).lower()] = match.group(3)
    return pins


def test_lambda_requirements_pin_the_versions_the_project_is_tested_with() -> None:
    project = _pins(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    files = [ROOT / "shared" / "requirements.txt", ROOT / "layers" / "ffmpeg" / "requirements.txt",
             *ROOT.glob("functions/*/requirements.txt")]
    for path in files:
        for name, version in _pins(path.read_text().splitlines()).items():
            assert project.get(name) == version, f"{path.relative_to(ROOT)}: {name}=={version} vs pyproject"
