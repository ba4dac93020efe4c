"""Keeping a project's search index in step with its assets: add, tombstone, compact.

A ready asset becomes a one-asset segment plus one manifest update, so it is searchable within
the time of two writes, without rebuilding anything. Once COMPACT_AT segments are live, the worker
queues a compaction that merges the smallest segments into one of at most LARGE_SEGMENT assets,
dropping tombstoned rows; large segments are left alone, so ingest cost stays proportional to new
data and segments stay small enough to spread over search shards (logic/search.py).
"""

from __future__ import annotations

import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from medialayer.dal.assets import IndexQueue
from medialayer.dal.index_store import ManifestRepository, SegmentFiles
from medialayer.index.segment import Segment
from medialayer.media.registry import get_engine
from medialayer.models.common import MediaType
from medialayer.models.index import SegmentInfo
from medialayer.observability import logger

COMPACT_AT = 16
LARGE_SEGMENT = 100_000
# One compaction merges at most this many segments: its manifest update names every input (a
# DynamoDB expression is capped at 4 KB) and a burst of ingest must not make one merge huge.
MAX_MERGE_INPUTS = 32

_reads = ThreadPoolExecutor(max_workers=8, thread_name_prefix="segments")


def new_segment_id() -> str:
    # Time-ordered, so a merge keeps the newest copy of an asset indexed twice.
    return f"seg_{time.time_ns():020d}_{secrets.token_hex(4)}"


def add_to_index(project_id: str, media_type: MediaType, asset_id: str, fingerprint: Any) -> None:
    rows = get_engine(media_type).index_type().rows(fingerprint)
    segment = Segment.of([(asset_id, rows)])
    blob = segment.to_bytes()
    segment_id = new_segment_id()
    SegmentFiles().put(SegmentFiles.key(project_id, media_type.value, segment_id), blob)
    live = ManifestRepository().add_segment(project_id, media_type.value, segment_id,
                                            SegmentInfo(assets=1, bytes=len(blob)))
    # One request per COMPACT_AT // 2 new segments, not one per asset: a bulk job's burst would
    # otherwise queue hundreds of compactions that mostly lose their races.
    if live >= COMPACT_AT and live % max(1, COMPACT_AT // 2) == 0:
        IndexQueue().send({"compact": {"project_id": project_id, "media_type": media_type.value}})


def remove_from_index(project_id: str, media_type: MediaType, asset_id: str) -> None:
    """Unsearchable at once: every search filters tombstones until compaction drops the rows."""
    ManifestRepository().add_tombstones(project_id, media_type.value, {asset_id})


def compact(project_id: str, media_type: str, large: int = LARGE_SEGMENT) -> str | None:
    """Merge the small live segments into one; returns the new segment id (None: nothing to do)."""
    manifests = ManifestRepository()
    files = SegmentFiles()
    manifest = manifests.get(project_id, media_type)
    # Smallest first, while the merged segment stays under ``large`` assets: a shard's unit.
    inputs, total = [], 0
    for sid, info in sorted(manifest.segments.items(), key=lambda item: (item[1].assets, item[0])):
        if info.assets >= large or (inputs and total + info.assets > large) or len(inputs) == MAX_MERGE_INPUTS:
            break
        inputs.append(sid)
        total += info.assets
    inputs.sort()
    if len(inputs) < 2 and not (inputs and manifest.tombstones):
        return None
    keys = [files.key(project_id, media_type, sid) for sid in inputs]
    blobs = list(_reads.map(files.get, keys))
    segments = [Segment.from_bytes(b) for b in blobs if b is not None]
    present = {a for s in segments for a in s.asset_ids.tolist()}
    # With no large segment left out, every tombstone is settled by this merge.
    applied = manifest.tombstones if len(inputs) == len(manifest.segments) else manifest.tombstones & present
    merged = Segment.merge(segments, removed=manifest.tombstones)
    new_id: str | None = None
    info = None
    if len(merged):
        new_id = new_segment_id()
        blob = merged.to_bytes()
        info = SegmentInfo(assets=len(merged), bytes=len(blob))
        files.put(files.key(project_id, media_type, new_id), blob)
    # Tombstones of assets only in large segments stay until those are rewritten.
    if not manifests.replace(project_id, media_type, inputs, new_id, info, applied):
        logger.info("compaction lost a race; discarding its output", extra={"project_id": project_id})
        if new_id:
            files.delete(files.key(project_id, media_type, new_id))
        return None
    files.delete(*keys)
    if len(manifest.segments) - len(inputs) + 1 >= COMPACT_AT:  # a backlog past MAX_MERGE_INPUTS: go on
        IndexQueue().send({"compact": {"project_id": project_id, "media_type": media_type}})
    logger.info("index compacted", extra={"project_id": project_id, "media_type": media_type,
                                          "inputs": len(inputs), "assets": len(merged)})
    return new_id
