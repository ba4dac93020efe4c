"""One-to-many search: a query against the ready assets of the caller's project.

Two stages. Each live index segment proposes candidates (``CandidateIndex``: bucket lookups and
offset votes, milliseconds); the best few get the same exact ``compare`` as the match endpoint,
so a search's similarity, confidence and segments are the ones ``/{type}/match`` would return
for that pair. Only assets whose record is ready in this project are returned.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from time import perf_counter
from typing import Any

from medialayer.dal.assets import AssetRepository, MediaStore
from medialayer.dal.functions import invoke
from medialayer.dal.index_store import ManifestRepository
from medialayer.errors import MediaLayerError
from medialayer.index.cache import fingerprints, segments
from medialayer.logic.media_input import MediaInput, load_media
from medialayer.logic.quotas import admit_search, charge_search_bytes, require_feature
from medialayer.media.base import CandidateIndex, Comparison, MediaEngine
from medialayer.media.registry import available_media_types, get_engine
from medialayer.models.common import MediaType
from medialayer.models.index import Manifest
from medialayer.models.match import Segment
from medialayer.models.search import SearchMatch, SearchOptions, SearchQueryInfo, SearchResponse
from medialayer.models.tenancy import Principal
from medialayer.settings import get_settings

# Each segment proposes up to this many candidates; of the best VERIFY_AT_LEAST + top_k, those that
# reach the index's ``strong_evidence`` are verified, the first of the index's ``weak_verified`` too
# and, where the index screens, the other weak ones among its ``screened_at_most`` best that pass its
# ``plausible``; no weak one when the best holds DECISIVE_MULTIPLE times that (``shortlist``;
# docs/architecture.md, "Verification").
CANDIDATES_PER_SEGMENT = 50
VERIFY_AT_LEAST = 10
DECISIVE_MULTIPLE = 3.0

_io = ThreadPoolExecutor(max_workers=8, thread_name_prefix="search-io")


def search(principal: Principal, media_type: MediaType, query: MediaInput, options: SearchOptions) -> SearchResponse:
    targets = list(dict.fromkeys(options.media_types or [media_type]))
    for target in targets:
        if target not in available_media_types():
            raise MediaLayerError("not_found", f"{target.value} search is not available yet")
        if target != media_type and media_type not in get_engine(target).cross_modal_queries:
            raise MediaLayerError("invalid_request",
                                  f"{target.value} assets cannot be searched with a {media_type.value} query")
    query.validate()
    for target in targets:
        require_feature(principal, target, "search")
    admit_search(principal, media_type)
    data = load_media(query, media_type, principal)
    charge_search_bytes(principal, len(data))
    started = perf_counter()
    fingerprint = get_engine(media_type).fingerprint_bytes(data)
    matches: list[SearchMatch] = []
    for target in targets:
        engine = get_engine(target)
        compare = engine.compare if target == media_type else engine.compare_cross  # cross-modal: its scale
        matches += _search_index(principal.project_id, engine, media_type, fingerprint, compare, options)
    matches.sort(key=lambda m: (-m.similarity, -(m.coverage or 0.0), m.asset_id))
    return SearchResponse(
        media_type=media_type, processing_time_ms=round((perf_counter() - started) * 1000),
        query=SearchQueryInfo(bytes=len(data), duration_s=getattr(fingerprint, "duration_s", None)),
        matches=matches[: options.top_k],
    )


def shard_candidates(project_id: str, media_type: MediaType, query: Any, shard: tuple[int, int] = (0, 1),
                     manifest: Manifest | None = None) -> dict[str, float]:
    """Candidate assets (id -> evidence) of one shard of a project's index; tombstones left out."""
    engine = get_engine(media_type)
    live, manifest = segments.live(project_id, media_type.value, engine.index_type(), shard, manifest)
    evidence: dict[str, float] = {}
    for segment in live:
        for candidate in segment.index.candidates(query, CANDIDATES_PER_SEGMENT):
            asset_id = segment.asset_ids[candidate.asset]
            if asset_id not in manifest.tombstones and candidate.evidence > evidence.get(asset_id, -1.0):
                evidence[asset_id] = candidate.evidence
    return evidence


def _candidates(project_id: str, engine: MediaEngine, query_type: MediaType, query: Any) -> dict[str, float]:
    """Every shard's candidates, merged: in this process for an index that fits one shard, else
    by invoking the shard function once per shard, in parallel."""
    media_type = engine.media_type
    manifest = ManifestRepository().get(project_id, media_type.value)
    settings = get_settings()
    shards = max(1, math.ceil(sum(i.bytes for i in manifest.segments.values()) / settings.search_shard_bytes))
    if shards == 1 or not settings.search_shard_function:
        return shard_candidates(project_id, media_type, query, manifest=manifest)
    blob = base64.b64encode(get_engine(query_type).to_bytes(query)).decode()
    events = [{"project_id": project_id, "media_type": media_type.value, "query_type": query_type.value,
               "shard": [k, shards], "query": blob} for k in range(shards)]
    merged: dict[str, float] = {}
    for found in _io.map(lambda event: invoke(settings.search_shard_function, event), events):
        for asset_id, evidence in found.items():
            merged[asset_id] = max(evidence, merged.get(asset_id, -1.0))
    return merged


