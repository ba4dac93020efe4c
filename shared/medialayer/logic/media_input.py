"""Resolving what a request points at (a URL, an upload, or bytes it carried) into checked bytes."""

from __future__ import annotations

from dataclasses import dataclass

from medialayer.errors import MediaLayerError
from medialayer.fetch.fetcher import fetch_url
from medialayer.fetch.sniff import SNIFF_BYTES, detect_format, ensure_media_type
from medialayer.fetch.urls import validate_url
from medialayer.logic.uploads import UPLOAD_SCHEME, read_upload
from medialayer.models.common import MediaType
from medialayer.models.tenancy import Principal
from medialayer.settings import get_settings


@dataclass(frozen=True)
class MediaInput:
    """One side of a request: exactly one of ``reference`` (URL or upload://ID) and ``data``."""

    field: str
    reference: str | None = None
    data: bytes | None = None

    def validate(self) -> None:
        """Refuse a malformed or private URL before any work is done (no network access)."""
        if self.reference is not None and not self.reference.startswith(UPLOAD_SCHEME):
            validate_url(self.reference, field=self.field)


def load_media(item: MediaInput, media_type: MediaType, principal: Principal,
               also: tuple[MediaType, ...] = ()) -> bytes:
    """Bytes of the given medium (or of one in ``also``), within its cap, recognised from the bytes themselves."""
    max_bytes = get_settings().max_bytes(media_type)
    if item.data is not None:
        data = item.data
        if len(data) > max_bytes:
            raise MediaLayerError("file_too_large",
                                  f"{item.field}: {len(data)} bytes is over the {max_bytes}-byte cap")
    elif item.reference is None:
        raise MediaLayerError("invalid_request", f"{item.field} is required")
    elif item.reference.startswith(UPLOAD_SCHEME):
        data = read_upload(principal, item.reference, max_bytes, item.field)
    else:
        data = fetch_url(item.reference, max_bytes=max_bytes, field=item.field).data
    try:
        ensure_media_type(data, media_type.value, item.field)
    except MediaLayerError:
        detected = detect_format(data[:SNIFF_BYTES])
        if detected is None or detected.media_type not in also:
            raise
    return data
