"""The whole service in one process: AWS endpoint, provisioning, API and workers."""

from __future__ import annotations

import os
import threading
import time
import warnings
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from medialayer.api.app import create_app
from medialayer.dal.clients import client, reset_clients
from medialayer.local.aws_endpoint import EmbeddedAws, free_port
from medialayer.local.bootstrap import DevCredentials, ensure_dev_tenant
from medialayer.local.functions import load_handler, load_module
from medialayer.local.lambdas import execution_role, register_functions
from medialayer.local.pollers import SqsPoller
from medialayer.local.provision import provision, provision_state_machines, resolve_existing
from medialayer.local.template import LOCAL_ACCOUNT, Stack, load_template
from medialayer.settings import get_settings

LOCAL_STACK = "medialayer-local"
# Batches in flight per SQS event source (Lambda runs several at once; one process has one GIL).
WORKER_CONCURRENCY = 4


def merged_environment(stack: Stack) -> dict[str, str]:
    """The functions' environment; one process hosts them all, so they must agree."""
    merged: dict[str, str] = {}
    for spec in stack.functions():
        for name, value in spec.environment.items():
            if merged.setdefault(name, value) != value:
                raise ValueError(f"functions disagree on {name}: {merged[name]!r} vs {value!r}")
    return merged


class LocalRuntime:
    def __init__(self, *, port: int | None = None, credentials_path: Path | None = None,
                 retry_after_s: int = 1) -> None:
        settings = get_settings()
        self.port = port if port is not None else settings.port
        self.credentials_path = credentials_path or Path(settings.dev_credentials_path)
        self.retry_after_s = retry_after_s
        self.aws: EmbeddedAws | None = None
        self.stack: Stack | None = None
        self.pollers: list[SqsPoller] = []
        self.app: FastAPI | None = None
        self.credentials: DevCredentials | None = None
        self._server: uvicorn.Server | None = None
        self._server_thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, serve_http: bool = True) -> DevCredentials:
        os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        # Workers flush Powertools metrics per batch; a batch may record none (S3's test event).
        warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)
        deployed_stack = os.environ.get("MEDIALAYER_STACK_NAME")
        if not os.environ.get("AWS_ENDPOINT_URL") and not deployed_stack:
            self.aws = EmbeddedAws()
            self.aws.start()
            os.environ.update(AWS_ENDPOINT_URL=self.aws.url, AWS_ACCESS_KEY_ID="testing",
                              AWS_SECRET_ACCESS_KEY="testing", AWS_SESSION_TOKEN="testing")
        region = os.environ.setdefault("AWS_REGION", "us-east-1")
        os.environ.setdefault("AWS_DEFAULT_REGION", region)
        get_settings.cache_clear()
        reset_clients()

        self.stack = Stack(load_template(), deployed_stack or LOCAL_STACK, region,
                           account=self._account(deployed_stack))
        if deployed_stack:
            resolve_existing(self.stack)
        else:
            provision(self.stack)
        os.environ.update(merged_environment(self.stack))
        get_settings.cache_clear()
        if self.aws is not None:
            # Step Functions tasks (bulk jobs) invoke the template's functions, run in this process.
            register_functions(self.stack)
            provision_state_machines(self.stack, execution_role(self.stack))

        specs = self.stack.functions()
        routers = [r for spec in specs if spec.http_routes for r in load_module(spec).routers]
        self.app = create_app(routers, title="MediaLayer (local)")
        self.app.state.health_checks.append(self._workers_ready)
        for spec in specs:
            for queue_id, batch_size in spec.sqs_sources:
                self.pollers.append(SqsPoller(
                    spec.logical_id, self.stack.ref(queue_id), self.stack.arn(queue_id), load_handler(spec),
                    batch_size=batch_size, region=region, retry_after_s=self.retry_after_s,
                    concurrency=WORKER_CONCURRENCY))
        if self.port == 0:
            self.port = free_port()
        self.credentials = ensure_dev_tenant(self.credentials_path, self.base_url)
        for poller in self.pollers:
            poller.start()
        if serve_http:
            self._serve_in_thread()
        return self.credentials

    def serve_forever(self) -> None:
        """Serve HTTP on this thread until interrupted (``make serve``)."""
        assert self.app is not None
        uvicorn.run(self.app, host="127.0.0.1", port=self.port, log_level="info")

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            if self._server_thread:
                self._server_thread.join(timeout=10)
        for poller in self.pollers:
            poller.stop()
        if self.aws is not None:
            self.aws.stop()

    def _serve_in_thread(self) -> None:
        assert self.app is not None
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._server_thread = threading.Thread(target=self._server.run, name="uvicorn", daemon=True)
        self._server_thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._server_thread.is_alive():
                raise RuntimeError("the HTTP server did not start")
            time.sleep(0.05)

    def _workers_ready(self) -> str | None:
        idle = [p.name for p in self.pollers if not p.ready]
        return f"workers not polling yet: {', '.join(idle)}" if idle else None

    @staticmethod
    def _account(deployed_stack: str | None) -> str:
        if not deployed_stack:
            return LOCAL_ACCOUNT
        return client("sts").get_caller_identity()["Account"]
