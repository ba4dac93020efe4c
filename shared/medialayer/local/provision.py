"""Create the template's tables, buckets and queues on an AWS-compatible endpoint (idempotent)."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from medialayer.dal.clients import client
from medialayer.local.template import Stack


def provision(stack: Stack) -> None:
    """Create what the template declares, in dependency order; existing resources are kept."""
    _queues(stack)
    for logical_id in stack.of_type("AWS::SNS::Topic"):
        client("sns").create_topic(Name=stack.physical_name(logical_id))
    for logical_id in stack.of_type("AWS::SQS::QueuePolicy"):
        props = stack.resolve(stack.resources[logical_id]["Properties"])
        for url in props["Queues"]:
            client("sqs").set_queue_attributes(QueueUrl=url,
                                               Attributes={"Policy": json.dumps(props["PolicyDocument"])})
    for logical_id in stack.of_type("AWS::DynamoDB::Table"):
        _table(stack, logical_id)
    for logical_id in stack.of_type("AWS::S3::Bucket"):
        _bucket(stack, logical_id)


def provision_state_machines(stack: Stack, role_arn: str) -> None:
    """Create (or update) the template's state machines; their Lambda tasks must exist to run."""
    sfn = client("stepfunctions")
    for spec in stack.state_machines():
        try:
            sfn.create_state_machine(name=spec.name, definition=spec.definition, roleArn=role_arn, type="STANDARD")
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "StateMachineAlreadyExists":
                raise
            sfn.update_state_machine(stateMachineArn=spec.arn, definition=spec.definition, roleArn=role_arn)


def resolve_existing(stack: Stack) -> None:
    """For an already deployed stack: learn the queue URLs that ``Ref`` stands for."""
    for logical_id in stack.of_type("AWS::SQS::Queue"):
        url = client("sqs").get_queue_url(QueueName=stack.physical_name(logical_id))["QueueUrl"]
        stack.physical_refs[logical_id] = url


def _queues(stack: Stack) -> None:
    # Dead-letter queues first: a redrive policy names its target's ARN.
    queue_ids = sorted(stack.of_type("AWS::SQS::Queue"),
                       key=lambda q: "RedrivePolicy" in stack.resources[q].get("Properties", {}))
    for logical_id in queue_ids:
        props = stack.resolve(stack.resources[logical_id].get("Properties", {}))
        attributes = {k: str(props[k]) for k in ("VisibilityTimeout", "MessageRetentionPeriod",
                                                 "DelaySeconds", "ReceiveMessageWaitTimeSeconds")
                      if k in props}
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        url = client("sqs").create_queue(QueueName=stack.physical_name(logical_id),
                                         Attributes=attributes)["QueueUrl"]
        stack.physical_refs[logical_id] = url


def _table(stack: Stack, logical_id: str) -> None:
    props = stack.resolve(stack.resources[logical_id]["Properties"])
    kwargs: dict[str, Any] = {
        "TableName": props["TableName"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    ddb = client("dynamodb")
    try:
        ddb.create_table(**kwargs)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
        return
    ddb.get_waiter("table_exists").wait(TableName=props["TableName"])
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        ddb.update_time_to_live(TableName=props["TableName"], TimeToLiveSpecification=ttl)


def _bucket(stack: Stack, logical_id: str) -> None:
    props = stack.resolve(stack.resources[logical_id].get("Properties", {}))
    name = stack.physical_name(logical_id)
    s3 = client("s3")
    try:
        s3.create_bucket(Bucket=name) if stack.region == "us-east-1" else s3.create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": stack.region})
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(Bucket=name,
                                   PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
    if "VersioningConfiguration" in props:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
    rules = props.get("LifecycleConfiguration", {}).get("Rules", [])
    if rules:
        s3.put_bucket_lifecycle_configuration(
            Bucket=name, LifecycleConfiguration={"Rules": [_lifecycle_rule(r) for r in rules]})
    queues = props.get("NotificationConfiguration", {}).get("QueueConfigurations", [])
    if queues:
        s3.put_bucket_notification_configuration(
            Bucket=name, NotificationConfiguration={"QueueConfigurations": [_queue_notification(q) for q in queues]})


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's lifecycle rule shape to the S3 API's."""
    out: dict[str, Any] = {"ID": rule.get("Id", "rule"), "Status": rule["Status"],
                           "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    return out


def _queue_notification(config: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's QueueConfiguration shape to the S3 API's."""
    out: dict[str, Any] = {"QueueArn": config["Queue"], "Events": [config["Event"]]}
    rules = config.get("Filter", {}).get("S3Key", {}).get("Rules", [])
    if rules:
        out["Filter"] = {"Key": {"FilterRules": rules}}
    return out
