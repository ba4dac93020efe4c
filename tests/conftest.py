"""Shared fixtures: the whole local runtime (embedded AWS endpoint, API, workers) for a test session,
and a loopback HTTP server to serve media from."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

# Before medialayer is imported anywhere: no X-Ray or EMF output in tests; media may come from loopback.
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ["MEDIALAYER_ALLOW_PRIVATE_NETWORKS"] = "127.0.0.0/8"
# Test plans: a roomy default, and small ones the quota tests switch organisations to.
os.environ["MEDIALAYER_PLANS"] = str(Path(__file__).with_name("plans.json"))
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("MEDIALAYER_STACK_NAME", None)


@pytest.fixture(scope="session")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from medialayer.local.runtime import LocalRuntime

    rt = LocalRuntime(port=0, credentials_path=tmp_path_factory.mktemp("creds") / "dev-credentials.json")
    rt.start()
    yield rt
    rt.stop()


@pytest.fixture(scope="session")
def api(runtime) -> Iterator[httpx.Client]:
    """An HTTP client for the local API, authenticated with the dev tenant's all-scopes key."""
    with httpx.Client(base_url=runtime.base_url, headers={"x-api-key": runtime.credentials.api_key},
                      timeout=60) as client:
        yield client


class MediaServer:
    """Serves registered byte strings from 127.0.0.1, so URL-based endpoints can be exercised for real.

    With a ``gate``, every answer waits until it is set (up to 30 s): work stays in flight meanwhile.
    ``requested`` lists the paths asked for, in order (those held at the gate included)."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.gate = gate
        self.requested: list[str] = []
        files, requested = self.files, self.requested

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requested.append(self.path)
                if gate is not None:
                    gate.wait(30)
                if self.path not in files:
                    self.send_error(404)
                    return
                body, content_type = files[self.path]
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, path: str, body: bytes, content_type: str = "application/octet-stream") -> str:
        self.files[path] = (body, content_type)
        return self.base_url + path

    def close(self) -> None:
        if self.gate is not None:
            self.gate.set()
        self.server.shutdown()


@pytest.fixture(scope="session")
def media_server() -> Iterator[MediaServer]:
    server = MediaServer()
    yield server
    server.server.shutdown()


def synthetic_photo(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A photo-like test image: smooth random structure at several scales plus a few shapes."""
    rng = np.random.default_rng(seed)
    w, h = size
    canvas = np.zeros((h, w, 3), dtype=np.float64)
    for scale in (4, 8, 16, 32):
        small = rng.random((scale * h // w + 1, scale, 3))
        layer = Image.fromarray((small * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC)
        canvas += np.asarray(layer, dtype=np.float64) / scale
    canvas = 255 * (canvas - canvas.min()) / (np.ptp(canvas) + 1e-9)
    return Image.fromarray(canvas.astype(np.uint8))


def encode(image: Image.Image, fmt: str = "JPEG", **kwargs: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]
