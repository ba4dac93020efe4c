"""Which candidates a search gives the exact compare: the strong ones, the first few weak ones, and
where the index screens, the weak ones that pass its cheap test."""

from __future__ import annotations

from types import SimpleNamespace

from medialayer.logic.search import VERIFY_AT_LEAST, shortlist
from medialayer.media.base import CandidateIndex
from medialayer.media.registry import get_engine
from medialayer.models.common import MediaType

WEAK = {f"weak{i:02d}": 9.0 - i * 0.1 for i in range(30)}
BAR = SimpleNamespace(strong_evidence=12.0, weak_verified=5, screened_at_most=0)
# Screens at least the shortlist (top_k + VERIFY_AT_LEAST), and DEEP the first 25 candidates.
SCREENING = SimpleNamespace(strong_evidence=12.0, weak_verified=1, screened_at_most=1)
DEEP = SimpleNamespace(strong_evidence=12.0, weak_verified=1, screened_at_most=25)


def test_with_a_decisive_candidate_weak_ones_are_not_verified_or_screened() -> None:
    evidence = WEAK | {"strong-b": 20.0, "strong-a": 200.0}
    assert shortlist(evidence, BAR, top_k=10) == (["strong-a", "strong-b"], [])
    assert shortlist(evidence, SCREENING, top_k=10) == (["strong-a", "strong-b"], [])


def test_a_barely_strong_candidate_still_lets_the_first_weak_ones_through() -> None:
    evidence = WEAK | {"strong": 20.0}
    assert shortlist(evidence, BAR, top_k=10) == (["strong"] + [f"weak{i:02d}" for i in range(4)], [])


def test_without_a_strong_candidate_the_first_few_weak_ones_are() -> None:
    assert shortlist(WEAK, BAR, top_k=10) == ([f"weak{i:02d}" for i in range(5)], [])


def test_a_screening_index_screens_the_weak_ones_it_does_not_verify_on_rank() -> None:
    verify, screen = shortlist(WEAK, SCREENING, top_k=10)
    assert verify == ["weak00"]
    assert screen == [f"weak{i:02d}" for i in range(1, 10 + VERIFY_AT_LEAST)]


def test_a_deeper_screen_reaches_weak_candidates_past_the_shortlist() -> None:
    # A clip under louder music holds 3 index votes on its track, as many as chance lines of other
    # long tracks: only the screen tells them apart, so it reaches past the compare's shortlist.
    verify, screen = shortlist(WEAK | {"strong": 20.0}, DEEP, top_k=10)
    assert verify == ["strong"]
    assert screen == [f"weak{i:02d}" for i in range(24)]
    assert shortlist(WEAK | {"decisive": 40.0}, DEEP, top_k=10) == (["decisive"], [])


def test_strong_candidates_fill_the_whole_budget_in_order() -> None:
    evidence = {f"a{i:02d}": 100.0 - i for i in range(40)}
    assert shortlist(evidence, BAR, top_k=5) == ([f"a{i:02d}" for i in range(5 + VERIFY_AT_LEAST)], [])


def test_without_a_bar_every_shortlisted_candidate_is_verified() -> None:
    evidence = {f"a{i:02d}": 0.5 - i * 0.01 for i in range(40)}
    assert len(shortlist(evidence, CandidateIndex, top_k=10)[0]) == 10 + VERIFY_AT_LEAST
    assert shortlist({}, BAR, top_k=10) == ([], [])


def test_audio_sets_a_bar_and_screens_and_images_verify_everything() -> None:
    audio = get_engine(MediaType.audio).index_type()
    assert audio.strong_evidence > 0 and audio.screened_at_most > 10 + VERIFY_AT_LEAST
    image = get_engine(MediaType.image).index_type()
    assert image.strong_evidence == 0 and not image.screened_at_most
