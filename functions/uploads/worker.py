"""UploadEvents worker: S3 ObjectCreated notifications (via SQS) mark presigned uploads received."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

from medialayer.api.lambda_entry import s3_objects, sqs_handler
from medialayer.dal.idempotency import idempotency_layer
from medialayer.logic.uploads import record_upload_event
from medialayer.observability import metrics

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
    for obj in s3_objects(json.loads(record.body)):
        _record(event=obj)


handler = sqs_handler(_handle, idempotency)
