"""The embedded AWS-compatible endpoint: moto in server mode on the loopback interface."""

from __future__ import annotations

import json
import logging
import socket
import urllib.request

from moto.server import ThreadedMotoServer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedAws:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    def start(self) -> None:
        # moto's werkzeug server logs every request, and the pollers make one a second.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server.start()
        # Step Functions executes state machines (bulk jobs) instead of only recording them.
        request = urllib.request.Request(
            f"{self.url}/moto-api/config", method="POST",
            data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
            headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=10).close()

    def stop(self) -> None:
        self._server.stop()
