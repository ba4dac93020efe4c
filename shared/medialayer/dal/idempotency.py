"""Powertools persistence (idempotency records) wired to the configured DynamoDB endpoint."""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from medialayer.dal.clients import client
from medialayer.settings import get_settings


@cache
def idempotency_layer() -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(table_name=get_settings().idempotency_table,
                                    boto3_client=client("dynamodb"))
