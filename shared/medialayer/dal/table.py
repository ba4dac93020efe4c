"""The single-table layout of MediaLayer's DynamoDB table (see docs/data-model.md).

Every item has ``pk``/``sk``; list access patterns use ``gsi1pk``/``gsi1sk``. The key builders
below are the only place key formats are spelled.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from medialayer.dal.clients import client
from medialayer.settings import get_settings

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def org_key(org_id: str) -> dict[str, str]:
    return {"pk": f"ORG#{org_id}", "sk": "ORG"}


def user_key(user_id: str) -> dict[str, str]:
    return {"pk": f"USER#{user_id}", "sk": "USER"}


def project_key(project_id: str) -> dict[str, str]:
    return {"pk": f"PROJECT#{project_id}", "sk": "PROJECT"}


def api_key_key(secret_hash: str) -> dict[str, str]:
    return {"pk": f"APIKEY#{secret_hash}", "sk": "APIKEY"}


def user_token_key(secret_hash: str) -> dict[str, str]:
    return {"pk": f"TOKEN#{secret_hash}", "sk": "TOKEN"}


def upload_key(project_id: str, upload_id: str) -> dict[str, str]:
    return {"pk": f"PROJECT#{project_id}", "sk": f"UPLOAD#{upload_id}"}


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in item.items() if v is not None}


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


class Table:
    """Thin typed access to the main table; repositories build on it."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or get_settings().table_name

    @property
    def _ddb(self) -> Any:
        return client("dynamodb")

    def get(self, key: dict[str, str], *, consistent: bool = False) -> dict[str, Any] | None:
        out = self._ddb.get_item(TableName=self.name, Key=serialize(key), ConsistentRead=consistent)
        return deserialize(out["Item"]) if "Item" in out else None

    def put(self, item: dict[str, Any], *, if_absent: bool = False) -> None:
        extra: dict[str, Any] = {}
        if if_absent:
            extra["ConditionExpression"] = "attribute_not_exists(pk)"
        self._ddb.put_item(TableName=self.name, Item=serialize(item), **extra)

    def update(self, key: dict[str, str], values: dict[str, Any], *, if_exists: bool = True) -> None:
        names = {f"#f{i}": name for i, name in enumerate(values)}
        vals = {f":v{i}": _serializer.serialize(v) for i, v in enumerate(values.values())}
        extra: dict[str, Any] = {}
        if if_exists:
            extra["ConditionExpression"] = "attribute_exists(pk)"
        self._ddb.update_item(
            TableName=self.name,
            Key=serialize(key),
            UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(values))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=vals,
            **extra,
        )

    def query_gsi1(self, gsi1pk: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": {"S": gsi1pk}},
        }
        while True:
            out = self._ddb.query(**kwargs)
            items.extend(deserialize(i) for i in out.get("Items", []))
            if "LastEvaluatedKey" not in out:
                return items
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]
