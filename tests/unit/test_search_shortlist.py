"""Which candidates a search gives the exact compare: the strong ones, or else the first few."""

from __future__ import annotations

from medialayer.logic.search import VERIFY_AT_LEAST, WEAK_VERIFIED, shortlist
from medialayer.media.registry import get_engine
from medialayer.models.common import MediaType

WEAK = {f"weak{i:02d}": 9.0 - i * 0.1 for i in range(30)}


def test_with_a_decisive_candidate_weak_ones_are_not_verified() -> None:
    evidence = WEAK | {"strong-b": 20.0, "strong-a": 200.0}
    assert shortlist(evidence, strong=12.0, top_k=10) == ["strong-a", "strong-b"]


def test_a_barely_strong_candidate_still_lets_the_first_weak_ones_through() -> None:
    evidence = WEAK | {"strong": 20.0}
    expected = ["strong"] + [f"weak{i:02d}" for i in range(WEAK_VERIFIED - 1)]
    assert shortlist(evidence, strong=12.0, top_k=10) == expected


def test_without_a_strong_candidate_the_first_few_weak_ones_are() -> None:
    assert shortlist(WEAK, strong=12.0, top_k=10) == [f"weak{i:02d}" for i in range(WEAK_VERIFIED)]


def test_strong_candidates_fill_the_whole_budget_in_order() -> None:
    evidence = {f"a{i:02d}": 100.0 - i for i in range(40)}
    assert shortlist(evidence, strong=12.0, top_k=5) == [f"a{i:02d}" for i in range(5 + VERIFY_AT_LEAST)]


def test_without_a_bar_every_shortlisted_candidate_is_verified() -> None:
    evidence = {f"a{i:02d}": 0.5 - i * 0.01 for i in range(40)}
    assert len(shortlist(evidence, strong=0.0, top_k=10)) == 10 + VERIFY_AT_LEAST
    assert shortlist({}, strong=12.0, top_k=10) == []


def test_audio_sets_a_bar_and_images_verify_everything() -> None:
    assert get_engine(MediaType.audio).index_type().strong_evidence > 0
    assert get_engine(MediaType.image).index_type().strong_evidence == 0
