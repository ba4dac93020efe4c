"""Reading a pair of media from a request: JSON URLs or multipart files (API.md, Match)."""

from __future__ import annotations

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from medialayer.errors import MediaLayerError
from medialayer.logic.media_input import MediaInput
from medialayer.models.match import MatchRequest


async def _side(form: FormData, name: str) -> MediaInput:
    value = form.get(name)
    if isinstance(value, UploadFile):
        return MediaInput(field=name, data=await value.read())
    url = form.get(f"{name}_url")
    if isinstance(url, str) and url:
        return MediaInput(field=f"{name}_url", reference=url)
    raise MediaLayerError("invalid_request", f"multipart body needs a file '{name}' or a field '{name}_url'")


async def read_pair(request: Request) -> tuple[MediaInput, MediaInput]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        async with request.form() as form:
            return await _side(form, "source"), await _side(form, "target")
    try:
        body = MatchRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        raise MediaLayerError("invalid_request", detail) from None
    return (MediaInput(field="source_url", reference=body.source_url),
            MediaInput(field="target_url", reference=body.target_url))
