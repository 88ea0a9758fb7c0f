"""`OPTIONS` on the API: a 204 whose `Allow` lists every method the path serves. Each
method of a path is its own route, and Starlette's router answers a method no route takes
from the first route whose path matched: a 405 naming that route's methods only."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send


class AllowedMethods:
    """Answers `OPTIONS` for a path some of `routes` serve; passes anything else on (an
    unknown path stays the router's 404)."""

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            allowed = self.allowed(scope)
            if allowed:
                answer = Response(status_code=204, headers={"Allow": ", ".join(allowed)})
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def allowed(self, scope: Scope) -> list[str]:
        methods: set[str] = set()
        for route in self.routes:
            if isinstance(route, Route) and route.methods:
                match, _ = route.matches(scope)
                if match is not Match.NONE:  # the path matched, whatever the method
                    methods |= route.methods
        return sorted(methods | {"OPTIONS"}) if methods else []
