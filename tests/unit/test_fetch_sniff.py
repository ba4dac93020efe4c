"""Format detection from magic bytes: real files written by Pillow and PyAV, plus minimal headers."""

from __future__ import annotations

import io
import random
from collections.abc import Callable

import av
import numpy as np
import pytest
from PIL import Image

from medialayer.errors import MediaLayerError
from medialayer.fetch.sniff import SNIFF_BYTES, DetectedFormat, detect_format, ensure_media_type


def image_file(fmt: str) -> bytes:
    if fmt == "HEIF":
        pillow_heif = pytest.importorskip("pillow_heif")
        pillow_heif.register_heif_opener()
    picture = Image.new("RGB", (16, 16), (200, 30, 30))
    out = io.BytesIO()
    picture.save(out, format=fmt)
    return out.getvalue()


def audio_file(container: str, codec: str, *, rate: int = 48000, options: dict[str, str] | None = None) -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format=container) as muxer:
        stream = muxer.add_stream(codec, rate=rate, layout="stereo")
        if options:
            stream.codec_context.options = options
        t = np.arange(rate // 10) / rate
        tone = (np.sin(2 * np.pi * 440 * t) * 0.3).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
        frame.sample_rate, frame.pts = rate, 0
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            muxer.mux(packet)
    return out.getvalue()


def video_file(container: str, codec: str, *, rate: int = 25) -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format=container) as muxer:
        stream = muxer.add_stream(codec, rate=rate)
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        for i in range(2):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), i * 60, np.uint8), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                muxer.mux(packet)
        for packet in stream.encode(None):
            muxer.mux(packet)
    return out.getvalue()


def without_id3(data: bytes) -> bytes:
    assert data[:3] == b"ID3"
    size = (data[6] & 0x7F) << 21 | (data[7] & 0x7F) << 14 | (data[8] & 0x7F) << 7 | (data[9] & 0x7F)
    return data[10 + size :]


REAL_FILES: list[tuple[str, Callable[[], bytes], str, str]] = [
    ("jpeg", lambda: image_file("JPEG"), "image", "jpeg"),
    ("png", lambda: image_file("PNG"), "image", "png"),
    ("gif", lambda: image_file("GIF"), "image", "gif"),
    ("webp", lambda: image_file("WEBP"), "image", "webp"),
    ("bmp", lambda: image_file("BMP"), "image", "bmp"),
    ("tiff", lambda: image_file("TIFF"), "image", "tiff"),
    ("avif", lambda: image_file("AVIF"), "image", "avif"),
    ("heic", lambda: image_file("HEIF"), "image", "heic"),
    ("mp3 with ID3", lambda: audio_file("mp3", "libmp3lame", rate=44100), "audio", "mp3"),
    ("bare mp3 frames", lambda: without_id3(audio_file("mp3", "libmp3lame", rate=44100)), "audio", "mp3"),
    ("mp2", lambda: audio_file("mp2", "mp2"), "audio", "mp2"),
    ("wav", lambda: audio_file("wav", "pcm_s16le"), "audio", "wav"),
    ("flac", lambda: audio_file("flac", "flac"), "audio", "flac"),
    ("ogg vorbis", lambda: audio_file("ogg", "vorbis", options={"strict": "experimental"}), "audio", "ogg"),
    ("ogg opus", lambda: audio_file("ogg", "libopus"), "audio", "opus"),
    ("m4a", lambda: audio_file("ipod", "aac"), "audio", "m4a"),
    ("mp4 brand, sound only", lambda: audio_file("mp4", "aac"), "audio", "m4a"),
    ("adts aac", lambda: audio_file("adts", "aac"), "audio", "aac"),
    ("aiff", lambda: audio_file("aiff", "pcm_s16be"), "audio", "aiff"),
    ("caf", lambda: audio_file("caf", "pcm_s16le"), "audio", "caf"),
    ("mka (matroska, audio only)", lambda: audio_file("matroska", "libopus"), "audio", "mkv"),
    ("webm, audio only", lambda: audio_file("webm", "libopus"), "audio", "webm"),
    ("mp4", lambda: video_file("mp4", "libx264"), "video", "mp4"),
    ("mov", lambda: video_file("mov", "libx264"), "video", "mov"),
    ("3gp", lambda: video_file("3gp", "libx264"), "video", "3gp"),
    ("mkv", lambda: video_file("matroska", "libx264"), "video", "mkv"),
    ("webm", lambda: video_file("webm", "libvpx"), "video", "webm"),
    ("avi", lambda: video_file("avi", "mpeg4"), "video", "avi"),
    ("flv", lambda: video_file("flv", "libx264"), "video", "flv"),
    ("mpeg-ts", lambda: video_file("mpegts", "libx264"), "video", "ts"),
    ("mpeg-ps", lambda: video_file("mpeg", "mpeg1video"), "video", "mpeg"),
    ("asf", lambda: video_file("asf", "mpeg4"), "video", "asf"),
]


