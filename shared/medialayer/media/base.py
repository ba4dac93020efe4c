"""The one small interface every media kind implements.

An engine turns bytes into a decoded form, a decoded form into a fingerprint, and two fingerprints
into a ``Comparison``. The match endpoint, workers and search are written once against this
interface; a new medium adds a folder under ``medialayer/media`` and one line in ``registry.py``.

Search adds the index half: ``CandidateIndex`` turns fingerprints into rows of an index segment
and finds, among a segment's assets, the few worth an exact ``compare`` with a query.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np

from medialayer.models.common import MediaType
from medialayer.models.match import Confidence, Segment
from medialayer.settings import get_settings

DecodedT = TypeVar("DecodedT")
FingerprintT = TypeVar("FingerprintT")
SideT = TypeVar("SideT")

_sides = ThreadPoolExecutor(max_workers=2, thread_name_prefix="match-side")


# Lambda gives a function one vCPU's worth of CPU time per this much memory (MB), whatever number
# of CPUs its VM reports (two from 128 to 3008 MB).
_LAMBDA_MB_PER_VCPU = 1769


def _usable_cpus() -> int:
    """CPUs this process can keep busy: those it may run on (its affinity: a pinned process sees
    one), and on Lambda no more than its memory buys."""
    cpus = len(os.sched_getaffinity(0))
    memory = get_settings().lambda_memory_mb
    return cpus if memory is None else max(1, min(cpus, memory // _LAMBDA_MB_PER_VCPU))


def on_both_sides(read: Callable[[bytes], SideT], source: bytes, target: bytes) -> tuple[SideT, SideT]:
    """``read`` of both sides of a match at once: FFmpeg (decoding in a filter graph), PIL and numpy
    release the GIL, so with two vCPUs a pair costs far less than the sum of its sides
    (docs/benchmarks.md, "Pair of 3-minute tracks"). With one CPU's worth of time the sides take
    turns instead: two threads on one core only trade the GIL and the caches (same section). The
    source's error, if any, is raised first."""
    if _usable_cpus() < 2:
        return read(source), read(target)
    pending = [_sides.submit(read, data) for data in (source, target)]
    return pending[0].result(), pending[1].result()


@dataclass(frozen=True)
class Comparison:
    """How alike two fingerprints are: a calibrated similarity plus aligned segments."""

    similarity: float
    segments: list[Segment] = field(default_factory=list)
    # Engine-specific evidence (distances, which orientation matched...), for logs and benchmarks.
    details: dict[str, Any] = field(default_factory=dict)


# Rows of one asset (or of a segment): table name -> column name -> array, every column of a table
# with the same length. Segments store these tables; merging segments concatenates them.
Tables = dict[str, dict[str, np.ndarray]]


@dataclass(frozen=True)
class Candidate:
    """An asset an index found for a query: its position in the segment and index-stage evidence
    (higher is better; it only ranks, within one medium, which assets get an exact compare)."""

    asset: int
    evidence: float


class CandidateIndex(ABC, Generic[FingerprintT]):
    """An in-memory search structure over one index segment's rows of one medium."""

    # Evidence at which a candidate is clearly more than chance. Search gives the exact compare to
    # weaker candidates only among its first few, and to none once one candidate is decisive
    # (``logic.search.shortlist``): where a compare is costly, chance candidates would otherwise make
    # up most of a search's time. 0: every shortlisted candidate is verified.
    strong_evidence: ClassVar[float] = 0.0
    # Weaker candidates ranked among the first ``weak_verified`` get the exact compare too (unless
    # one candidate is decisive). Indexes with ``screened_at_most`` give it to the other weak ones
    # among that many best candidates (at least the shortlist) whose stored fingerprint passes
    # ``plausible``, a test far cheaper than the compare; 0: no screen.
    weak_verified: ClassVar[int] = 5
    screened_at_most: ClassVar[int] = 0

    @staticmethod
    def plausible(query: Any, stored: FingerprintT) -> bool:
        """Whether the exact compare of ``query`` (as given to ``candidates``) with ``stored`` could
        match; only asked of indexes that set ``screened_at_most``."""
        return True

    @staticmethod
    @abstractmethod
    def rows(fingerprint: FingerprintT) -> Tables:
        """What one asset contributes to a segment (no ``asset`` column: the segment adds it)."""

    @abstractmethod
    def __init__(self, tables: Tables, n_assets: int) -> None:
        """Build the search structure from a segment's tables (``asset`` column included)."""

    @abstractmethod
    def candidates(self, query: Any, limit: int) -> list[Candidate]:
        """The ``limit`` assets most likely to match ``query``, best first."""


class MediaEngine(ABC, Generic[DecodedT, FingerprintT]):
    """Decode, fingerprint and compare one kind of media."""

    media_type: ClassVar[MediaType]
    # The operating point of the calibrated similarity: ``match`` is ``similarity >= threshold``.
    default_threshold: ClassVar[float]
    # Media types whose queries this medium's assets can be searched with besides its own.
    cross_modal_queries: ClassVar[tuple[MediaType, ...]] = ()

    @abstractmethod
    def decode(self, data: bytes) -> DecodedT:
        """Bytes to the engine's decoded form; raises ``MediaLayerError`` (unsupported_media,
        file_too_large, duration_too_long) for input it will not process."""

    @abstractmethod
    def fingerprint(self, decoded: DecodedT) -> FingerprintT:
        """The decoded form to a compact, deterministic fingerprint."""

    @abstractmethod
    def compare(self, source: FingerprintT, target: FingerprintT) -> Comparison:
        """Two fingerprints to a calibrated ``Comparison``."""

    @abstractmethod
    def to_bytes(self, fingerprint: FingerprintT) -> bytes:
        """Serialise a fingerprint for storage."""

    @abstractmethod
    def from_bytes(self, blob: bytes) -> FingerprintT:
        """The inverse of ``to_bytes``."""

    def index_type(self) -> type[CandidateIndex]:
        """The medium's index, for search; a medium without one cannot be indexed."""
        raise NotImplementedError(f"{self.media_type.value} has no search index")

    def compare_cross(self, query: Any, stored: FingerprintT) -> Comparison:
        """A query of one of ``cross_modal_queries`` (its own medium's fingerprint) against a stored
        fingerprint, on this medium's similarity scale; this medium's index takes such queries too."""
        raise NotImplementedError(f"{self.media_type.value} takes no cross-modal queries")

    def reported(self, comparison: Comparison) -> dict[str, Any]:
        """What a match or search result says beyond the seeds' envelope, from ``comparison``'s
        details (docs/api.md, "Match"): nothing unless the medium adds fields."""
        return {}

    def fingerprint_bytes(self, data: bytes) -> FingerprintT:
        return self.fingerprint(self.decode(data))

    def compare_bytes(self, source: bytes, target: bytes) -> Comparison:
        """Two media of this type, as the match endpoint receives them (a medium that also takes other
        media on one side, as video does, reads each side's kind here)."""
        return self.compare(*on_both_sides(self.fingerprint_bytes, source, target))

    def confidence(self, similarity: float) -> Confidence:
        """Map a calibrated similarity to the envelope's label.

        ``medium`` starts at the operating point, ``high`` halfway from it to 1.0, and ``low``
        covers the 0.15 below the operating point (worth a human look, not a decision).
        """
        t = self.default_threshold
        if similarity >= t + (1.0 - t) / 2:
            return "high"
        if similarity >= t:
            return "medium"
        if similarity >= t - 0.15:
            return "low"
        return "none"
