"""Search index storage: segment files in the media bucket, their manifest in the main table.

The manifest item (``INDEX#{media_type}`` under the project) maps live segment ids to their
sizes and holds the tombstones of deleted assets. Adding a segment or a tombstone is one atomic
update that never conflicts with another; compaction swaps its inputs for its output only if all
its inputs are still live, so two compactions racing cannot both win.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from medialayer.dal.clients import client
from medialayer.dal.table import Table, index_manifest_key
from medialayer.models.index import Manifest, SegmentInfo
from medialayer.settings import get_settings


class SegmentFiles:
    """Immutable segment files under ``indexes/{project}/{media_type}/`` of the media bucket."""

    def __init__(self, bucket: str | None = None) -> None:
        self.bucket = bucket or get_settings().media_bucket

    @staticmethod
    def key(project_id: str, media_type: str, segment_id: str) -> str:
        return f"indexes/{project_id}/{media_type}/{segment_id}.seg"

    def put(self, key: str, blob: bytes) -> None:
        client("s3").put_object(Bucket=self.bucket, Key=key, Body=blob)

    def get(self, key: str) -> bytes | None:
        try:
            return client("s3").get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise

    def delete(self, *keys: str) -> None:
        for start in range(0, len(keys), 1000):
            chunk = keys[start:start + 1000]
            if chunk:
                client("s3").delete_objects(Bucket=self.bucket,
                                            Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True})


class ManifestRepository:
    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()

    def get(self, project_id: str, media_type: str) -> Manifest:
        item = self.table.get(index_manifest_key(project_id, media_type), consistent=True) or {}
        return Manifest(segments={k: SegmentInfo(**{f: int(n) for f, n in v.items()})
                                  for k, v in (item.get("segments") or {}).items()},
                        tombstones=set(item.get("tombstones") or ()))

    def add_segment(self, project_id: str, media_type: str, segment_id: str, info: SegmentInfo) -> int:
        """Make a segment live; returns how many segments are live now."""
        key = index_manifest_key(project_id, media_type)
        update = ("SET #s.#id = :info", {"#s": "segments", "#id": segment_id}, {":info": info.model_dump()})
        try:
            item = self.table.update_expression(key, *update)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ValidationException":
                raise
            # The project's first segment: the map must exist before a path into it can be set.
            self.table.update_expression(key, "SET #s = if_not_exists(#s, :empty)", {"#s": "segments"},
                                         {":empty": {}})
            item = self.table.update_expression(key, *update)
        return len((item or {}).get("segments") or {})

    def add_tombstones(self, project_id: str, media_type: str, asset_ids: set[str]) -> None:
        self.table.update_expression(index_manifest_key(project_id, media_type), "ADD #t :ids", {"#t": "tombstones"},
                                     {":ids": set(asset_ids)})

    def replace(self, project_id: str, media_type: str, inputs: list[str], segment_id: str | None,
                info: SegmentInfo | None, applied: set[str]) -> bool:
        """Swap ``inputs`` for ``segment_id`` (None: for nothing) and drop ``applied`` tombstones,
        only if every input is still live. False if another compaction got there first."""
        names: dict[str, str] = {"#s": "segments"}
        values: dict[str, Any] = {}
        removals = []
        conditions = []
        for i, old in enumerate(inputs):
            names[f"#o{i}"] = old
            removals.append(f"#s.#o{i}")
            conditions.append(f"attribute_exists(#s.#o{i})")
        expression = "REMOVE " + ", ".join(removals)
        if segment_id is not None and info is not None:
            names["#new"] = segment_id
            values[":info"] = info.model_dump()
            expression = f"SET #s.#new = :info {expression}"
        if applied:
            names["#t"] = "tombstones"
            values[":applied"] = set(applied)
            expression += " DELETE #t :applied"
        return self.table.update_expression(index_manifest_key(project_id, media_type), expression, names,
                                            values or None, condition=" AND ".join(conditions)) is not None
