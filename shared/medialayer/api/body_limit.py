"""Refuse oversized request bodies while they stream in, before the whole body is read."""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medialayer.api.errors import error_response
from medialayer.errors import MediaLayerError
from medialayer.settings import get_settings

# Room for multipart boundaries and form fields around the files.
_MULTIPART_OVERHEAD = 64 * 1024
_MEDIA_IN_PATH = re.compile(r"/(image|audio|video)(/|$)")


def default_body_limit(path: str) -> int:
    """Two files of the path's medium (match takes two); the largest medium's cap elsewhere."""
    settings = get_settings()
    found = _MEDIA_IN_PATH.search(path)
    per_file = settings.max_bytes(found.group(1)) if found else settings.largest_max_bytes
    return 2 * per_file + _MULTIPART_OVERHEAD


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int] = default_body_limit) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        too_large = MediaLayerError("file_too_large", f"request body is over {limit} bytes")
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await error_response(too_large)(scope, receive, send)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise too_large
            return message

        await self.app(scope, counting_receive, send)
