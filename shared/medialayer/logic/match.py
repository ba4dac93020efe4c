"""Pairwise match: two media of one type to the seeds' envelope."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from time import perf_counter

from medialayer.logic.media_input import MediaInput, load_media
from medialayer.logic.quotas import admit_search, charge_search_bytes
from medialayer.media.registry import get_engine
from medialayer.models.common import MediaType
from medialayer.models.match import MatchResponse
from medialayer.models.tenancy import Principal

# Downloads are I/O bound: both sides are fetched at once.
_downloads = ThreadPoolExecutor(max_workers=8, thread_name_prefix="fetch")


def match_pair(media_type: MediaType, source: MediaInput, target: MediaInput, principal: Principal
               ) -> MatchResponse:
    engine = get_engine(media_type)
    for side in (source, target):  # malformed or refused URLs are not charged as queries
        side.validate()
    admit_search(principal, media_type)
    # A medium that takes other media on one side (video: a still or an audio clip) accepts their bytes.
    also = engine.cross_modal_queries
    pending = [_downloads.submit(load_media, side, media_type, principal, also) for side in (source, target)]
    source_bytes, target_bytes = (future.result() for future in pending)
    charge_search_bytes(principal, len(source_bytes) + len(target_bytes))
    # processing_time_ms covers decode + fingerprint + compare, not the downloads (API.md).
    started = perf_counter()
    comparison = engine.compare_bytes(source_bytes, target_bytes)
    similarity = round(min(1.0, max(0.0, comparison.similarity)), 4)
    return MatchResponse(
        match=similarity >= engine.default_threshold,
        confidence=engine.confidence(similarity),
        similarity_score=similarity,
        processing_time_ms=round((perf_counter() - started) * 1000),
        media_type=media_type,
        matched_segments=comparison.segments,
        **engine.reported(comparison),
    )
