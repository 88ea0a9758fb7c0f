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
    raw = await request.body()
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


def describe(exc: ValidationError) -> str:
    """One readable sentence per problem: `field.path: message`."""
    parts = []
    for problem in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in problem["loc"]) or "body"
        parts.append(f"{where}: {problem['msg']}")
    return "; ".join(parts)
