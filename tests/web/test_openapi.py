"""The OpenAPI document holds every route the app serves, the marketers' HTML UI aside:
routes are declared once with their operation, and what is served without a declaration
(a route added the old way, a mount) is found here."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from richsms.settings import Settings
from web.app import RichsmsApp, create_app
from web.openapi import build_schema, served


def _app() -> RichsmsApp:
    # Building the app opens nothing: no database is needed to read its routes.
    return create_app(Settings.from_mapping({"RICHSMS_DATABASE_URL": "sqlite:///:memory:"}))


def _documented(app: RichsmsApp) -> set[tuple[str, str]]:
    document: dict[str, Any] = build_schema(app.operations())
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item}


def _undocumented(app: RichsmsApp) -> list[tuple[str, str]]:
    """What the app answers that its document lacks (the short link, answered before any
    routing, is checked on its own below)."""
    ui = set(served(app.html_ui))
    return sorted(set(served(app.routes)) - ui - _documented(app))


def test_every_served_route_is_in_the_document() -> None:
    assert _undocumented(_app()) == []


def test_the_public_routes_are_in_the_document() -> None:
    documented = _documented(_app())
    for route in [
        ("GET", "/{code}"),
        ("GET", "/p/{token}"),
        ("POST", "/p/{token}/spin/{block_id}"),
        ("POST", "/p/{token}/events/{kind}/{block_id}"),
        ("GET", "/r/{code}"),
        ("POST", "/r/{code}"),
        ("GET", "/img/{image_id}/{width}.webp"),
        ("GET", "/static/{path}"),
        ("GET", "/healthz"),
        ("POST", "/hooks/http/status"),
        ("POST", "/hooks/http/inbound"),
        ("GET", "/openapi.json"),
    ]:
        assert route in documented, route


def test_the_short_link_is_answered_before_routing_and_documented(client: TestClient) -> None:
    app = client.app
    assert isinstance(app, RichsmsApp)
    response = client.get("/Nope12345")
    # The fast path's own page, in the visitor's language: no route of the router answered.
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-language"] == "en"
    assert ("GET", "/{code}") not in set(served(app.routes))
    assert ("GET", "/{code}") in _documented(app)


def test_a_route_served_without_its_operation_is_found() -> None:
    async def planted(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("not in the document")

    app = _app()
    app.router.routes.append(Route("/planted", planted, methods=["GET", "POST"]))
    api = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/api")
    api.routes.append(Route("/planted/{id:int}", planted, methods=["DELETE"]))
    assert _undocumented(app) == [
        ("DELETE", "/api/planted/{id}"),
        ("GET", "/planted"),
        ("POST", "/planted"),
    ]


def test_the_ui_is_the_only_undocumented_set() -> None:
    app = _app()
    ui = set(served(app.html_ui))
    assert ui and all(path == "/" or path.startswith("/ui/") for _method, path in ui)


def test_openapi_json_serves_the_app_s_document(client: TestClient) -> None:
    app = client.app
    assert isinstance(app, RichsmsApp)
    assert client.get("/openapi.json").json() == build_schema(app.operations())
