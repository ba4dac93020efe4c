"""The image engine behind the MediaEngine interface."""

from __future__ import annotations

from typing import ClassVar

from medialayer.media.base import Comparison, MediaEngine
from medialayer.media.image import fingerprint as fp
from medialayer.media.image.compare import compare_images
from medialayer.media.image.decode import DecodedImage, decode_image
from medialayer.media.image.index import ImageIndex
from medialayer.models.common import MediaType


class ImageEngine(MediaEngine[DecodedImage, fp.ImageFingerprint]):
    """Confidence (base class): high >= 0.925, medium >= 0.85 (match), low >= 0.70, else none."""

    media_type: ClassVar[MediaType] = MediaType.image
    default_threshold: ClassVar[float] = 0.85

    def decode(self, data: bytes) -> DecodedImage:
        return decode_image(data)

    def fingerprint(self, decoded: DecodedImage) -> fp.ImageFingerprint:
        return fp.fingerprint_image(decoded)

    def compare(self, source: fp.ImageFingerprint, target: fp.ImageFingerprint) -> Comparison:
        return compare_images(source, target)

    def index_type(self) -> type[ImageIndex]:
        return ImageIndex

    def to_bytes(self, fingerprint: fp.ImageFingerprint) -> bytes:
        return fp.to_bytes(fingerprint)

    def from_bytes(self, blob: bytes) -> fp.ImageFingerprint:
        return fp.from_bytes(blob)
