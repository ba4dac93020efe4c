"""Asset records (main table) and asset bytes and fingerprints (media bucket)."""

from __future__ import annotations

import base64
import json
from typing import Any

from botocore.exceptions import ClientError

from medialayer.dal.clients import client
from medialayer.dal.table import Table, asset_count_key, asset_key
from medialayer.errors import MediaLayerError
from medialayer.models.assets import Asset
from medialayer.settings import get_settings


def _list_sort_key(asset: Asset) -> str:
    # Listing filters on media type and status and pages newest first within them.
    return f"{asset.media_type.value}#{asset.status}#{asset.created_at.isoformat()}#{asset.asset_id}"


def asset_item(asset: Asset) -> dict[str, Any]:
    """An asset's stored item: its record, keyed, with its place in the listing index."""
    return {**asset_key(asset.project_id, asset.asset_id), **asset.model_dump(mode="json"),
            "gsi1pk": f"PROJECT#{asset.project_id}#ASSETS", "gsi1sk": _list_sort_key(asset)}


class AssetRepository:
    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()

    def put(self, asset: Asset) -> None:
        self.table.put(asset_item(asset), if_absent=True)

    def get(self, project_id: str, asset_id: str) -> Asset | None:
        item = self.table.get(asset_key(project_id, asset_id), consistent=True)
        return Asset.model_validate(item) if item else None

    def get_many(self, project_id: str, asset_ids: list[str]) -> list[Asset]:
        if not asset_ids:
            return []
        return [Asset.model_validate(i) for i in self.table.batch_get([asset_key(project_id, a) for a in asset_ids])]

    def list(self, project_id: str, prefix: str, limit: int, cursor: str | None) -> tuple[list[Asset], str | None]:
        items, last = self.table.query_gsi1_page(f"PROJECT#{project_id}#ASSETS", prefix, limit=limit,
                                                 start=_decode_cursor(cursor, project_id) if cursor else None)
        return [Asset.model_validate(i) for i in items], _encode_cursor(last) if last else None

    # -- ready-asset counters per media type (plan caps); they move with status changes (dal/asset_moves.py)
    def ready_counts(self, project_id: str) -> dict[str, int]:
        item = self.table.get(asset_count_key(project_id), consistent=True) or {}
        return {k: int(v) for k, v in item.items() if k not in ("pk", "sk")}


def _encode_cursor(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def _decode_cursor(cursor: str, project_id: str) -> dict[str, Any]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:
        raise MediaLayerError("invalid_request", "cursor is not one this API returned") from None
    if not isinstance(key, dict) or key.get("gsi1pk") != f"PROJECT#{project_id}#ASSETS":
        raise MediaLayerError("invalid_request", "cursor is not one this API returned")
    return key


class MediaStore:
    """Original bytes and fingerprints of assets, under the project's prefix of the media bucket."""

    def __init__(self, bucket: str | None = None) -> None:
        self.bucket = bucket or get_settings().media_bucket

    @property
    def _s3(self) -> Any:
        return client("s3")

    @staticmethod
    def original_key(project_id: str, asset_id: str) -> str:
        return f"originals/{project_id}/{asset_id}"

    @staticmethod
    def fingerprint_key(project_id: str, media_type: str, asset_id: str) -> str:
        return f"fingerprints/{project_id}/{media_type}/{asset_id}.fp"

    def put(self, key: str, data: bytes) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=data)

    def get(self, key: str) -> bytes | None:
        try:
            return self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise

    def delete(self, *keys: str) -> None:
        for key in keys:
            self._s3.delete_object(Bucket=self.bucket, Key=key)


class IndexQueue:
    """Work for the index worker."""

    def send(self, message: dict[str, Any]) -> None:
        client("sqs").send_message(QueueUrl=get_settings().index_queue_url, MessageBody=json.dumps(message))