@pytest.mark.parametrize(("make", "media_type", "fmt"), [c[1:] for c in REAL_FILES], ids=[c[0] for c in REAL_FILES])
def test_real_files(make: Callable[[], bytes], media_type: str, fmt: str) -> None:
    data = make()
    assert detect_format(data[:SNIFF_BYTES]) == DetectedFormat(media_type, fmt)  # type: ignore[arg-type]


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body


def ebml(doctype: bytes, *track_types: int) -> bytes:
    header = b"\x1a\x45\xdf\xa3\x90\x42\x82" + bytes([0x80 | len(doctype)]) + doctype
    tracks = b"".join(b"\xae\x85\x83\x81" + bytes([t]) + b"\x00\x00" for t in track_types)
    return header + b"\x18\x53\x80\x67\x01" + b"\x16\x54\xae\x6b" + bytes([0x80 | len(tracks)]) + tracks


def ogg(first_packet: bytes) -> bytes:
    return b"OggS\x00\x02" + b"\x00" * 20 + b"\x01" + bytes([len(first_packet)]) + first_packet


MP3_FRAME = b"\xff\xfb\x90\x64" + b"\x00" * 413  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz: 417 bytes
ADTS_FRAME = b"\xff\xf1\x50\x80\x02\x1f\xfc" + b"\x00" * 9  # 16 bytes, length in the header

