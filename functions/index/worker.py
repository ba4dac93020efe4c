"""IndexWorker: fingerprints queued assets, and objects put under a project's ingest/ prefix (S3 events)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

from medialayer.dal.idempotency import idempotency_layer
from medialayer.logic.indexing import ingest_object, process_asset
from medialayer.observability import logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS)
# A redelivered S3 event must not index the same object twice (queued assets are idempotent by id).
idempotency = IdempotencyConfig(event_key_jmespath="[key, sequencer]", expires_after_seconds=24 * 3600)


@idempotent_function(data_keyword_argument="event", persistence_store=idempotency_layer(), config=idempotency)
def _ingest(event: dict[str, Any]) -> dict[str, Any]:
    asset = ingest_object(event["key"], event["size"], event["sequencer"])
    return {"asset_id": asset.asset_id if asset else None, "status": asset.status if asset else None}


def _handle(record: SQSRecord) -> None:
    body = json.loads(record.body)
    if "asset_id" in body:
        asset = process_asset(body["project_id"], body["asset_id"], stored=bool(body.get("stored")))
        if asset is not None:
            metrics.add_metric(name=f"Assets{asset.status.capitalize()}", unit=MetricUnit.Count, value=1)
        return
    for s3_record in body.get("Records", []):  # S3 ObjectCreated under ingest/
        obj = s3_record["s3"]["object"]
        _ingest(event={"key": unquote_plus(obj["key"]), "size": int(obj.get("size", 0)),
                       "sequencer": obj.get("sequencer", "")})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=_handle, processor=processor, context=context)
