"""HTTP API Lambda authorizer: resolves the request's API key or user token with the same code the
functions (and the local runtime) use, and passes the verdict on as context."""

from __future__ import annotations

from typing import Any

from medialayer.logic.auth import authorizer_context
from medialayer.observability import logger


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # Always authorised: a refusal is answered by the function, in the one error envelope.
    return {"isAuthorized": True, "context": authorizer_context(event.get("headers") or {})}
