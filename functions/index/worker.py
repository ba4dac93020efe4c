"""IndexWorker: fingerprints queued assets, and objects put under a project's ingest/ prefix (S3 events)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

from medialayer.api.lambda_entry import s3_objects, sqs_handler
from medialayer.dal.idempotency import idempotency_layer
from medialayer.logic.indexing import ingest_object, process_asset
from medialayer.logic.library_index import compact
from medialayer.observability import metrics

# A redelivered S3 event must not index the same object twice (queued assets are idempotent by id).
idempotency = IdempotencyConfig(event_key_jmespath="[key, sequencer]", expires_after_seconds=24 * 3600)


@idempotent_function(data_keyword_argument="event", persistence_store=idempotency_layer(), config=idempotency)
def _ingest(event: dict[str, Any]) -> dict[str, Any]:
    asset = ingest_object(event["key"], event["size"], event["sequencer"])
    return {"asset_id": asset.asset_id if asset else None, "status": asset.status if asset else None}


def _handle(record: SQSRecord) -> None:
    body = json.loads(record.body)
    if "compact" in body:  # queued by add_to_index once a project's index has many small segments
        compact(body["compact"]["project_id"], body["compact"]["media_type"])
        return
    if "asset_id" not in body:
        for obj in s3_objects(body):  # ObjectCreated under ingest/
            _ingest(event=obj)
        return
    asset = process_asset(body["project_id"], body["asset_id"], stored=bool(body.get("stored")))
    if asset is not None:
        metrics.add_metric(name=f"Assets{asset.status.capitalize()}", unit=MetricUnit.Count, value=1)


handler = sqs_handler(_handle, idempotency)
