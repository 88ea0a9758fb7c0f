"""The app factory: `create_app(settings)` wires routes, errors and shared state."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route

from richsms.clock import Clock, SystemClock
from richsms.db import make_engine
from richsms.settings import Settings
from web import health, openapi
from web.api import operations as api_operations
from web.api import routes as api_routes
from web.auth import BearerAuth
from web.errors import HANDLERS

log = logging.getLogger("richsms")


def create_app(
    settings: Settings, *, clock: Clock | None = None, run_worker: bool = False
) -> Starlette:
    """The whole web app. Nothing is opened until the lifespan starts."""
    settings.validate()
    engine = make_engine(settings.database_url)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        log.info("richsms serving with the %s provider", settings.provider)
        try:
            yield
        finally:
            engine.dispose()

    app = Starlette(
        routes=[
            Route("/healthz", health.healthz, methods=["GET"]),
            Route("/openapi.json", openapi.schema_endpoint, methods=["GET"]),
            Mount(
                "/api",
                routes=api_routes(),
                middleware=[Middleware(BearerAuth)],
                max_body_size=settings.max_body_bytes,
            ),
        ],
        exception_handlers=HANDLERS,  # type: ignore[arg-type]
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.clock = clock or SystemClock()
    app.state.run_worker = run_worker
    app.state.operations = [*health.OPERATIONS, *api_operations()]
    return app
