"""Video fingerprints: layout for the index, collapse of still pictures, letterbox trim, storage."""

from __future__ import annotations

import numpy as np
import pytest

from medialayer.errors import MediaLayerError
from medialayer.media.image.hashing import hamming
from medialayer.media.video.engine import VideoEngine
from medialayer.media.video.fingerprint import FORMAT_VERSION, VideoFingerprint
from tests.unit._video_fixtures import encode_video, film, film_frames

ENGINE = VideoEngine(max_bytes=20_000_000, max_seconds=60)


@pytest.fixture(scope="module")
def fingerprint() -> VideoFingerprint:
    return ENGINE.fingerprint_bytes(film(6.0, seed=11))


def test_layout_is_what_an_index_can_rely_on(fingerprint: VideoFingerprint) -> None:
    n = len(fingerprint)
    assert fingerprint.times.dtype == np.float32 and np.all(np.diff(fingerprint.times) > 0)
    assert fingerprint.hashes.shape == (n, 4) and fingerprint.hashes.dtype == np.uint64
    assert fingerprint.mirrored.shape == (n, 4) and fingerprint.corners.shape == (n, 4, 4)
    assert fingerprint.detail.shape == (n,) and fingerprint.usable.all()
    assert np.all(fingerprint.ends > fingerprint.times)
    assert fingerprint.audio is not None and fingerprint.duration_s == pytest.approx(6.0, abs=0.1)
    with pytest.raises(AttributeError):
        fingerprint.duration_s = 1.0  # type: ignore[misc]


def test_round_trip_and_refusals(fingerprint: VideoFingerprint) -> None:
    blob = ENGINE.to_bytes(fingerprint)
    assert ENGINE.from_bytes(blob) == fingerprint
    assert len(blob) < 400 * len(fingerprint) + len(ENGINE.audio_engine.to_bytes(fingerprint.audio)) + 64
    for bad in (blob[:10], blob[:-3], b"MLV" + bytes([FORMAT_VERSION + 1]) + blob[4:], b"nope" * 10):
        with pytest.raises(MediaLayerError) as err:
            ENGINE.from_bytes(bad)
        assert err.value.code == "invalid_request"


def test_a_still_picture_collapses_to_one_frame_that_lasts() -> None:
    frames = film_frames(1.0 / 10, 10, seed=3) * 40  # one frame held for 4 s
    fp = ENGINE.fingerprint_bytes(encode_video(frames, fps=10))
    assert len(fp) == 1
    assert fp.ends[0] == pytest.approx(4.0, abs=0.1)


def test_letterbox_is_trimmed_before_hashing() -> None:
    frames = film_frames(4.0, 10, seed=5)
    boxed = [np.pad(f, ((30, 30), (0, 0), (0, 0))) for f in frames]  # 16:9 into ~4:3 with black bars
    plain, letterboxed = (ENGINE.fingerprint_bytes(encode_video(f, fps=10)) for f in (frames, boxed))
    n = min(len(plain), len(letterboxed))
    distances = hamming(plain.hashes[:n], letterboxed.hashes[:n])
    assert np.median(distances) <= 24


def test_black_pictures_are_kept_but_unusable() -> None:
    black = [np.zeros((108, 192, 3), np.uint8)] * 30
    fp = ENGINE.fingerprint_bytes(encode_video(black, fps=10))
    assert len(fp) == 1 and not fp.usable.any()
