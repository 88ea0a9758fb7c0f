"""What a request handler may use of the running app, typed: `context(request)`.

`create_app` builds one `AppContext` and every route reads it through `context()`, never
through Starlette's untyped `app.state`. Its `in_session` and `in_read_session` are the
one way a route runs a synchronous use case: in the threadpool (the event loop never waits
on the database), inside one unit of work the edge owns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from richsms.clock import Clock
from richsms.db import read_session, session_scope
from richsms.settings import Settings

if TYPE_CHECKING:  # types only; none of these modules imports web.context (no cycle)
    from sender.delivery.worker import Worker
    from shortener.clicks import ClickWriter
    from shortener.codes import CodeMaker
    from shortener.forwarded import ClientAddress
    from shortener.limits import MissLimiter
    from shortener.resolver import Resolver
    from web.attempt_limits import Attempts
    from web.recipients.page_server import PageServer
    from web.token_checks import TokenChecks
    from web.trigger_commits import TriggerCommits

T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    """Attempt limits, shared by every process through Redis when it is configured."""

    misses: MissLimiter
    """Unknown short codes per client (the redirect's)."""
    signin: Attempts
    """UI sign-ins per address and per email."""
    staff: Attempts
    """The staff page's posts per address."""
    hooks: Attempts
    """The shops' signed webhooks per automation and address."""


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    engine: Engine
    clock: Clock
    codes: CodeMaker
    resolver: Resolver
    clicks: ClickWriter
    pages: PageServer
    client_address: ClientAddress
    limits: Limits
    sending: Worker | None
    """The in-process sending worker, when this process runs one."""
    triggers: TriggerCommits
    """The API's accepted triggers, stored many per transaction."""
    tokens: TokenChecks
    """Who bearer tokens speak for, checked many per query."""

    async def in_session(self, use: Callable[[Session], T]) -> T:
        """`use(session)` in the threadpool, in one unit of work: committed when it
        returns, rolled back if it raises. It reads without the write lock and takes it at
        its first write (`session_scope`'s `lock_at_first_write`): `use` reads and computes
        first, then writes."""

        def work() -> T:
            with session_scope(self.engine, lock_at_first_write=True) as session:
                return use(session)

        return await run_in_threadpool(work)

    async def in_read_session(self, use: Callable[[Session], T]) -> T:
        """`use(session)` in the threadpool, reading only (never committed: on SQLite it
        takes no write lock)."""

        def work() -> T:
            with read_session(self.engine) as session:
                return use(session)

        return await run_in_threadpool(work)


    async def in_read_then_write(self, use: Callable[[Session, Session], T]) -> T:
        """`use(reading, writing)` in the threadpool: compute in a read-only session (no
        write lock on SQLite), then write in one unit of work, which takes the lock only
        when first used and commits when `use` returns."""

        def work() -> T:
            with read_session(self.engine) as reading, session_scope(self.engine) as writing:
                return use(reading, writing)

        return await run_in_threadpool(work)


class HasContext:
    """What `create_app` returns carries its context (see `web.app.RichsmsApp`)."""

    context: AppContext


def context(connection: HTTPConnection) -> AppContext:
    """The context of the app serving this request."""
    app = connection.scope["app"]
    if not isinstance(app, HasContext):
        raise TypeError(f"{type(app).__name__} is no richsms app: no context")
    return app.context


def client_of(request: HTTPConnection) -> str:
    """The address a client's attempts are counted under: read through the proxies
    `RICHSMS_TRUSTED_PROXIES` names (behind a proxy the peer is the proxy, and one bucket
    for every client would let anybody lock everyone out)."""
    addresses = context(request).client_address
    peer = request.client.host if request.client else ""
    headers = request.headers
    return addresses.resolve(peer, headers.get("forwarded"), headers.get("x-forwarded-for"))
