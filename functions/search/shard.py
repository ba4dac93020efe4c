"""SearchShardFunction: one shard of a large index, invoked by the search function (not over HTTP)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from medialayer.logic.search import search_shard
from medialayer.observability import logger, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, float]:
    return search_shard(event)
