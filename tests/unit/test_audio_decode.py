"""AudioEngine.decode: every container the service accepts, and the caps."""

from __future__ import annotations

import numpy as np
import pytest

from medialayer.errors import MediaLayerError
from medialayer.media.audio.decode import SAMPLE_RATE, decode_audio
from medialayer.media.audio.engine import AudioEngine
from tests.unit._audio_fixtures import encode, encode_video_with_audio, synth_music

PCM = synth_music(3.0, seed=1)


@pytest.mark.parametrize("fmt", ["mp3", "aac", "m4a", "opus", "vorbis", "flac", "wav", "webm"])
def test_each_format_decodes_to_mono_pcm_at_the_engine_rate(fmt: str) -> None:
    signal = AudioEngine().decode(encode(PCM, fmt))
    assert signal.sample_rate == SAMPLE_RATE
    assert signal.samples.dtype == np.float32 and signal.samples.ndim == 1
    # Codec priming/padding adds at most ~0.1 s.
    assert abs(signal.duration_s - 3.0) < 0.15
    assert 0.05 < float(np.sqrt(np.mean(signal.samples**2))) < 0.5


def test_audio_track_of_a_video_container_decodes() -> None:
    signal = AudioEngine().decode(encode_video_with_audio(synth_music(4.0, seed=2)))
    assert abs(signal.duration_s - 4.0) < 0.15
    assert float(np.max(np.abs(signal.samples))) > 0.1


def test_video_without_audio_is_unsupported() -> None:
    import io

    import av

    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as out:
        video = out.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        for k in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
            frame.pts = k
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
    with pytest.raises(MediaLayerError) as err:
        AudioEngine().decode(buf.getvalue())
    assert err.value.code == "unsupported_media"


@pytest.mark.parametrize("data", [b"", b"not audio at all" * 100, b"\x00" * 5000, b"ID3\x03\x00" + b"\xff" * 300])
def test_undecodable_input_is_unsupported_media(data: bytes) -> None:
    with pytest.raises(MediaLayerError) as err:
        AudioEngine().decode(data)
    assert err.value.code == "unsupported_media"
    assert err.value.status == 415


def test_stated_duration_over_the_cap_is_refused_before_decoding() -> None:
    data = encode(synth_music(6.0, seed=3), "flac")
    with pytest.raises(MediaLayerError) as err:
        AudioEngine(max_seconds=4.0).decode(data)
    assert err.value.code == "duration_too_long"
    assert err.value.status == 413


def test_decoding_stops_at_the_cap_when_no_duration_is_stated() -> None:
    # ADTS AAC carries no duration header: only the decode-time cap can catch it.
    data = encode(synth_music(6.0, seed=3), "aac")
    with pytest.raises(MediaLayerError) as err:
        decode_audio(data, max_bytes=10**9, max_seconds=4.0)
    assert err.value.code == "duration_too_long"


def test_byte_cap() -> None:
    data = encode(PCM, "wav")
    with pytest.raises(MediaLayerError) as err:
        AudioEngine(max_bytes=len(data) - 1).decode(data)
    assert err.value.code == "file_too_large"


def test_default_caps_come_from_settings() -> None:
    engine = AudioEngine()
    assert engine.max_bytes == 50_000_000
    assert engine.max_seconds == 300.0
