"""Tell image, audio and video files apart by their first bytes.

Only magic bytes count: file names and Content-Type headers come from the client or a remote
server and are often wrong. The decoders make the final call; this module refuses the obviously
wrong medium early, with a clear message, before any decoding work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from medialayer.errors import MediaLayerError
from medialayer.models.common import MediaType

# Enough to see past an ID3 tag with a small cover and to a Matroska file's track list.
SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class DetectedFormat:
    media_type: MediaType
    format: str  # short container name: "jpeg", "mp3", "mp4", "webm", ...


def detect_format(head: bytes) -> DetectedFormat | None:
    """The container a file starts like, or None. Pass at least the first few KB (``SNIFF_BYTES``)."""
    for probe in _PROBES:
        found = probe(head)
        if found is not None:
            return found
    return None


def ensure_media_type(data: bytes, expected: MediaType | str, field: str = "file") -> DetectedFormat:
    """Raise ``unsupported_media`` unless ``data`` starts like a file of the ``expected`` medium."""
    expected = MediaType(expected)
    detected = detect_format(data[:SNIFF_BYTES])
    article = "an" if expected is MediaType.image or expected is MediaType.audio else "a"
    if detected is None:
        raise MediaLayerError("unsupported_media", f"{field}: not a recognised {expected.value} file")
    if detected.media_type is expected:
        return detected
    # Audio is fingerprinted from a video's soundtrack, so a video container is fine where audio is
    # expected (a video without an audio stream fails later, when decoding).
    if expected is MediaType.audio and detected.media_type is MediaType.video:
        return detected
    got = f"{detected.format} ({detected.media_type.value})"
    raise MediaLayerError("unsupported_media", f"{field}: expected {article} {expected.value} file, got {got}")


def _image(fmt: str) -> DetectedFormat:
    return DetectedFormat(MediaType.image, fmt)


def _audio(fmt: str) -> DetectedFormat:
    return DetectedFormat(MediaType.audio, fmt)


def _video(fmt: str) -> DetectedFormat:
    return DetectedFormat(MediaType.video, fmt)


_PREFIXES: tuple[tuple[bytes, DetectedFormat], ...] = (
    (b"\xff\xd8\xff", _image("jpeg")),
    (b"\x89PNG\r\n\x1a\n", _image("png")),
    (b"GIF87a", _image("gif")),
    (b"GIF89a", _image("gif")),
    (b"II*\x00", _image("tiff")),
    (b"MM\x00*", _image("tiff")),
    (b"II+\x00", _image("tiff")),  # BigTIFF
    (b"MM\x00+", _image("tiff")),
    (b"fLaC", _audio("flac")),
    (b"#!AMR", _audio("amr")),
    (b"caff", _audio("caf")),
    (b"ADIF", _audio("aac")),
    (b".snd", _audio("au")),
    # ASF carries WMA and WMV alike; called video, which also serves where audio is expected.
    (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9\x00\xaa\x00\x62\xce\x6c", _video("asf")),
    (b"\x00\x00\x01\xba", _video("mpeg")),  # MPEG program stream
)


def _by_prefix(head: bytes) -> DetectedFormat | None:
    for prefix, found in _PREFIXES:
        if head.startswith(prefix):
            return found
    return None


def _bmp(head: bytes) -> DetectedFormat | None:
    # "BM" alone is too weak; the DIB header that follows has one of a few known sizes.
    dib_header_size = int.from_bytes(head[14:18], "little")
    if head[:2] == b"BM" and len(head) >= 18 and dib_header_size in (12, 16, 40, 52, 56, 64, 108, 124):
        return _image("bmp")
    return None


def _riff(head: bytes) -> DetectedFormat | None:
    if head[:4] not in (b"RIFF", b"RF64", b"BW64"):
        return None
    return {b"WAVE": _audio("wav"), b"WEBP": _image("webp"), b"AVI ": _video("avi")}.get(head[8:12])


def _aiff(head: bytes) -> DetectedFormat | None:
    return _audio("aiff") if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC") else None


# ISO base media file format (MP4, QuickTime, HEIF, AVIF, 3GP): the ftyp box's brands say which.
_AVIF_BRANDS = {b"avif", b"avis"}
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


def _iso_bmff(head: bytes) -> DetectedFormat | None:
    box_type = head[4:8]
    if box_type != b"ftyp":
        # Old QuickTime files start straight with an atom; require a plausible atom size too.
        size = int.from_bytes(head[:4], "big")
        return _video("mov") if box_type in _QUICKTIME_ATOMS and size in range(8, 1 << 32) else None
    size = int.from_bytes(head[:4], "big")
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, min(size, len(head)) - 3, 4)}
    brands = {major} | compatible
    # Images first: a HEIF/AVIF still may also list mp4-ish brands, never the reverse.
    if major in _AVIF_BRANDS or (major in _HEIF_BRANDS and brands & _AVIF_BRANDS):
        return _image("avif")
    if major in _HEIF_BRANDS:
        return _image("heic")
    if major in _AUDIO_BRANDS:
        return _audio("m4a")
    if major == b"qt  ":
        return _video("mov")
    if major[:3] in (b"3gp", b"3g2"):
        return _video("3gp")
    if not brands & {b"isom", b"iso2", b"mp41", b"mp42"} and brands & (_AVIF_BRANDS | _HEIF_BRANDS):
        return _image("avif" if brands & _AVIF_BRANDS else "heic")
    # isom, mp41, mp42, avc1, dash, M4V and the many vendor brands: video, unless the movie header is
    # in view and its tracks' handlers ("hdlr" boxes) name sound and no video, as in an .m4a
    # written with a generic brand.
    handlers = {head[i + 12 : i + 16] for i in _find_all(head, b"hdlr")}
    if b"soun" in handlers and b"vide" not in handlers:
        return _audio("m4a")
    return _video("mp4")


def _find_all(data: bytes, needle: bytes) -> list[int]:
    found, at = [], data.find(needle)
    while at >= 0:
        found.append(at)
        at = data.find(needle, at + 1)
    return found


def _matroska(head: bytes) -> DetectedFormat | None:
    if head[:4] != b"\x1a\x45\xdf\xa3":
        return None
    doctype = _ebml_doctype(head[:64])
    fmt = "webm" if doctype == b"webm" else "mkv"
    # Matroska holds audio-only files too (.mka, audio-only WebM). Call it audio only when the track
    # list is in view and lists audio tracks and no video track; otherwise video.
    tracks = head.find(b"\x16\x54\xae\x6b")
    if tracks >= 0:
        end = head.find(b"\x1f\x43\xb6\x75", tracks)  # first Cluster: past the track list
        track_list = head[tracks : end if end >= 0 else len(head)]
        has_video = b"\x83\x81\x01" in track_list  # TrackType (0x83), 1 byte, 1 = video
        has_audio = b"\x83\x81\x02" in track_list  # 2 = audio
        if has_audio and not has_video:
            return _audio(fmt)
    return _video(fmt)


def _ebml_doctype(header: bytes) -> bytes | None:
    at = header.find(b"\x42\x82")  # DocType element
    if at < 0 or at + 2 >= len(header):
        return None
    size_byte = header[at + 2]
    if not size_byte & 0x80:  # only the one-byte size form occurs in practice
        return None
    size = size_byte & 0x7F
    return header[at + 3 : at + 3 + size]


def _ogg(head: bytes) -> DetectedFormat | None:
    if head[:4] != b"OggS" or len(head) < 28:
        return None
    first_packet = head[27 + head[26] :]
    if first_packet.startswith(b"\x80theora") or b"\x80theora" in head[:4096]:
        return _video("ogv")
    if first_packet.startswith(b"OpusHead"):
        return _audio("opus")
    return _audio("ogg")  # Vorbis, FLAC-in-Ogg, Speex


def _mpeg_ts(head: bytes) -> DetectedFormat | None:
    # Transport stream: 188-byte packets, each starting with the sync byte 0x47.
    if len(head) > 376 and head[0] == head[188] == head[376] == 0x47:
        return _video("ts")
    return None


def _flv(head: bytes) -> DetectedFormat | None:
    if head[:3] != b"FLV" or len(head) < 5:
        return None
    flags = head[4]  # bit 0: video present, bit 2: audio present
    return _audio("flv") if flags & 0x05 == 0x04 else _video("flv")


def _id3(head: bytes) -> DetectedFormat | None:
    # An ID3v2 tag may precede MP3, AAC (ADTS) or even FLAC; look at what follows when in view.
    if head[:3] != b"ID3" or len(head) < 10 or head[3] == 0xFF:
        return None
    size = (head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F)
    end = 10 + size + (10 if head[5] & 0x10 else 0)  # footer flag
    rest = head[end:].lstrip(b"\x00")  # some encoders pad after the tag as well
    after = detect_format(rest) if rest else None
    return after if after is not None and after.media_type is MediaType.audio else _audio("mp3")


_MPEG_BITRATES = {  # kbit/s by (version 1 or 2, layer), index 1..14
    (1, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (1, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (1, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (2, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (2, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MPEG_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mpeg_frame_length(head: bytes, at: int) -> int | None:
    """Length of the MPEG audio frame whose header starts at ``at``, or None if none starts there."""
    if len(head) < at + 4 or head[at] != 0xFF or head[at + 1] & 0xE0 != 0xE0:
        return None
    version_bits, layer_bits = (head[at + 1] >> 3) & 3, (head[at + 1] >> 1) & 3
    bitrate_index, rate_index = head[at + 2] >> 4, (head[at + 2] >> 2) & 3
    if version_bits == 1 or layer_bits == 0 or bitrate_index in (0, 15) or rate_index == 3:
        return None  # reserved values; free-format streams are too rare to be worth the doubt
    layer = 4 - layer_bits
    version = 1 if version_bits == 3 else 2
    bitrate = _MPEG_BITRATES[(version, min(layer, 2) if version == 2 else layer)][bitrate_index - 1] * 1000
    rate = _MPEG_SAMPLE_RATES[version_bits][rate_index]
    padding = (head[at + 2] >> 1) & 1
    if layer == 1:
        return (12 * bitrate // rate + padding) * 4
    per_frame = 72 if layer == 3 and version == 2 else 144
    return per_frame * bitrate // rate + padding


def _mpeg_audio(head: bytes) -> DetectedFormat | None:
    length = _mpeg_frame_length(head, 0)
    if length is None:
        return None
    # Two bytes of sync are common in random data: when the next frame is in view, it must be there.
    if len(head) >= length + 4 and _mpeg_frame_length(head, length) is None:
        return None
    return _audio("mp3" if (head[1] >> 1) & 3 == 1 else "mp2")


def _adts(head: bytes) -> DetectedFormat | None:
    # AAC in ADTS frames: 12 sync bits, layer 00, then a 13-bit frame length.
    if len(head) < 7 or head[0] != 0xFF or head[1] & 0xF6 != 0xF0 or (head[2] >> 2) & 0xF > 12:
        return None
    length = (head[3] & 0x03) << 11 | head[4] << 3 | head[5] >> 5
    if length < 7:
        return None
    if len(head) >= length + 2 and not (head[length] == 0xFF and head[length + 1] & 0xF6 == 0xF0):
        return None
    return _audio("aac")


# Specific signatures before the loose ones (frame syncs, BMP): JPEG's FF D8 must never read as MPEG.
_PROBES: tuple[Callable[[bytes], DetectedFormat | None], ...] = (
    _by_prefix,
    _riff,
    _aiff,
    _iso_bmff,
    _matroska,
    _ogg,
    _flv,
    _id3,
    _bmp,
    _mpeg_ts,
    _adts,
    _mpeg_audio,
)