HEADERS: list[tuple[str, bytes, tuple[str, str] | None]] = [
    ("heic major", ftyp(b"heic", b"mif1", b"heic"), ("image", "heic")),
    ("mif1 + heic", ftyp(b"mif1", b"mif1", b"heic"), ("image", "heic")),
    ("mif1 + avif", ftyp(b"mif1", b"mif1", b"avif", b"miaf"), ("image", "avif")),
    ("avif major", ftyp(b"avif", b"mif1", b"miaf"), ("image", "avif")),
    ("avis sequence", ftyp(b"avis", b"avis", b"msf1"), ("image", "avif")),
    ("M4A", ftyp(b"M4A ", b"M4A ", b"mp42", b"isom"), ("audio", "m4a")),
    ("M4B audiobook", ftyp(b"M4B ", b"M4B "), ("audio", "m4a")),
    ("mp42", ftyp(b"mp42", b"isom", b"mp42"), ("video", "mp4")),
    ("dash", ftyp(b"dash", b"iso6"), ("video", "mp4")),
    ("qt", ftyp(b"qt  ", b"qt  "), ("video", "mov")),
    ("old quicktime", b"\x00\x00\x00\x20moov" + b"\x00" * 24, ("video", "mov")),
    ("webm, no tracks in view", ebml(b"webm"), ("video", "webm")),
    ("webm video + audio", ebml(b"webm", 1, 2), ("video", "webm")),
    ("matroska audio only", ebml(b"matroska", 2, 2), ("audio", "mkv")),
    ("ogg theora", ogg(b"\x80theora" + b"\x00" * 10), ("video", "ogv")),
    ("ogg vorbis", ogg(b"\x01vorbis" + b"\x00" * 10), ("audio", "ogg")),
    ("ogg opus", ogg(b"OpusHead\x01\x02"), ("audio", "opus")),
    ("riff wave", b"RIFF\x24\x00\x00\x00WAVEfmt ", ("audio", "wav")),
    ("rf64 wave", b"RF64\xff\xff\xff\xffWAVEds64", ("audio", "wav")),
    ("riff webp", b"RIFF\x24\x00\x00\x00WEBPVP8 ", ("image", "webp")),
    ("riff avi", b"RIFF\x24\x00\x00\x00AVI LIST", ("video", "avi")),
    ("riff unknown", b"RIFF\x24\x00\x00\x00CDXA", None),
    ("id3 then mp3", b"ID3\x03\x00\x00\x00\x00\x00\x02\x00\x00" + MP3_FRAME * 2, ("audio", "mp3")),
    ("id3 then adts", b"ID3\x03\x00\x00\x00\x00\x00\x00" + ADTS_FRAME * 2, ("audio", "aac")),
    ("id3 then flac", b"ID3\x03\x00\x00\x00\x00\x00\x00fLaC\x00\x00\x00\x22", ("audio", "flac")),
    ("id3 tag longer than the head", b"ID3\x04\x00\x00\x00\x01\x00\x00TIT2", ("audio", "mp3")),
    ("mpeg frames", MP3_FRAME * 3, ("audio", "mp3")),
    ("mpeg sync without a second frame", MP3_FRAME + b"\x00" * 8, None),
    ("adts frames", ADTS_FRAME * 3, ("audio", "aac")),
    ("flv audio only", b"FLV\x01\x04\x00\x00\x00\x09", ("audio", "flv")),
    ("flv audio + video", b"FLV\x01\x05\x00\x00\x00\x09", ("video", "flv")),
    ("bmp", b"BM" + b"\x00" * 12 + (40).to_bytes(4, "little"), ("image", "bmp")),
    ("BM without a DIB header", b"BM this is text", None),
    ("bigtiff", b"II+\x00\x08\x00\x00\x00", ("image", "tiff")),
    ("big-endian tiff", b"MM\x00*\x00\x00\x00\x08", ("image", "tiff")),
    ("gif87a", b"GIF87a\x10\x00", ("image", "gif")),
    ("html", b"<!doctype html><html>", None),
    ("pdf", b"%PDF-1.7\n", None),
    ("zip", b"PK\x03\x04\x14\x00", None),
    ("json", b'{"error": "not found"}', None),
    ("empty", b"", None),
    ("jpeg too short", b"\xff\xd8", None),
]


@pytest.mark.parametrize(("head", "expected"), [c[1:] for c in HEADERS], ids=[c[0] for c in HEADERS])
def test_headers(head: bytes, expected: tuple[str, str] | None) -> None:
    found = detect_format(head)
    assert (None if found is None else (found.media_type.value, found.format)) == expected


def test_random_bytes_are_not_media() -> None:
    rng = random.Random(1234)
    for _ in range(300):
        head = bytes(rng.getrandbits(8) for _ in range(512))
        assert detect_format(head) is None, head[:16]


class TestEnsureMediaType:
    def test_matching_medium_passes(self) -> None:
        assert ensure_media_type(image_file("PNG"), "image", "source_url") == DetectedFormat("image", "png")  # type: ignore[arg-type]

    def test_video_is_accepted_where_audio_is_expected(self) -> None:
        assert ensure_media_type(video_file("mp4", "libx264"), "audio").format == "mp4"

    @pytest.mark.parametrize(
        ("make", "expected", "message"),
        [
            (
                lambda: audio_file("flac", "flac"),
                "video",
                "target_url: expected a video file, got flac (audio)",
            ),
            (
                lambda: video_file("mp4", "libx264"),
                "image",
                "target_url: expected an image file, got mp4 (video)",
            ),
            (lambda: image_file("JPEG"), "audio", "target_url: expected an audio file, got jpeg (image)"),
            (lambda: b"<html>404</html>", "image", "target_url: not a recognised image file"),
        ],
    )
    def test_wrong_medium_is_unsupported(self, make: Callable[[], bytes], expected: str, message: str) -> None:
        with pytest.raises(MediaLayerError) as caught:
            ensure_media_type(make(), expected, "target_url")
        assert (caught.value.code, caught.value.status, caught.value.message) == (
            "unsupported_media",
            415,
            message,
        )
