"""Both sides of a match: read at once with two CPUs, in turn with one (or with the memory that buys
one on Lambda); the source's error first."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from medialayer.errors import MediaLayerError
from medialayer.media.base import on_both_sides
from medialayer.settings import get_settings


@contextmanager
def _cpus(n: int) -> Iterator[None]:
    allowed = os.sched_getaffinity(0)
    if len(allowed) < n:
        pytest.skip(f"needs {n} CPUs")
    os.sched_setaffinity(0, sorted(allowed)[:n])
    try:
        yield
    finally:
        os.sched_setaffinity(0, allowed)


@contextmanager
def _lambda_memory(mb: int) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", str(mb))
        get_settings.cache_clear()
        try:
            yield
        finally:
            env.undo()
            get_settings.cache_clear()


def _thread_of(data: bytes) -> tuple[bytes, str]:
    return data, threading.current_thread().name


def test_one_cpu_reads_the_sides_in_turn_on_the_calling_thread() -> None:
    with _cpus(1):
        source, target = on_both_sides(_thread_of, b"a", b"b")
    here = threading.current_thread().name
    assert source == (b"a", here) and target == (b"b", here)


def test_two_cpus_read_the_sides_on_worker_threads() -> None:
    with _cpus(2):
        source, target = on_both_sides(_thread_of, b"a", b"b")
    assert source[0] == b"a" and target[0] == b"b"
    assert source[1].startswith("match-side") and target[1].startswith("match-side")


@pytest.mark.parametrize(("memory_mb", "turns"), [(1769, True), (3538, False)])
def test_on_lambda_the_memory_decides(memory_mb: int, turns: bool) -> None:
    # The function's VM reports two CPUs from 128 to 3008 MB; 1,769 MB buys one vCPU's worth of time.
    with _cpus(2), _lambda_memory(memory_mb):
        source, target = on_both_sides(_thread_of, b"a", b"b")
    on_caller = {source[1], target[1]} == {threading.current_thread().name}
    assert on_caller is turns


@pytest.mark.parametrize("cpus", [1, 2])
def test_the_sources_error_comes_first(cpus: int) -> None:
    def read(data: bytes) -> bytes:
        raise MediaLayerError("unsupported_media", data.decode())

    with _cpus(cpus), pytest.raises(MediaLayerError, match="source"):
        on_both_sides(read, b"source", b"target")
