"""The one error type of the service and its envelope.

Every failure a client can see is a ``MediaLayerError`` with a stable code from ``API.md``; the
HTTP status follows from the code, so no caller picks statuses by hand.
"""

from __future__ import annotations

from typing import Any

STATUS_BY_CODE: dict[str, int] = {
    "invalid_request": 400,
    "invalid_url": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "feature_disabled": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "file_too_large": 413,
    "duration_too_long": 413,
    "unsupported_media": 415,
    "fetch_failed": 422,
    "quota_exceeded": 429,
    "rate_limited": 429,
    "internal_error": 500,
}


class MediaLayerError(Exception):
    """A failure with a stable, documented code."""

    def __init__(self, code: str, message: str) -> None:
        if code not in STATUS_BY_CODE:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        return STATUS_BY_CODE[self.code]

    def envelope(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}

    def __repr__(self) -> str:
        return f"MediaLayerError({self.code!r}, {self.message!r})"
