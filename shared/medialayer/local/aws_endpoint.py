"""The embedded AWS-compatible endpoint: moto in server mode on the loopback interface."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from medialayer.local import moto_dynamodb


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _OneDynamoDbRequestAtATime:
    """DynamoDB makes each item write atomic; moto's in-memory tables do not under threads (an ``ADD``
    is a read-modify-write, and a transaction deep-copies the tables to roll back). Concurrent workers
    would lose counter updates, so DynamoDB requests are served one at a time; other services are not
    held up (an SQS long poll must not block, nor a Lambda invoke whose handler calls DynamoDB)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with self.lock:
            return list(self.app(environ, start_response))


class _MotoServer(ThreadedMotoServer):
    def _server_entry(self) -> None:
        # As ThreadedMotoServer does, with the DynamoDB guard around moto's app.
        app = _OneDynamoDbRequestAtATime(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


class EmbeddedAws:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = _MotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    def start(self) -> None:
        # moto's werkzeug server logs every request, and the pollers make one a second.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        moto_dynamodb.install()
        self._server.start()
        # moto's Step Functions calls Lambda and the other services through this port.
        os.environ["MOTO_PORT"] = str(self.port)
        # Step Functions executes state machines (bulk jobs) instead of only recording them.
        request = urllib.request.Request(
            f"{self.url}/moto-api/config", method="POST",
            data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
            headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=10).close()

    def stop(self) -> None:
        self._server.stop()
