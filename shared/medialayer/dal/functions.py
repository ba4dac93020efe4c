"""Invoking another of the service's Lambda functions synchronously (search shards)."""

from __future__ import annotations

import json
from typing import Any

from medialayer.dal.clients import client
from medialayer.errors import MediaLayerError


def invoke(function_name: str, event: dict[str, Any]) -> Any:
    """The function's JSON result; its failure becomes an ``internal_error``."""
    out = client("lambda").invoke(FunctionName=function_name, Payload=json.dumps(event).encode())
    payload = out["Payload"].read()
    if out.get("FunctionError"):
        raise MediaLayerError("internal_error", f"{function_name} failed: {payload[:300].decode(errors='replace')}")
    return json.loads(payload)
