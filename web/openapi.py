"""Routes declared once, and the OpenAPI 3.1 document at `/openapi.json` built from them.

A module declares each route with its operation (`RouteTable`, FastAPI-style decorators):
the declaration is both the Starlette route the app serves and the operation the document
shows, so the two cannot drift apart. The document is built by walking the app's own
routes, mounts included (`operations`), and `served` lists what the app answers so a test
can hold every served route to the document.

The document tells the truth a client can rely on: each operation's success status as the
route returns it (`status`), every path parameter declared (ids are integers in the
database's range), raw bodies such as a CSV import declared with their media type, and
each component schema defined once (two models of one name get distinct names).

Every route behind the bearer token declares the permission it needs (`needs=`, one of
richsms.accounts.roles.Permission): a route declared without one does not load, and a token whose
role lacks it is refused (403, saying which) before the route reads anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from inspect import Parameter, iscoroutinefunction, signature
from typing import Any, Protocol, TypeVar, get_type_hints, runtime_checkable

from pydantic import BaseModel, ConfigDict, create_model
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Receive, Scope, Send

from richsms.accounts.roles import Permission, refusal
from richsms.types import ID_MAX
from web.auth import principal_of
from web.bodies import path_id, read_model  # also bounds `{name:int}` before any route compiles
from web.context import context
from web.errors import error_response

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
_PATH_PARAMETER = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?}")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    request: type[BaseModel] | None = None
    body_optional: bool = False
    """The `request` body may be left out (read with `read_model(..., optional=True)`)."""
    response: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    """Statuses the route answers besides those its shape implies, which the document adds:
    401 unless public, 404 and 422 with a path parameter, 400, 413, 415 and 422 with a body."""
    public: bool = False
    tags: tuple[str, ...] = field(default_factory=tuple)
    status: int = 200
    """The status of a success, as the route returns it (201 created, 202 accepted…)."""
    body: str | None = None
    """Media type of a raw request body (e.g. `text/csv`), when it is not a JSON model."""
    request_media: str = "application/json"
    """Media type `request` is sent as (a form's is `application/x-www-form-urlencoded`)."""
    response_media: str | None = None
    """Media type of a non-JSON success body (e.g. `image/svg+xml`, `text/csv`)."""
    error_media: str | None = None
    """Media type of the errors when they are pages, not JSON (a recipient's 404 page)."""
    redirect: int | None = None
    """A redirect answered besides the success (a short link's 302 to its URL)."""
    patterns: tuple[tuple[str, str], ...] = ()
    """(name, regex) of string path parameters narrower than any short string."""
    examples: tuple[tuple[str, str], ...] = ()
    """(name, value) of path parameters whose example a client cannot guess (a file)."""
    needs: Permission | None = None
    """The permission a token's role must grant (richsms.accounts.roles); every non-public route
    declares one."""


def build_schema(operations: list[Operation]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    for op in operations:
        entry: dict[str, Any] = {"summary": op.summary, "responses": {}}
        if op.tags:
            entry["tags"] = list(op.tags)
        if not op.public:
            entry["security"] = [{"bearer": []}]
        patterns, examples = dict(op.patterns), dict(op.examples)
        parameters = [
            _path_parameter(name, convertor, patterns.get(name), examples.get(name))
            for name, convertor in _PATH_PARAMETER.findall(op.path)
        ]
        if parameters:
            entry["parameters"] = parameters
        if op.request is not None:
            entry["requestBody"] = {
                "required": not op.body_optional,
                "content": {op.request_media: {"schema": _ref(op.request, components)}},
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
        if op.redirect is not None:
            entry["responses"][str(op.redirect)] = {
                "description": "Redirect",
                "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
            }
        errors = set(op.errors)
        if op.request is not None or op.body is not None:
            errors.update(_COMMON_ERRORS)
        if parameters:
            errors.update((404, 422))
        if not op.public:
            errors.update((401, 403))
        error_content: dict[str, Any] = (
            {op.error_media: {"schema": {"type": "string"}}}
            if op.error_media is not None
            else {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        )
        for status in sorted(errors):
            entry["responses"][str(status)] = {"description": "error", "content": error_content}
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


def _path_parameter(
    name: str, convertor: str, pattern: str | None, example: str | None
) -> dict[str, Any]:
    """An `int` parameter (or, with no convertor, an `id` or `*_id`) is an id in the
    database's range; any other a short string, or one matching its declared pattern."""
    schema: dict[str, Any]
    if pattern is not None:
        schema = {"type": "string", "pattern": pattern}
    elif convertor == "int" or (not convertor and (name == "id" or name.endswith("_id"))):
        schema = {"type": "integer", "minimum": 1, "maximum": ID_MAX}
    else:
        schema = {"type": "string", "minLength": 1, "maxLength": 64}
    parameter = {"name": name, "in": "path", "required": True, "schema": schema}
    if example is not None:
        parameter["example"] = int(example) if schema["type"] == "integer" else example
    return parameter


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


class Deleted(BaseModel):
    # What a deletion answers (`RouteTable.deletion`); no docstring: it would become the
    # description of each model made from it.
    id: int
    deleted: bool = True


Handler = TypeVar("Handler", bound=Callable[..., Any])


def _use_case(
    handler: Callable[..., Any], operation: Operation, reads: bool
) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint of a synchronous use case (see `RouteTable.route`)."""
    model = operation.request
    parameters = signature(handler).parameters.values()
    wants = {p.name for p in parameters if p.kind is not Parameter.VAR_KEYWORD}
    if any(p.kind is Parameter.VAR_KEYWORD for p in parameters):  # `**ids`: every path one
        wants |= {name for name, _ in _PATH_PARAMETER.findall(operation.path)}
    ids = {
        name: _what(operation.path, name)
        for name, convertor in _PATH_PARAMETER.findall(operation.path)
        if not convertor and (name == "id" or name.endswith("_id"))
    }
    if {"reading", "writing"} & wants:
        unit = "read_then_write"
    elif "session" in wants:
        unit = "read" if reads else "write"
    else:
        unit = "none"

    async def endpoint(request: Request) -> Response:
        ctx = context(request)
        given: dict[str, Any] = {"request": request, "ctx": ctx}
        for name, value in request.path_params.items():
            given[name] = path_id(request, ids[name], name) if name in ids else value
        if model is not None:
            given["body"] = await read_model(request, model, optional=operation.body_optional)

        def run(**sessions: Session) -> Any:
            available = {**given, **sessions}
            return handler(**{name: available[name] for name in wants})

        result: Any
        if unit == "read_then_write":
            result = await ctx.in_read_then_write(
                lambda reading, writing: run(reading=reading, writing=writing)
            )
        elif unit == "read":
            result = await ctx.in_read_session(lambda session: run(session=session))
        elif unit == "write":
            result = await ctx.in_session(lambda session: run(session=session))
        else:
            result = await run_in_threadpool(run)
        if isinstance(result, Response):
            return result
        if isinstance(result, BaseModel):
            result = result.model_dump(mode="json")
        return JSONResponse(result, status_code=operation.status)

    return endpoint


def _what(path: str, name: str) -> str:
    """What an id names, for its errors: `/coupon-pools/{id}` → `coupon pool`."""
    before = path.split("/{" + name + "}", 1)[0].rsplit("/", 1)[-1]
    return before.removesuffix("s").replace("-", " ")


class DocumentedRoute(Route):
    """A Starlette route that carries its OpenAPI operation (one method per route)."""

    def __init__(
        self, operation: Operation, endpoint: Callable[[Request], Awaitable[Response]]
    ) -> None:
        super().__init__(operation.path, endpoint, methods=[operation.method])
        self.operation = operation

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        needs = self.operation.needs
        if needs is not None:
            who = principal_of(scope)
            if who is None or not who.can(needs):
                message = (
                    "no API token carries this request"
                    if who is None
                    else refusal(who.role, needs)
                    + ("; a cashier holds no API token" if who.role == "cashier" else "")
                )
                await error_response(403, "forbidden", message)(scope, receive, send)
                return
        await super().handle(scope, receive, send)


class DocumentedMount(Mount):
    """A mounted app (static files) with the one operation that describes what it serves
    under `{path}`."""

    def __init__(self, path: str, app: Any, operation: Operation, name: str) -> None:
        super().__init__(path, app=app, name=name)
        self.operation = operation


class RouteTable:
    """A module's routes, each declared once with its operation:

        api = RouteTable(tags=("contacts",))

        @api.get("/contacts/{contact_id:int}", "A contact.", response=ContactOut, errors=(404,))
        async def show_contact(request: Request) -> JSONResponse: ...

    `api.routes` are then the module's Starlette routes; paths are relative to where they
    are mounted (`/api`), and the document shows them with the mount's prefix.
    """

    def __init__(self, *, tags: tuple[str, ...] = (), public: bool = False) -> None:
        self.routes: list[BaseRoute] = []
        self._tags = tags
        self._public = public

    def route(
        self, method: str, path: str, summary: str, *, reads: bool = False, **options: Any
    ) -> Callable[[Handler], Handler]:
        """Declares the decorated handler at `method path`; `options` are `Operation`'s,
        the table's tags and publicity unless given.

        An `async def` handler takes the request and answers it. A plain `def` handler is
        a use case, run in the threadpool and given by name what its parameters ask for:
        `request`, `ctx` (the `AppContext`), `body` (read and validated as the operation's
        `request` model), each path parameter (an id as the document types it: `{id}` is
        read with `path_id`, a 422 or 404 naming what it identifies), and its unit of work:
        `session` (committed when it returns; read-only with `reads=True`), or `reading`
        and `writing` (`AppContext.in_read_then_write`); none, it runs outside any. What it
        returns is answered as JSON with the operation's status (a model dumped as JSON, a
        response as is). Its types are the operation's unless `options` say otherwise: the
        `body` parameter's model is the `request`, a returned model the `response`.
        """
        defaults: dict[str, Any] = {"tags": self._tags, "public": self._public}
        if not options.get("public", self._public) and options.get("needs") is None:
            raise TypeError(f"{method} {path} declares no permission: add needs=Permission...")

        def declare(handler: Handler) -> Handler:
            if iscoroutinefunction(handler):
                operation = Operation(method, path, summary, **{**defaults, **options})
                self.routes.append(DocumentedRoute(operation, handler))
                return handler
            hints = get_type_hints(handler)
            declared = {"request": hints.get("body"), "response": hints.get("return")}
            typed = {
                option: model
                for option, model in declared.items()
                if isinstance(model, type) and issubclass(model, BaseModel)
            }
            operation = Operation(method, path, summary, **{**defaults, **typed, **options})
            self.routes.append(DocumentedRoute(operation, _use_case(handler, operation, reads)))
            return handler

        return declare

    def get(self, path: str, summary: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, summary, **options)

    def post(self, path: str, summary: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, summary, **options)

    def put(self, path: str, summary: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, summary, **options)

    def patch(self, path: str, summary: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, summary, **options)

    def delete(self, path: str, summary: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, summary, **options)

    def deletion(
        self, path: str, summary: str, remove: Callable[..., object], name: str, **options: Any
    ) -> None:
        """DELETE `path`: `remove(session=..., <path id>=...)` in one unit of work (a row
        that is not there is its NotFound: 404), answered `{"id": ..., "deleted": true}`,
        documented as the model `name`."""

        def delete(session: Session, **ids: int) -> dict[str, Any]:
            remove(session=session, **ids)
            (deleted,) = ids.values()
            return Deleted(id=deleted).model_dump(mode="json")

        response = create_model(name, __base__=Deleted)
        self.route("DELETE", path, summary, response=response, **options)(delete)

    def listing(
        self,
        path: str,
        summary: str,
        rows: Callable[..., Iterable[Any]],
        out: Callable[[Any], BaseModel],
        response: type[BaseModel],
        **options: Any,
    ) -> None:
        """GET `path`: every row `rows(session=...)` gives, each answered as `out` makes
        it, in the `response` model's one field (`{"segments": [...]}`)."""
        (name,) = response.model_fields

        def every(session: Session) -> BaseModel:
            return response.model_validate({name: [out(row) for row in rows(session=session)]})

        self.route("GET", path, summary, response=response, **options)(every)

    def showing(
        self,
        path: str,
        summary: str,
        get: Callable[..., Any],
        out: Callable[[Any], BaseModel],
        **options: Any,
    ) -> None:
        """GET `path`: the row `get(session=..., <path id>=...)` finds (a row that is not
        there is its NotFound: 404), answered as `out` makes it, documented as what `out`
        returns."""

        def show(session: Session, **ids: int) -> BaseModel:
            return out(get(session=session, **ids))

        response = get_type_hints(out)["return"]
        self.route("GET", path, summary, response=response, **options)(show)

    def mount(self, path: str, app: Any, summary: str, *, name: str, **options: Any) -> None:
        """A mounted app serving GET under `path/{path}`, documented as one operation."""
        operation = Operation("GET", path + "/{path}", summary, public=self._public, **options)
        self.routes.append(DocumentedMount(path, app, operation, name))


def operations(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[Operation]:
    """The operations of every documented route, mounts walked, paths made absolute."""
    for route in routes:
        if isinstance(route, DocumentedRoute | DocumentedMount):
            yield replace(route.operation, path=prefix + route.operation.path)
        elif isinstance(route, Mount):
            yield from operations(route.routes, prefix + route.path)


def served(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of everything the routes answer, mounts walked (HEAD goes with GET;
    a mounted app serves GET under `{path}`)."""
    for route in routes:
        if isinstance(route, Route):
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                yield method, _openapi_path(prefix + route.path)
        elif isinstance(route, Mount):
            if route.routes:
                yield from served(route.routes, prefix + route.path)
            else:
                yield "GET", _openapi_path(prefix + route.path + "/{path}")


@runtime_checkable
class Documented(Protocol):
    """An app that can list the operations of everything it serves."""

    def operations(self) -> list[Operation]: ...


class OpenApiDocument(BaseModel):
    """An OpenAPI 3.1 document (see https://spec.openapis.org/oas/v3.1.0)."""

    model_config = ConfigDict(extra="allow")
    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]


document = RouteTable(public=True)


@document.get(
    "/openapi.json",
    "This document: every route the service answers, the marketers' UI aside.",
    response=OpenApiDocument,
    errors=(),
)
async def schema_endpoint(request: Request) -> Response:
    app = request.scope["app"]
    assert isinstance(app, Documented)
    return JSONResponse(build_schema(app.operations()))
