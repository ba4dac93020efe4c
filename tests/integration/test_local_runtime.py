"""The local runtime provisions from the template and runs workers like Lambda's SQS event source."""

from __future__ import annotations

import json
import time

import httpx

from medialayer.dal.clients import client


def test_tables_buckets_and_queues_come_from_the_template(runtime) -> None:
    stack = runtime.stack
    for table_id in stack.of_type("AWS::DynamoDB::Table"):
        described = client("dynamodb").describe_table(TableName=stack.physical_name(table_id))["Table"]
        declared = stack.resources[table_id]["Properties"]
        assert described["KeySchema"] == declared["KeySchema"]
        assert len(described.get("GlobalSecondaryIndexes", [])) == len(declared.get("GlobalSecondaryIndexes", []))
    buckets = {b["Name"] for b in client("s3").list_buckets()["Buckets"]}
    assert {stack.physical_name(b) for b in stack.of_type("AWS::S3::Bucket")} <= buckets
    uploads = stack.physical_name("UploadsBucket")
    notification = client("s3").get_bucket_notification_configuration(Bucket=uploads)
    assert notification["QueueConfigurations"][0]["QueueArn"] == stack.arn("UploadEventsQueue")
    attrs = client("sqs").get_queue_attributes(QueueUrl=stack.ref("UploadEventsQueue"),
                                               AttributeNames=["RedrivePolicy", "VisibilityTimeout"])["Attributes"]
    assert json.loads(attrs["RedrivePolicy"])["deadLetterTargetArn"] == stack.arn("UploadEventsDLQ")
    assert attrs["VisibilityTimeout"] == "360"


def test_environment_of_functions_is_the_templates(runtime) -> None:
    from medialayer.settings import get_settings

    settings = get_settings()
    assert settings.table_name == runtime.stack.physical_name("MainTable")
    assert settings.uploads_bucket == runtime.stack.physical_name("UploadsBucket")


def test_health_is_ok_once_workers_poll(runtime) -> None:
    deadline = time.monotonic() + 10
    while True:
        response = httpx.get(f"{runtime.base_url}/health")
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}


def test_failed_records_stay_on_the_queue_and_reach_the_dlq(runtime) -> None:
    sqs = client("sqs")
    queue, dlq = runtime.stack.ref("UploadEventsQueue"), runtime.stack.ref("UploadEventsDLQ")
    # Not an S3 event: the worker reports it as a batch item failure every time.
    sqs.send_message(QueueUrl=queue, MessageBody="this is not json")
    deadline = time.monotonic() + 60
    moved: list[dict] = []
    while not moved and time.monotonic() < deadline:
        moved = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages", [])
    assert moved, "the poison message never reached the dead-letter queue"
    assert moved[0]["Body"] == "this is not json"
    sqs.delete_message(QueueUrl=dlq, ReceiptHandle=moved[0]["ReceiptHandle"])
