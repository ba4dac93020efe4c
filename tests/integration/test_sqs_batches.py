"""Two SQS batches handled at once by one worker handler (as the local pollers do) keep their own outcomes."""

from __future__ import annotations

import threading
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from medialayer.api.lambda_entry import sqs_handler
from medialayer.local.lambda_context import LocalLambdaContext


def _event(*bodies: str) -> dict[str, Any]:
    return {"Records": [{"messageId": body, "body": body, "receiptHandle": body, "attributes": {},
                         "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                         "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"}
                        for body in bodies]}


def test_concurrent_batches_report_only_their_own_failures() -> None:
    inside = threading.Barrier(2, timeout=10)
    a_failed = threading.Event()

    def handle(record: SQSRecord) -> None:
        if record.body.startswith("first"):
            inside.wait()  # both batches are being processed now
        if record.body == "a-last":
            a_failed.set()  # batch a's failure is recorded: records of one batch run in order
        if record.body == "b-last":
            assert a_failed.wait(10)  # batch b finishes after it
        if record.body.endswith("fails"):
            raise ValueError(record.body)

    handler = sqs_handler(handle)
    results: dict[str, Any] = {}

    def run(name: str, event: dict[str, Any]) -> None:
        results[name] = handler(event, LocalLambdaContext(function_name="Worker", timeout_s=30))

    batches = {"a": _event("first-a", "a-fails", "a-last"), "b": _event("first-b", "b-last")}
    threads = [threading.Thread(target=run, args=item) for item in batches.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert results["a"] == {"batchItemFailures": [{"itemIdentifier": "a-fails"}]}
    assert results["b"] == {"batchItemFailures": []}
