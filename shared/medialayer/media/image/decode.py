"""Bytes to a normalised luminance image, whatever the container, mode or orientation."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from medialayer.errors import MediaLayerError

try:  # HEIC (and AVIF on older Pillow) through the maintained plugin, when installed.
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - the plugin ships with every deployment
    pass

# Hashing works on 64x64 block means of windows down to 0.7 of the frame: 384 px on the long side
# keeps every block a few pixels wide. JPEG draft decoding goes straight to about this size.
WORKING_SIZE = 384
# 100 megapixels: larger images are refused before their pixels are decoded (decompression bombs).
MAX_PIXELS = 100_000_000
# Only these decoders ever see client bytes (Pillow reads dozens of formats; fewer parsers, fewer risks).
# MPO is the multi-picture JPEG that phone cameras write.
Image.init()
FORMATS = tuple(f for f in ("JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF", "HEIF", "AVIF") if f in Image.OPEN)
# Pillow refuses images over twice this outright (DecompressionBombError); decode_image refuses
# anything over it from the header, before a pixel is decoded.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# Transparent pixels become white, as they do when a transparent image is saved as a JPEG.
BACKGROUND = (255, 255, 255)
_EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class DecodedImage:
    luma: np.ndarray  # float32 (h, w), 0..255, long side WORKING_SIZE or less
    rgb: np.ndarray  # uint8 (h, w, 3), same size
    width: int  # original size, after EXIF orientation
    height: int


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        img = Image.fromarray(np.clip(arr * 255.0 / top, 0, 255).astype(np.uint8))
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, BACKGROUND)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return img.convert("RGB")


def decode_image(data: bytes) -> DecodedImage:
    """Decode, orient, flatten and shrink; refuse bombs and anything Pillow cannot read."""
    try:
        img = Image.open(io.BytesIO(data), formats=FORMATS)
        if img.width * img.height > MAX_PIXELS:
            raise MediaLayerError("file_too_large",
                                  f"{img.width}x{img.height} pixels is over the {MAX_PIXELS // 1_000_000} MP cap")
        width, height = img.size
        if img.getexif().get(_EXIF_ORIENTATION, 1) in (5, 6, 7, 8):  # rotated a quarter turn
            width, height = height, width
        img.draft("RGB", (WORKING_SIZE, WORKING_SIZE))  # JPEG: decode at 1/2..1/8 scale
        img.seek(0)  # animated formats: the first frame
        img.load()
        img = ImageOps.exif_transpose(img)
        rgb = _to_rgb(img)
        rgb.thumbnail((WORKING_SIZE, WORKING_SIZE), Image.Resampling.BOX)
    except MediaLayerError:
        raise
    except Image.DecompressionBombError as exc:
        raise MediaLayerError("file_too_large", f"image is too large to decode safely: {exc}") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, IndexError) as exc:
        raise MediaLayerError("unsupported_media", f"not a decodable image ({type(exc).__name__})") from None
    pixels = np.asarray(rgb, dtype=np.uint8)
    if pixels.ndim != 3 or min(pixels.shape[:2]) < 8:
        raise MediaLayerError("unsupported_media", "image is too small to fingerprint (under 8 pixels)")
    # ITU-R BT.601 luma, as PDQ uses.
    luma = pixels.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return DecodedImage(luma=luma, rgb=pixels, width=width, height=height)

