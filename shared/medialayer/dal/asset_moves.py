"""Asset status changes and deletions, each one DynamoDB transaction with every counter it moves.

A change holds only while the stored asset still has the status its writer read. In the same
transaction go the project's ready-asset counter (plan caps) when an asset becomes ready or a ready
one is deleted, and, for a bulk job's asset, the job's counters and the row's error. So a duplicate
or late writer changes and counts nothing, a crash cannot fall between two writes, and the counters
always agree with the assets (docs/architecture.md, Bulk jobs).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from medialayer.dal.assets import asset_item
from medialayer.dal.clients import client
from medialayer.dal.jobs import job_error_key, job_key
from medialayer.dal.table import Table, asset_count_key, asset_key, serialize
from medialayer.models.assets import Asset
from medialayer.models.jobs import RowError

_CONFLICT_ATTEMPTS = 5  # DynamoDB cancels a transaction that races another on the same item


class Outcome(StrEnum):
    DONE = "done"
    STALE = "stale"  # the stored asset is gone or no longer in the status the change started from
    OVER_CAP = "over_cap"  # becoming ready would pass the plan's cap on ready assets


def _values(values: dict[str, Any]) -> dict[str, Any]:
    # SET needs None as NULL; ``serialize`` leaves None attributes out.
    return {k: {"NULL": True} if v is None else serialize({k: v})[k] for k, v in values.items()}


class AssetMoves:
    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()

    @property
    def _ddb(self) -> Any:
        return client("dynamodb")

    def move(self, asset: Asset, from_status: str, *, ready_limit: int | None = None,
             row_error: RowError | None = None) -> Outcome:
        """Store ``asset`` if the stored one is still ``from_status``, with the counters its new status moves."""
        values = {k: v for k, v in asset_item(asset).items() if k not in ("pk", "sk")}
        names = {f"#f{i}": k for i, k in enumerate(values)}
        items = [{"Update": {
            "TableName": self.table.name, "Key": serialize(asset_key(asset.project_id, asset.asset_id)),
            "UpdateExpression": "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(values))),
            "ConditionExpression": "#s = :from", "ExpressionAttributeNames": {**names, "#s": "status"},
            "ExpressionAttributeValues": _values({**{f":v{i}": v for i, v in enumerate(values.values())},
                                                  ":from": from_status})}}]
        if asset.status == "ready" and from_status != "ready":
            items.append(self._count_ready(asset, 1, ready_limit))
        job_items = self._job_items(asset, from_status, asset.status, row_error)
        return self._transact(items, job_items)

    def delete(self, asset: Asset, row_error: RowError | None = None) -> Outcome:
        """Delete ``asset`` if the stored one still has its status: a ready one leaves the ready count; a bulk
        job's unfinished one ends its row (failed, with ``row_error``) so the job need not wait for it."""
        items = [{"Delete": {
            "TableName": self.table.name, "Key": serialize(asset_key(asset.project_id, asset.asset_id)),
            "ConditionExpression": "#s = :s", "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": serialize({":s": asset.status})}}]
        if asset.status == "ready":
            items.append(self._count_ready(asset, -1, None))
        job_items: list[dict[str, Any]] = []
        if asset.status in ("pending", "processing"):
            job_items = self._job_items(asset, asset.status, "failed", row_error)
        return self._transact(items, job_items)

    def _count_ready(self, asset: Asset, amount: int, limit: int | None) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self.table.name, "Key": serialize(asset_count_key(asset.project_id)),
            "UpdateExpression": "ADD #m :n", "ExpressionAttributeNames": {"#m": asset.media_type.value},
            "ExpressionAttributeValues": serialize({":n": amount})}
        if limit is not None:
            update["ConditionExpression"] = "attribute_not_exists(#m) OR #m <= :max"
            update["ExpressionAttributeValues"] |= serialize({":max": limit - amount})
        return {"Update": update}

    def _job_items(self, asset: Asset, from_status: str, to_status: str,
                   row_error: RowError | None) -> list[dict[str, Any]]:
        if asset.job_id is None or from_status == to_status:
            return []
        items: list[dict[str, Any]] = [{"Update": {
            "TableName": self.table.name, "Key": serialize(job_key(asset.project_id, asset.job_id)),
            "UpdateExpression": "ADD #old :minus, #new :one SET updated_at = :now",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeNames": {"#old": from_status, "#new": to_status},
            "ExpressionAttributeValues": serialize({":minus": -1, ":one": 1, ":now": asset.updated_at.isoformat()})}}]
        if row_error is not None:
            item = {**job_error_key(asset.project_id, asset.job_id, row_error.row), **row_error.model_dump(mode="json")}
            items.append({"Put": {"TableName": self.table.name, "Item": serialize(item)}})
        return items

    def _transact(self, items: list[dict[str, Any]], job_items: list[dict[str, Any]]) -> Outcome:
        """``items`` (the asset first, then the ready counter) with ``job_items``; the job's record gone, without."""
        for _ in range(_CONFLICT_ATTEMPTS):
            try:
                self._ddb.transact_write_items(TransactItems=items + job_items)
                return Outcome.DONE
            except self._ddb.exceptions.TransactionCanceledException as exc:
                codes = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            failed = [i for i, code in enumerate(codes) if code == "ConditionalCheckFailed"]
            if not failed:
                continue  # a conflicting transaction: try again
            if failed[0] == 0:
                return Outcome.STALE
            if failed[0] == 1 and len(items) > 1:
                return Outcome.OVER_CAP
            job_items = []  # the job's record is gone: nothing left to count there
        raise RuntimeError("the asset's transaction kept conflicting with others")
