"""SQS event sources: poll a queue and invoke a worker handler the way Lambda's event source mapping does.

Records the handler reports in ``batchItemFailures`` (or all of them, if it raises) are not deleted:
they become visible again and, after the queue's ``maxReceiveCount``, SQS moves them to the DLQ.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from medialayer.dal.clients import client
from medialayer.local.lambda_context import LocalLambdaContext
from medialayer.observability import logger

Handler = Callable[[dict[str, Any], Any], Any]


class SqsPoller:
    def __init__(self, name: str, queue_url: str, queue_arn: str, handler: Handler, *, batch_size: int = 10,
                 region: str = "us-east-1", retry_after_s: int = 1, timeout_s: float = 60.0,
                 concurrency: int = 1) -> None:
        self.name = name
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.handler = handler
        self.batch_size = min(batch_size, 10)
        self.region = region
        # Lambda waits out the visibility timeout before a retry; locally a failed record is
        # retried after this many seconds so redrive to the DLQ happens in test time.
        self.retry_after_s = retry_after_s
        self.timeout_s = timeout_s
        self.polls = 0
        self._stop = threading.Event()
        # Lambda runs several batches of one event source at once; so do we (bulk jobs queue hundreds).
        self._threads = [threading.Thread(target=self._run, name=f"poller-{name}-{i}", daemon=True)
                         for i in range(max(1, concurrency))]

    @property
    def ready(self) -> bool:
        return all(t.is_alive() for t in self._threads) and self.polls > 0

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once(wait_s=1)
            except Exception:
                logger.exception("poller failed; retrying", extra={"poller": self.name})
                time.sleep(1)

    def poll_once(self, wait_s: int = 0) -> int:
        """Receive one batch and hand it to the handler; returns how many records it carried."""
        sqs = client("sqs")
        out = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=self.batch_size,
                                  WaitTimeSeconds=wait_s, AttributeNames=["All"], MessageAttributeNames=["All"])
        self.polls += 1
        messages = out.get("Messages", [])
        if not messages:
            return 0
        failed = self._invoke(messages)
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
        retry = [m for m in messages if m["MessageId"] in failed]
        if retry:
            sqs.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": self.retry_after_s}
                for i, m in enumerate(retry)])
        return len(messages)

    def _invoke(self, messages: list[dict[str, Any]]) -> set[str]:
        """Call the handler with an SQS event; the ids of the records that failed."""
        event = {"Records": [self._record(m) for m in messages]}
        try:
            response = self.handler(event, LocalLambdaContext(function_name=self.name, timeout_s=self.timeout_s))
        except Exception:
            logger.exception("worker raised; the whole batch is retried", extra={"poller": self.name})
            return {m["MessageId"] for m in messages}
        failures = (response or {}).get("batchItemFailures", []) if isinstance(response, dict) else []
        return {f["itemIdentifier"] for f in failures}

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {name: _lambda_attribute(value)
                                  for name, value in message.get("MessageAttributes", {}).items()},
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.region,
        }


def _lambda_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """SQS API attribute shape (``StringValue``) to Lambda event shape (``stringValue``)."""
    return {"stringValue": value.get("StringValue"), "binaryValue": value.get("BinaryValue"),
            "stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
