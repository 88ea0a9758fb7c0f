"""OpenAPI 3.1 document at `/openapi.json`, built from the operations each API module lists.

The document tells the truth a client can rely on: each operation's success status as the
route returns it (`status`), every path parameter declared (ids are integers in the
database's range), raw bodies such as a CSV import declared with their media type, and
each component schema defined once (two models of one name get distinct names).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse

from richsms.types import ID_MAX

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
# Statuses any route may answer whatever it does: the body reader's and the error mapping's.
_COMMON_ERRORS = (400, 413, 415, 422)
_PATH_PARAMETER = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?}")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    request: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    errors: tuple[int, ...] = (401,)
    public: bool = False
    tags: tuple[str, ...] = field(default_factory=tuple)
    status: int = 200
    """The status of a success, as the route returns it (201 created, 202 accepted…)."""
    body: str | None = None
    """Media type of a raw request body (e.g. `text/csv`), when it is not a JSON model."""
    response_media: str | None = None
    """Media type of a non-JSON success body (e.g. `image/svg+xml`, `text/csv`)."""


def build_schema(operations: list[Operation]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    for op in operations:
        entry: dict[str, Any] = {"summary": op.summary, "responses": {}}
        if op.tags:
            entry["tags"] = list(op.tags)
        if not op.public:
            entry["security"] = [{"bearer": []}]
        parameters = [_path_parameter(name) for name in _PATH_PARAMETER.findall(op.path)]
        if parameters:
            entry["parameters"] = parameters
        if op.request is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _ref(op.request, components)}},
            }
        elif op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {op.body: {"schema": {"type": "string"}}},
            }
        ok: dict[str, Any] = {"description": "Success"}
        if op.response is not None:
            ok["content"] = {"application/json": {"schema": _ref(op.response, components)}}
        elif op.response_media is not None:
            ok["content"] = {op.response_media: {"schema": {"type": "string"}}}
        entry["responses"][str(op.status)] = ok
        errors = set(op.errors)
        if op.request is not None or op.body is not None:
            errors.update(_COMMON_ERRORS)
        if parameters:
            errors.update((404, 422))
        if not op.public:
            errors.add(401)
        for status in sorted(errors):
            entry["responses"][str(status)] = {
                "description": "error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        paths.setdefault(_openapi_path(op.path), {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "richsms", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _openapi_path(path: str) -> str:
    """`/api/groups/{group_id:int}` → `/api/groups/{group_id}`."""
    return _PATH_PARAMETER.sub(lambda m: "{" + m.group(1) + "}", path)


def _path_parameter(name: str) -> dict[str, Any]:
    schema: dict[str, Any]
    if name == "id" or name.endswith("_id"):
        schema = {"type": "integer", "minimum": 1, "maximum": ID_MAX}
    else:
        schema = {"type": "string", "minLength": 1, "maxLength": 64}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, str]:
    """Register `model` (and the models it uses) once; a different model already holding a
    name gets a name qualified by its module, and references are rewritten to match."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions: dict[str, Any] = schema.pop("$defs", {})
    definitions[model.__name__] = schema
    qualifier = model.__module__.rsplit(".", 1)[-1]
    renames: dict[str, str] = {}
    for name, definition in definitions.items():
        if name in components and components[name] != definition:
            renames[name] = f"{qualifier}.{name}"
    if renames:
        text = json.dumps(definitions)
        for old, new in renames.items():
            text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
        definitions = json.loads(text)
    for name, definition in definitions.items():
        final = renames.get(name, name)
        if final in components and components[final] != definition:
            final = f"{model.__module__}.{name}"  # a clash even once qualified: fully
        components[final] = definition
    name = renames.get(model.__name__, model.__name__)
    return {"$ref": f"#/components/schemas/{name}"}


async def schema_endpoint(request: Request) -> JSONResponse:
    return JSONResponse(build_schema(request.app.state.operations))
