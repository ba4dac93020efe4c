"""The image engine: every format decodes, edits of one photo match, different photos do not."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from medialayer.errors import MediaLayerError
from medialayer.media.image.engine import ImageEngine
from tests.conftest import encode, synthetic_photo

engine = ImageEngine()


def _similarity(a: bytes, b: bytes) -> float:
    return engine.compare(engine.fingerprint_bytes(a), engine.fingerprint_bytes(b)).similarity


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return synthetic_photo(101, (640, 480))


@pytest.mark.parametrize(("fmt", "kwargs"), [("JPEG", {"quality": 85}), ("PNG", {}), ("WEBP", {"quality": 80}),
                                             ("GIF", {}), ("BMP", {}), ("TIFF", {}), ("AVIF", {"quality": 60}),
                                             ("HEIF", {"quality": 60})])
def test_every_supported_format_decodes_and_matches(photo, fmt: str, kwargs: dict) -> None:
    data = encode(photo, fmt, **kwargs)
    assert _similarity(encode(photo, "PNG"), data) >= 0.9


def test_exif_orientation_is_applied(photo) -> None:
    rotated = photo.transpose(Image.Transpose.ROTATE_90)  # stored sideways...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...and tagged "rotate 90 degrees clockwise to view", which undoes it
    tagged = io.BytesIO()
    rotated.save(tagged, "JPEG", quality=90, exif=exif)
    decoded = engine.decode(tagged.getvalue())
    assert (decoded.width, decoded.height) == photo.size
    # Rotations match anyway (dihedral hashes); the orientation shows the tag was honoured.
    comparison = engine.compare(engine.fingerprint_bytes(encode(photo, "PNG")), engine.fingerprint(decoded))
    assert comparison.details["orientation"] == "identity"


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "CMYK", "I;16", "L", "1"])
def test_modes_are_normalised(photo, mode: str) -> None:
    if mode == "I;16":
        img = Image.fromarray(np.asarray(photo.convert("L"), dtype=np.uint16) * 257)
    else:
        img = photo.convert(mode)
    fmt = "TIFF" if mode in ("CMYK", "I;16") else "PNG"
    assert _similarity(encode(photo, "PNG"), encode(img, fmt)) >= 0.85


def test_transparency_is_flattened_onto_white(photo) -> None:
    rgba = photo.convert("RGBA")
    rgba.putalpha(Image.new("L", photo.size, 0))  # fully transparent
    white = Image.new("RGB", photo.size, (255, 255, 255))
    decoded = engine.decode(encode(rgba, "PNG"))
    assert decoded.rgb.min() == 255
    assert _similarity(encode(rgba, "PNG"), encode(white, "PNG")) >= 0.85


@pytest.mark.parametrize("data", [b"", b"not an image at all", b"\xff\xd8\xff" + b"\0" * 100,
                                  b"\x89PNG\r\n\x1a\n" + b"\0" * 50])
def test_garbage_is_unsupported_media(data: bytes) -> None:
    with pytest.raises(MediaLayerError) as err:
        engine.decode(data)
    assert err.value.code == "unsupported_media"


def test_truncated_jpeg_is_unsupported_or_decoded_never_crashes(photo) -> None:
    data = encode(photo, quality=90)
    with pytest.raises(MediaLayerError) as err:
        engine.decode(data[: len(data) // 3])
    assert err.value.code == "unsupported_media"


def test_decompression_bomb_is_refused() -> None:
    # A 20000 x 20000 PNG of one colour compresses to a few hundred KB but is 400 megapixels.
    bomb = encode(Image.new("L", (20000, 20000), 0), "PNG", optimize=True)
    assert len(bomb) < 2_000_000
    with pytest.raises(MediaLayerError) as err:
        engine.decode(bomb)
    assert err.value.code == "file_too_large"


@pytest.mark.parametrize("edit", [
    lambda i: ImageOps.mirror(i),
    lambda i: i.resize((160, 120)),
    lambda i: i.crop((64, 48, 576, 432)),  # 10% per side
    lambda i: i.crop((64, 48, 640, 480)),  # 10% off-centre
    lambda i: ImageOps.expand(i, border=(0, 48), fill=(0, 0, 0)),  # letterbox
    lambda i: ImageOps.grayscale(i),
], ids=["mirror", "quarter size", "crop centred", "crop off-centre", "letterbox", "grayscale"])
def test_edits_of_one_photo_match(photo, edit) -> None:
    assert _similarity(encode(photo, quality=90), encode(edit(photo), quality=60)) >= 0.85


def test_different_photos_do_not_match() -> None:
    scores = [_similarity(encode(synthetic_photo(a)), encode(synthetic_photo(b))) for a, b in [(1, 2), (3, 4), (5, 6)]]
    assert max(scores) < 0.6


def test_flat_images_match_only_their_own_colour() -> None:
    red, blue = Image.new("RGB", (300, 200), (200, 20, 20)), Image.new("RGB", (300, 200), (20, 20, 200))
    assert _similarity(encode(red, "PNG"), encode(blue, "PNG")) == 0.0
    assert _similarity(encode(red, "PNG"), encode(red, quality=70)) >= 0.85
    gradient = Image.linear_gradient("L").resize((300, 200)).convert("RGB")
    assert _similarity(encode(gradient, "PNG"), encode(red, "PNG")) < 0.5


def test_flat_image_never_matches_a_detailed_one(photo) -> None:
    grey = Image.new("RGB", photo.size, (128, 128, 128))
    assert _similarity(encode(grey, "PNG"), encode(photo)) == 0.0


def test_text_on_white_is_detailed_enough_to_tell_apart() -> None:
    def page(text: str) -> bytes:
        img = Image.new("RGB", (400, 300), "white")
        ImageDraw.Draw(img).text((20, 20), text * 8, fill="black")
        return encode(img, "PNG")

    assert _similarity(page("hello world\n"), page("hello world\n")) == 1.0


def test_fingerprint_round_trips_and_is_deterministic(photo) -> None:
    data = encode(photo)
    first, second = engine.fingerprint_bytes(data), engine.fingerprint_bytes(data)
    blob = engine.to_bytes(first)
    assert blob == engine.to_bytes(second)
    restored = engine.from_bytes(blob)
    assert np.array_equal(restored.hashes, first.hashes)
    assert np.array_equal(restored.usable, first.usable)
    assert engine.compare(restored, first).similarity == 1.0
    with pytest.raises(MediaLayerError):
        engine.from_bytes(b"\x09garbage")


def test_confidence_mapping() -> None:
    assert [engine.confidence(s) for s in (1.0, 0.93, 0.9, 0.85, 0.8, 0.7, 0.5)] == [
        "high", "high", "medium", "medium", "low", "low", "none"]
