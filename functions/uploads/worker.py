"""UploadEvents worker: S3 ObjectCreated notifications (via SQS) mark presigned uploads received."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

from medialayer.dal.idempotency import idempotency_layer
from medialayer.logic.uploads import record_upload_event
from medialayer.observability import logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS)
idempotency = IdempotencyConfig(event_key_jmespath="[key, sequencer]", expires_after_seconds=24 * 3600)


@idempotent_function(data_keyword_argument="event", persistence_store=idempotency_layer(), config=idempotency)
def _record(event: dict[str, Any]) -> dict[str, Any]:
    upload = record_upload_event(event["key"], event["size"])
    if upload is None:
        metrics.add_metric(name="UploadsWithoutSlot", unit=MetricUnit.Count, value=1)
        return {"upload_id": None, "status": None}
    metrics.add_metric(name=f"Uploads{upload.status.capitalize()}", unit=MetricUnit.Count, value=1)
    return {"upload_id": upload.upload_id, "status": upload.status}


def _handle(record: SQSRecord) -> None:
    body = json.loads(record.body)
    # S3 sends one s3:TestEvent when the notification is configured: nothing to do.
    for s3_record in body.get("Records", []):
        obj = s3_record["s3"]["object"]
        _record(event={"key": unquote_plus(obj["key"]), "size": int(obj.get("size", 0)),
                       "sequencer": obj.get("sequencer", "")})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=_handle, processor=processor, context=context)
