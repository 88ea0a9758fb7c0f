"""The app factory: `create_app(settings)` wires routes, errors and shared state."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Sequence
from time import perf_counter
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.types import Message, Receive, Scope, Send

from richsms import processes
from richsms.clock import Clock, SystemClock
from richsms.db import make_engine
from richsms.metrics import REDIRECT_SECONDS, REDIRECTS, watch_clicks
from richsms.runtime import Serving, server_runtime
from richsms.settings import Settings
from richsms.write_watch import write_watch
from shortener.anonymize import IpAnonymizer
from shortener.clicks import ClickStore, ClickWriter
from shortener.codes import CodeMaker
from shortener.forwarded import ClientAddress
from shortener.resolver import Resolver
from web.allow import AllowedMethods
from web.api import routes as api_routes
from web.auth import BearerAuth
from web.context import AppContext, HasContext, Limits
from web.errors import HANDLERS
from web.hooks.providers import hooks
from web.hooks.shops import hook_limiter
from web.hooks.shops import hooks as automation_hooks
from web.openapi import Operation, document, operations
from web.operations.health import health
from web.operations.metrics import metrics
from web.recipients.page_events import events
from web.recipients.page_server import PageServer
from web.recipients.pages import pages
from web.recipients.redirect import ShortLinks, miss_limiter
from web.staff.redemption import post_limiter, staff
from web.token_checks import token_checks
from web.trigger_commits import trigger_commits
from web.ui import routes as ui_routes
from web.ui.auth import signin_limiter

log = logging.getLogger("richsms")

SHORT_LINK = Operation(
    "GET",
    "/{code}",
    "A tap on a short link: a 302 to its URL, or the recipient's page itself (200, one "
    "round trip; the click is stored first). Link-preview fetchers get the page's card. "
    "Answered before any routing.",
    public=True,
    tags=("links",),
    response_media="text/html",
    error_media="text/html",
    redirect=302,
    errors=(404, 410, 429, 503),
    patterns=(("code", "^[A-Za-z0-9]{1,32}$"),),
)


class RichsmsApp(Starlette, HasContext):
    """Starlette, except that a tap on a short link is answered before any routing or
    middleware: the redirect is the hottest path and pays for nothing it does not use.
    Its routes read what they use from its typed `context` (`web.context.context`).

    Every route it serves is declared with its OpenAPI operation (`web.openapi`), except
    `html_ui`: the marketers' UI, HTML pages and forms for a browser, not an API."""

    def __init__(
        self,
        short_links: ShortLinks,
        context: AppContext,
        *,
        documented: Sequence[BaseRoute],
        html_ui: Sequence[BaseRoute],
        **options: Any,
    ) -> None:
        super().__init__(routes=[*documented, *html_ui], **options)
        self.short_links = short_links
        self.context = context
        self.html_ui = html_ui

    def operations(self) -> list[Operation]:
        """What `/openapi.json` documents: the short link, then every declared route."""
        return [SHORT_LINK, *operations(self.routes)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        code = self.short_links.code_of(scope)
        if code is None:
            await super().__call__(scope, receive, send)
            return
        started = perf_counter()
        answer = _Status(send)
        try:
            await self.short_links(scope, answer, code)
        finally:
            REDIRECT_SECONDS.observe(perf_counter() - started)
            REDIRECTS.labels(answer.status).inc()


class _Status:
    """The `send` of a short-link request, noting the status it answers (for /metrics)."""

    __slots__ = ("send", "status")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status = "none"  # the client went away before an answer

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = str(message["status"])
        await self.send(message)


# What the worker processes run (`richsms.processes`): imported once in their forkserver.
WORKER_MODULES = (
    "landing_templates.viewer",
    "landing_templates.coupons.pools",
    "landing_templates.images",
    "sender.audience.csv_import",
    "web.api.sms",
    "web.bodies",
)


def _prepare_workers() -> None:
    processes.prepare(WORKER_MODULES)


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    run_worker: bool = False,
    preload_links: int = 1_000_000,
    cache_poll_interval: float = 1.0,
) -> RichsmsApp:
    """The whole web app. Nothing is opened or started until the lifespan starts."""
    settings.validate()
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url)
    write_watch(engine).budget_ms = settings.write_budget_ms
    secret = settings.secret_key.reveal()
    resolver = Resolver(engine, poll_interval=cache_poll_interval)
    writer = ClickWriter(
        ClickStore(
            engine,
            IpAnonymizer(settings.ip_anonymization, secret),
            durability=settings.click_durability,
        )
    )
    watch_clicks(writer)
    limiter = miss_limiter(settings)
    running: Clock = clock

    def now() -> float:
        return running.now().timestamp()

    limits = Limits(
        misses=limiter,
        signin=signin_limiter(settings, now),
        staff=post_limiter(settings, now),
        hooks=hook_limiter(settings, now),
    )
    page_server = PageServer(engine=engine, clock=clock, settings=settings)
    # Every thread and loop (clicks, link cache, miss limiter, worker, chores).
    runtime = server_runtime(
        engine,
        settings,
        clock,
        serving=Serving(
            writer, limiter, resolver, preload_links, warm=[page_server.warm, _prepare_workers]
        ),
        run_worker=run_worker,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        cached = await runtime.start()
        # Whatever lives this long lives as long as the process: keep it out of the
        # cyclic GC's full collections, whose pauses otherwise show up in the p99.
        gc.freeze()
        log.info("richsms serving (%s provider, %d links cached)", settings.provider, cached)
        try:
            yield
        finally:
            await runtime.stop()

    addresses = ClientAddress(settings.trusted_networks)
    context = AppContext(
        settings=settings,
        engine=engine,
        clock=clock,
        codes=CodeMaker(secret),
        resolver=resolver,
        clicks=writer,
        pages=page_server,
        client_address=addresses,
        limits=limits,
        sending=runtime.sending,
        triggers=trigger_commits(engine, clock, settings),
        tokens=token_checks(engine),
    )
    api = api_routes()
    app = RichsmsApp(
        ShortLinks(context),
        context,
        documented=[
            *health.routes,
            *metrics.routes,
            *hooks.routes,  # signed by the provider, outside the /api bearer auth
            *automation_hooks.routes,  # signed by the shop, outside the /api bearer auth
            *document.routes,
            Mount(
                "/api",
                routes=api,
                middleware=[Middleware(AllowedMethods, routes=api), Middleware(BearerAuth)],
            ),
            *pages.routes,
            *staff.routes,
            *events.routes,
        ],
        html_ui=ui_routes(),
        exception_handlers=HANDLERS,
        lifespan=lifespan,
    )
    return app
