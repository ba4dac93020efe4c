"""An index segment: the rows of a set of assets of one medium, immutable once written.

A segment holds, per table, columns of equal length plus an ``asset`` column pointing into its
list of asset ids. New assets arrive as small segments (searchable at once); compaction merges
segments and drops the rows of deleted assets. Stored as an ``.npz`` without pickles, so a
segment read from S3 can never execute anything.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from medialayer.media.base import Tables

FORMAT_VERSION = 1
_ASSETS = "__assets__"
_VERSION = "__version__"


@dataclass(frozen=True)
class Segment:
    asset_ids: np.ndarray  # (n,) str
    tables: Tables  # every table has an int32 ``asset`` column indexing asset_ids

    def __len__(self) -> int:
        return len(self.asset_ids)

    @classmethod
    def of(cls, items: Sequence[tuple[str, Tables]]) -> Segment:
        """A segment from each asset's own rows (``CandidateIndex.rows``)."""
        parts = []
        for position, (_, tables) in enumerate(items):
            parts.append({name: {**columns, "asset": np.full(_rows(columns), position, np.int32)}
                          for name, columns in tables.items()})
        return cls(np.array([asset_id for asset_id, _ in items], dtype=str), _concat(parts))

    @classmethod
    def merge(cls, segments: Iterable[Segment], removed: set[str] | frozenset[str] = frozenset()) -> Segment:
        """One segment with every asset of ``segments`` except ``removed`` (later duplicates win)."""
        segments = list(segments)
        # An asset indexed twice (a retried worker) keeps its last copy only.
        owner: dict[str, tuple[int, int]] = {}
        for s, segment in enumerate(segments):
            for position, asset_id in enumerate(segment.asset_ids.tolist()):
                if asset_id not in removed:
                    owner[asset_id] = (s, position)
        ids = list(owner)
        new_position = {key: i for i, key in enumerate(owner.values())}
        parts = []
        for s, segment in enumerate(segments):
            remap = np.array([new_position.get((s, p), -1) for p in range(len(segment))], dtype=np.int32)
            part = {}
            for name, columns in segment.tables.items():
                positions = remap[columns["asset"]] if len(segment) else np.zeros(0, np.int32)
                keep = positions >= 0
                part[name] = {**{c: v[keep] for c, v in columns.items()}, "asset": positions[keep]}
            parts.append(part)
        return cls(np.array(ids, dtype=str), _concat(parts))

    def to_bytes(self) -> bytes:
        arrays = {_ASSETS: self.asset_ids, _VERSION: np.array([FORMAT_VERSION])}
        for name, columns in self.tables.items():
            for column, values in columns.items():
                arrays[f"{name}/{column}"] = values
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> Segment:
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            if int(data[_VERSION][0]) != FORMAT_VERSION:
                raise ValueError(f"index segment format {int(data[_VERSION][0])}, expected {FORMAT_VERSION}")
            tables: Tables = {}
            for key in data.files:
                if "/" in key:
                    name, column = key.split("/", 1)
                    tables.setdefault(name, {})[column] = data[key]
            return cls(data[_ASSETS], tables)


def _rows(columns: dict[str, np.ndarray]) -> int:
    return len(next(iter(columns.values()))) if columns else 0


def _concat(parts: list[Tables]) -> Tables:
    names = {name for part in parts for name in part}
    out: Tables = {}
    for name in sorted(names):
        present = [part[name] for part in parts if name in part]
        columns = present[0].keys()
        out[name] = {c: np.concatenate([p[c] for p in present]) for c in columns}
    return out
