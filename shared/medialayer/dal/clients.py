"""boto3 clients built from the one settings object, so no endpoint is ever hard-coded."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from medialayer.settings import get_settings

# Lambda reuses the process: clients are built once per service and endpoint.
_RETRIES = Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=3, read_timeout=20)


@cache
def _client(service: str, endpoint_url: str | None, region: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint_url, region_name=region, config=_RETRIES)


def client(service: str) -> Any:
    """A boto3 client for ``service`` at the configured endpoint (AWS, LocalStack or the embedded one)."""
    settings = get_settings()
    return _client(service, settings.aws_endpoint_url, settings.aws_region)


def reset_clients() -> None:
    """Forget cached clients (after the local runtime changes the endpoint)."""
    _client.cache_clear()
