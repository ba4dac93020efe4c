"""`sam build` works without a container, each function fits Lambda's size limit, and the built
artefacts run: the packaged handler answers an API Gateway event."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from medialayer.local.template import TEMPLATE_PATH, load_template
from tests.infrastructure.test_template import _tool

ROOT = TEMPLATE_PATH.parents[1]
# Lambda's limit for a function's code plus all its layers, unzipped.
UNZIPPED_LIMIT = 250 * 1024 * 1024
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six")


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sam") / "build"
    cache = ROOT / ".aws-sam" / "cache"
    result = subprocess.run(
        [_tool("sam"), "build", "--template-file", str(TEMPLATE_PATH), "--build-dir", str(out),
         "--cached", "--cache-dir", str(cache)],
        capture_output=True, text=True, env={**os.environ, "SAM_CLI_TELEMETRY": "0"}, timeout=1500)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


def _layers_of(function_id: str) -> list[str]:
    template = load_template()
    glob = template.get("Globals", {}).get("Function", {}).get("Layers", [])
    own = template["Resources"][function_id]["Properties"].get("Layers", [])
    return [layer["Ref"] for layer in [*glob, *own]]


def _functions() -> list[str]:
    return [rid for rid, r in load_template()["Resources"].items() if r["Type"] == "AWS::Serverless::Function"]


@pytest.mark.parametrize("function_id", _functions())
def test_function_with_its_layers_fits_lambdas_unzipped_limit(build_dir: Path, function_id: str) -> None:
    total = _size(build_dir / function_id) + sum(_size(build_dir / layer) for layer in _layers_of(function_id))
    assert total < UNZIPPED_LIMIT, f"{function_id}: {total / 2**20:.0f} MiB"


def test_heavy_packages_stay_out_of_functions_that_do_not_need_them(build_dir: Path) -> None:
    assert not (build_dir / "UploadsFunction" / "numpy").exists()
    assert not (build_dir / "CoreLayer" / "python" / "numpy").exists()
    assert (build_dir / "CoreLayer" / "python" / "medialayer" / "__init__.py").exists()
    assert any((build_dir / "FfmpegLayer" / "python").glob("av/__init__.py"))


def _lambda_runtime_sdk(root: Path) -> Path:
    """What the python3.11 runtime itself provides (/var/runtime): the AWS SDK, nothing else."""
    root.mkdir(exist_ok=True)
    for name in RUNTIME_PROVIDED:
        module = importlib.import_module(name)
        source = Path(module.__file__).parent if module.__file__.endswith("__init__.py") else Path(module.__file__)
        target = root / source.name
        if not target.exists():
            target.symlink_to(source)
    return root


def test_built_match_function_answers_an_api_gateway_event(build_dir: Path, tmp_path: Path) -> None:
    """Import the packaged handler the way Lambda does (function dir, layers, runtime SDK) and invoke it."""
    paths = [str(build_dir / "MatchFunction")] + [str(build_dir / layer / "python")
                                                    for layer in _layers_of("MatchFunction")]
    paths.append(str(_lambda_runtime_sdk(tmp_path / "runtime")))
    script = (
        "import json, sys\n"
        "from app import handler\n"
        "class Ctx:\n"
        "    function_name='MatchFunction'; memory_limit_in_mb=3538; aws_request_id='req-1'\n"
        "    invoked_function_arn='arn:aws:lambda:us-east-1:123456789012:function:MatchFunction'\n"
        "for path in ('/no/such/route', '/image/match'):\n"
        "    event = {'version': '2.0', 'routeKey': '$default', 'rawPath': path, 'rawQueryString': '',\n"
        "             'headers': {'content-type': 'application/json'}, 'body': '{}', 'isBase64Encoded': False,\n"
        "             'requestContext': {'http': {'method': 'POST', 'path': path, 'sourceIp': '192.0.2.1',\n"
        "                                'protocol': 'HTTP/1.1'}, 'requestId': 'r', 'stage': '$default'}}\n"
        "    print(json.dumps(handler(event, Ctx())))\n"
    )
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": os.pathsep.join(paths), "AWS_REGION": "us-east-1",
           "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true"}
    result = subprocess.run([sys.executable, "-S", "-c", script], capture_output=True, text=True, env=env,
                            cwd=build_dir, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    not_found, unauthorised = (json.loads(line) for line in result.stdout.strip().splitlines()[-2:])
    assert not_found["statusCode"] == 404
    assert json.loads(not_found["body"])["error"]["code"] == "not_found"
    assert unauthorised["statusCode"] == 401
    assert json.loads(unauthorised["body"])["error"]["code"] == "unauthorized"