def search_shard(event: dict[str, Any]) -> dict[str, float]:
    """The shard function's work: one shard's candidates for a serialised query."""
    media_type = MediaType(event["media_type"])
    query_type = MediaType(event.get("query_type", media_type))
    query = get_engine(query_type).from_bytes(base64.b64decode(event["query"]))
    shard = (int(event["shard"][0]), int(event["shard"][1]))
    return shard_candidates(event["project_id"], media_type, query, shard)


def _search_index(project_id: str, engine: MediaEngine, query_type: MediaType, query: Any,
                  compare: Callable[[Any, Any], Comparison], options: SearchOptions) -> list[SearchMatch]:
    media_type = engine.media_type.value
    # An explicit threshold applies to every medium searched; by default each uses its own.
    threshold = engine.default_threshold if options.threshold is None else options.threshold
    evidence = _candidates(project_id, engine, query_type, query)
    index_type = engine.index_type()
    chosen, weak = shortlist(evidence, index_type, options.top_k)
    store = MediaStore()

    def verify(asset_id: str, screened: bool = False) -> tuple[str, float, list[Segment], dict[str, Any]] | None:
        key = (project_id, media_type, asset_id)
        stored = fingerprints.get(key, lambda: _load(store, engine, project_id, asset_id))
        if stored is None:
            return None  # deleted since the manifest was read
        if screened and not index_type.plausible(query, stored):
            return None
        comparison = compare(query, stored)
        # What the medium reports beside the envelope, where a result has a field for it (its
        # coverage is the search's own: the share of the query).
        reported = {k: v for k, v in engine.reported(comparison).items() if k in SearchMatch.REPORTED}
        return asset_id, round(min(1.0, max(0.0, comparison.similarity)), 4), comparison.segments, reported

    tasks = [(a, False) for a in chosen] + [(a, True) for a in weak]
    verified = [v for v in _io.map(lambda task: verify(*task), tasks) if v is not None and v[1] >= threshold]
    duration = getattr(query, "duration_s", None)
    found = []
    for asset_id, similarity, matched, reported in verified:
        coverage = None if duration is None else _coverage(matched, duration)
        if coverage is None or coverage >= options.min_coverage:
            found.append((asset_id, similarity, coverage, matched, reported))
    records = {a.asset_id: a for a in AssetRepository().get_many(project_id, [f[0] for f in found])}
    return [SearchMatch(asset_id=asset_id, name=records[asset_id].name, media_type=engine.media_type,
                        similarity=similarity, coverage=coverage, matched_segments=matched, **reported)
            for asset_id, similarity, coverage, matched, reported in found
            if asset_id in records and records[asset_id].status == "ready"]


def shortlist(evidence: dict[str, float], index_type: type[CandidateIndex], top_k: int) -> tuple[list[str], list[str]]:
    """``(verify, screen)``: the candidates worth an exact compare (the strong ones, and the weak ones
    among the first ``weak_verified``), and the weak ones worth it if they pass the index's screen.
    No weak ones once a candidate is decisive: a query whose content the index clearly holds is clean
    enough for its other true matches to be strong too."""
    strong = index_type.strong_evidence
    ordered = sorted(evidence, key=lambda a: (-evidence[a], a))
    ranked = ordered[: top_k + VERIFY_AT_LEAST]
    decisive = bool(ranked) and evidence[ranked[0]] >= DECISIVE_MULTIPLE * strong
    on_rank = set(ranked[: index_type.weak_verified])
    verify = [a for a in ranked if evidence[a] >= strong or (a in on_rank and not decisive)]
    if decisive or not index_type.screened_at_most:
        return verify, []
    pool = ordered[: max(len(ranked), index_type.screened_at_most)]
    return verify, [a for a in pool if evidence[a] < strong and a not in on_rank]


def _load(store: MediaStore, engine: MediaEngine, project_id: str, asset_id: str) -> Any:
    blob = store.get(MediaStore.fingerprint_key(project_id, engine.media_type.value, asset_id))
    return None if blob is None else engine.from_bytes(blob)


def _coverage(matched: list[Segment], duration: float) -> float:
    """Share of the query's duration inside the union of its matched segments."""
    covered, reach = 0.0, 0.0
    for start, end in sorted((s.source_start, s.source_end) for s in matched):
        start = max(start, reach)
        if end > start:
            covered += end - start
            reach = end
    return round(min(1.0, covered / duration), 4) if duration > 0 else 0.0
