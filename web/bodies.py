"""Reading request bodies: size-limited, parsed, and validated into typed models."""

from __future__ import annotations

import json
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from web.errors import BadRequest

Model = TypeVar("Model", bound=BaseModel)


async def read_model(request: Request, model: type[Model]) -> Model:
    """The body as `model`: 400 for bad JSON, 415 for a wrong type, 422 for bad fields."""
    content_type = request.headers.get("content-type", "application/json")
    if not content_type.split(";")[0].strip().lower().endswith(("/json", "+json")):
        raise BadRequest(415, "send the body as application/json")
    raw = await read_body(request)
    try:
        data = json.loads(raw) if raw else None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(400, f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest(400, "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest(422, describe(exc), code="invalid_input") from None


def path_id(request: Request, what: str) -> int:
    """The numeric `{id}` of the path, or a clear 422 naming what it should identify."""
    raw: str = request.path_params["id"]
    if not raw.isdigit():
        raise BadRequest(422, f"not a {what} id: {raw!r}", code="invalid_input")
    return int(raw)


async def read_body(request: Request) -> bytes:
    """The whole body, refused with 413 as soon as it passes the configured limit."""
    limit: int = request.app.state.settings.max_body_bytes
    declared = request.headers.get("content-length", "")
    too_large = BadRequest(413, f"the body is larger than {limit} bytes")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def describe(exc: ValidationError) -> str:
    """One readable sentence per problem: `field.path: message`."""
    parts = []
    for problem in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in problem["loc"]) or "body"
        parts.append(f"{where}: {problem['msg']}")
    return "; ".join(parts)
