"""Reading a pair of media from a request: JSON URLs or multipart files (API.md, Match)."""

from __future__ import annotations

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from medialayer.errors import MediaLayerError
from medialayer.logic.media_input import MediaInput
from medialayer.models.match import MatchRequest
from medialayer.models.search import SearchOptions, SearchRequest


async def _side(form: FormData, name: str) -> MediaInput:
    value = form.get(name)
    if isinstance(value, UploadFile):
        return MediaInput(field=name, data=await value.read())
    url_field = "url" if name == "file" else f"{name}_url"
    url = form.get(url_field)
    if isinstance(url, str) and url:
        return MediaInput(field=url_field, reference=url)
    raise MediaLayerError("invalid_request", f"multipart body needs a file '{name}' or a field '{url_field}'")


def _invalid(exc: ValidationError) -> MediaLayerError:
    detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
    return MediaLayerError("invalid_request", detail)


async def read_search(request: Request) -> tuple[MediaInput, SearchOptions]:
    """A search query: JSON with ``url`` and options, or multipart ``file`` with options as fields
    (``media_types`` comma-separated or repeated)."""
    try:
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            async with request.form() as form:
                fields = {k: v for k, v in form.items() if k in SearchOptions.model_fields and v != ""}
                kinds = [k for value in form.getlist("media_types") if isinstance(value, str)
                         for k in value.split(",") if k.strip()]
                options = SearchOptions.model_validate({**fields, "media_types": [k.strip() for k in kinds] or None})
                return await _side(form, "file"), options
        body = SearchRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        raise _invalid(exc) from None
    return MediaInput(field="url", reference=body.url), SearchOptions.model_validate(body.model_dump(exclude={"url"}))


async def read_pair(request: Request) -> tuple[MediaInput, MediaInput]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        async with request.form() as form:
            return await _side(form, "source"), await _side(form, "target")
    try:
        body = MatchRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        raise _invalid(exc) from None
    return (MediaInput(field="source_url", reference=body.source_url),
            MediaInput(field="target_url", reference=body.target_url))
