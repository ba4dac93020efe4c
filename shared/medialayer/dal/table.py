"""The single-table layout of MediaLayer's DynamoDB table (see docs/data-model.md).

Every item has ``pk``/``sk``; list access patterns use ``gsi1pk``/``gsi1sk``. The key builders
below are the only place key formats are spelled.
"""

from __future__ import annotations

from decimal import Decimal
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


def asset_key(project_id: str, asset_id: str) -> dict[str, str]:
    return {"pk": f"PROJECT#{project_id}", "sk": f"ASSET#{asset_id}"}


def asset_count_key(project_id: str) -> dict[str, str]:
    return {"pk": f"PROJECT#{project_id}", "sk": "ASSETCOUNT"}


def index_manifest_key(project_id: str, media_type: str) -> dict[str, str]:
    return {"pk": f"PROJECT#{project_id}", "sk": f"INDEX#{media_type}"}


def usage_key(project_id: str, period: str) -> dict[str, str]:
    return {"pk": f"PROJECT#{project_id}", "sk": f"USAGE#{period}"}


def rate_key(key_id: str, second: int) -> dict[str, str]:
    return {"pk": f"RATE#{key_id}", "sk": str(second)}


def alert_key(project_id: str, period: str, quota: str, percent: int) -> dict[str, str]:
    return {"pk": f"PROJECT#{project_id}", "sk": f"ALERT#{period}#{quota}#{percent:03d}"}


def _dynamo_value(value: Any) -> Any:
    """DynamoDB numbers are decimals: floats (durations) go in through their shortest repr."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _dynamo_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dynamo_value(v) for v in value]
    return value


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(_dynamo_value(v)) for k, v in item.items() if v is not None}


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
        vals = {f":v{i}": _serializer.serialize(_dynamo_value(v)) for i, v in enumerate(values.values())}
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

    def update_expression(self, key: dict[str, str], expression: str, names: dict[str, str],
                          values: dict[str, Any] | None = None, *, condition: str | None = None
                          ) -> dict[str, Any] | None:
        """A raw update: the item as it now is, or None when ``condition`` did not hold."""
        kwargs: dict[str, Any] = {"ExpressionAttributeNames": names, "ReturnValues": "ALL_NEW"}
        if values:
            kwargs["ExpressionAttributeValues"] = serialize(values)
        if condition:
            kwargs["ConditionExpression"] = condition
        try:
            out = self._ddb.update_item(TableName=self.name, Key=serialize(key), UpdateExpression=expression,
                                        **kwargs)
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return None
        return deserialize(out.get("Attributes", {}))

    def batch_get(self, keys: list[dict[str, str]]) -> list[dict[str, Any]]:
        """Items of ``keys`` that exist (consistent reads, any order)."""
        items: list[dict[str, Any]] = []
        for start in range(0, len(keys), 100):  # BatchGetItem's limit
            request = {self.name: {"Keys": [serialize(k) for k in keys[start:start + 100]], "ConsistentRead": True}}
            while request:
                out = self._ddb.batch_get_item(RequestItems=request)
                items.extend(deserialize(i) for i in out.get("Responses", {}).get(self.name, []))
                request = out.get("UnprocessedKeys") or {}
        return items

    def increment(self, key: dict[str, str], counter: str, amount: int, *, limit: int | None,
                  extra: dict[str, Any] | None = None) -> int | None:
        """Atomically add ``amount`` to ``counter`` unless that would pass ``limit``.

        Returns the new value, or None when the limit refused it: DynamoDB evaluates the
        condition and the addition as one step, so parallel callers can never overrun a limit.
        """
        values: dict[str, Any] = {":n": _serializer.serialize(amount)}
        condition = None
        if limit is not None:
            values[":max"] = _serializer.serialize(limit - amount)
            condition = "attribute_not_exists(#c) OR #c <= :max"
        update = "ADD #c :n"
        names = {"#c": counter}
        for i, (name, value) in enumerate((extra or {}).items()):
            names[f"#e{i}"] = name
            values[f":e{i}"] = _serializer.serialize(value)
            update += f" SET #e{i} = :e{i}" if i == 0 else f", #e{i} = :e{i}"
        kwargs: dict[str, Any] = {"ConditionExpression": condition} if condition else {}
        try:
            out = self._ddb.update_item(TableName=self.name, Key=serialize(key), UpdateExpression=update,
                                        ExpressionAttributeNames=names, ExpressionAttributeValues=values,
                                        ReturnValues="UPDATED_NEW", **kwargs)
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return None
        return int(_deserializer.deserialize(out["Attributes"][counter]))

    def query_prefix(self, pk: str, sk_prefix: str) -> list[dict[str, Any]]:
        return self._query({"TableName": self.name, "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                            "ExpressionAttributeValues": {":p": {"S": pk}, ":s": {"S": sk_prefix}}})

    def delete(self, key: dict[str, str]) -> None:
        self._ddb.delete_item(TableName=self.name, Key=serialize(key))

    def query_gsi1_page(self, gsi1pk: str, sk_prefix: str = "", *, limit: int, newest_first: bool = True,
                        start: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One page of a ``gsi1`` partition (optionally narrowed by a sort-key prefix), and the key to
        continue from (None on the last page). Keys are plain values, not DynamoDB's typed form."""
        values = {":p": gsi1pk, **({":s": sk_prefix} if sk_prefix else {})}
        kwargs: dict[str, Any] = {
            "TableName": self.name, "IndexName": "gsi1", "Limit": limit, "ScanIndexForward": not newest_first,
            "KeyConditionExpression": "gsi1pk = :p" + (" AND begins_with(gsi1sk, :s)" if sk_prefix else ""),
            "ExpressionAttributeValues": serialize(values),
        }
        if start:
            kwargs["ExclusiveStartKey"] = serialize(start)
        out = self._ddb.query(**kwargs)
        last = out.get("LastEvaluatedKey")
        return [deserialize(i) for i in out.get("Items", [])], deserialize(last) if last else None

    def query_gsi1(self, gsi1pk: str) -> list[dict[str, Any]]:
        return self._query({"TableName": self.name, "IndexName": "gsi1", "KeyConditionExpression": "gsi1pk = :p",
                            "ExpressionAttributeValues": {":p": {"S": gsi1pk}}})

    def _query(self, kwargs: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            out = self._ddb.query(**kwargs)
            items.extend(deserialize(i) for i in out.get("Items", []))
            if "LastEvaluatedKey" not in out:
                return items
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]
