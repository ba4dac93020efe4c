"""IndexDeadLetters: an index message that failed on every attempt lands in the index DLQ; its asset
ends ``failed`` (counted by its bulk job, if any) instead of staying ``processing`` for ever."""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from medialayer.api.lambda_entry import sqs_handler
from medialayer.logic.jobs_progress import fail_dead_letter
from medialayer.observability import logger


def _handle(record: SQSRecord) -> None:
    body = json.loads(record.body)
    # The message stays in the logs: consuming it here removes it from the queue.
    logger.error("index message dead-lettered", extra={"body": body})
    if "asset_id" in body:
        fail_dead_letter(body["project_id"], body["asset_id"])


handler = sqs_handler(_handle)
