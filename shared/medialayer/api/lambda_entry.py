"""Lambda entry points with Powertools: FastAPI apps behind API Gateway, and SQS workers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
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


def sqs_handler(record_handler: Callable[[SQSRecord], None],
                idempotency: IdempotencyConfig | None = None) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """An SQS-triggered worker: each record handled on its own, failures reported per record so only
    they are retried (and, past the queue's maxReceiveCount, moved to its DLQ)."""

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if idempotency is not None:
            idempotency.register_lambda_context(context)
        # A processor per batch: it keeps the batch's outcomes, and the local runtime (medialayer.local)
        # runs several batches of one function at once, where a shared one would mix their failures up.
        processor = BatchProcessor(event_type=EventType.SQS)
        return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                        context=context)

    return handler


def s3_objects(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The objects of an S3 event notification delivered through SQS: ``key``, ``size``, ``sequencer``.

    S3's one-off ``s3:TestEvent`` (sent when a notification is configured) has no records.
    """
    for record in body.get("Records", []):
        obj = record["s3"]["object"]
        yield {"key": unquote_plus(obj["key"]), "size": int(obj.get("size", 0)), "sequencer": obj.get("sequencer", "")}
