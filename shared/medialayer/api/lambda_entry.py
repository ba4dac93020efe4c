"""Wrapping a FastAPI app as a Lambda handler behind API Gateway, with Powertools."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from fastapi import FastAPI
from mangum import Mangum

from medialayer.observability import logger, metrics, tracer


def http_handler(app: FastAPI) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    adapter = Mangum(app, lifespan="off")

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return adapter(event, context)

    return handler
