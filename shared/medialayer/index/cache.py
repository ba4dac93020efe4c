"""What a search function keeps in memory across invocations: loaded segments and fingerprints.

Segments are immutable, so a cached one never goes stale; each search reads the manifest (one
consistent read), loads only the segments it has not seen, and forgets the ones compaction
retired. Fingerprints of recently verified assets are kept in a small LRU.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from medialayer.dal.index_store import ManifestRepository, SegmentFiles
from medialayer.index.segment import Segment
from medialayer.media.base import CandidateIndex
from medialayer.models.index import Manifest

_loads = ThreadPoolExecutor(max_workers=8, thread_name_prefix="segment-load")


@dataclass(frozen=True)
class LoadedSegment:
    segment_id: str
    asset_ids: list[str]
    index: CandidateIndex


def shard_of(segment_id: str, shards: int) -> int:
    """Which of ``shards`` search shards holds a segment: stable, so each shard's cache stays warm."""
    return int(hashlib.blake2b(segment_id.encode(), digest_size=4).hexdigest(), 16) % shards


class SegmentCache:
    def __init__(self) -> None:
        # By (project, media type, shard): in the local runtime one process plays every shard.
        self._segments: dict[tuple[str, str, tuple[int, int]], dict[str, LoadedSegment]] = {}
        self._lock = threading.Lock()

    def live(self, project_id: str, media_type: str, index_type: type[CandidateIndex],
             shard: tuple[int, int] | None = None, manifest: Manifest | None = None
             ) -> tuple[list[LoadedSegment], Manifest]:
        """The project's live segments of ``media_type`` (only shard ``(k, n)``'s, if given), loading
        what is new since the last call."""
        files = SegmentFiles()
        for attempt in range(2):
            if manifest is None or attempt:
                manifest = ManifestRepository().get(project_id, media_type)
            wanted = [sid for sid in manifest.segments if shard is None or shard_of(sid, shard[1]) == shard[0]]
            with self._lock:
                known = dict(self._segments.get((project_id, media_type, shard or (0, 1)), {}))
            missing = [sid for sid in wanted if sid not in known]
            blobs = list(_loads.map(files.get, [files.key(project_id, media_type, sid) for sid in missing]))
            if any(b is None for b in blobs) and attempt == 0:
                continue  # compaction retired a segment between our two reads: read the manifest again
            for sid, blob in zip(missing, blobs, strict=True):
                if blob is not None:
                    segment = Segment.from_bytes(blob)
                    known[sid] = LoadedSegment(sid, segment.asset_ids.tolist(),
                                               index_type(segment.tables, len(segment)))
            live = {sid: known[sid] for sid in wanted if sid in known}
            with self._lock:
                self._segments[(project_id, media_type, shard or (0, 1))] = live
            return list(live.values()), manifest
        raise AssertionError("unreachable")


class FingerprintCache:
    """A small LRU of deserialised fingerprints by (project, media type, asset)."""

    def __init__(self, capacity: int = 512) -> None:
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, str, str], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str], load: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = load()
        if value is not None:
            with self._lock:
                self._items[key] = value
                while len(self._items) > self.capacity:
                    self._items.popitem(last=False)
        return value


segments = SegmentCache()
fingerprints = FingerprintCache()
