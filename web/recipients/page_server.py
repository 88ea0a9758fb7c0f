"""Serving a rendered page: its headers (personal, never cached, scripts only by nonce),
its body gzipped when the client takes it, and `PageServer`, the page viewer as the
short-link fast path calls it (`GET /{code}` answers a page link in one round trip).

It reads nothing of the request's app context: `web.context` holds a `PageServer`, and
the routes that read the context (`web.recipients.pages`) use this module, never the other
way round.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3

from sqlalchemy import Engine
from starlette.types import Scope, Send

from landing_templates.pieces import gzip_body, raw_body
from landing_templates.serving import MissingCoupons
from landing_templates.viewer import PageViewer, Rendered
from richsms.clock import Clock
from richsms.settings import Settings
from shortener.bots import is_bot
from shortener.resolver import Target

log = logging.getLogger("richsms.pages")


def page_headers(nonce: str | None) -> dict[str, str]:
    """Personal pages: never stored by any cache, no referrer, scripts only by nonce."""
    script = f"'nonce-{nonce}'" if nonce else "'none'"
    return {
        "cache-control": "private, no-store, max-age=0",
        "content-security-policy": (
            f"default-src 'none'; script-src {script}; style-src 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'"
        ),
        "referrer-policy": "no-referrer",
        "x-content-type-options": "nosniff",
        "x-robots-tag": "noindex, nofollow",
        "vary": "accept-encoding, user-agent",
    }


class PageServer(PageViewer):
    """The page viewer as `ShortLinks` calls it for page links, after the click is stored.

    On SQLite the view's state is read on the event loop (one local indexed read); the
    recipient's personal blocks are rendered in the viewer's render threads, never here."""

    def __init__(self, *, engine: Engine, clock: Clock, settings: Settings) -> None:
        super().__init__(
            engine=engine,
            clock=clock,
            base_url=settings.base_url,
            render_seconds=settings.page_render_seconds,
        )

    async def __call__(self, scope: Scope, send: Send, target: Target, user_agent: str) -> None:
        assert target.page_id is not None
        bot = is_bot(scope["method"], user_agent)
        rendered = None
        assign = False
        loop = asyncio.get_running_loop()
        inline = self.inline_reader()
        if inline is not None and target.page_version is not None:
            compiled = self.cache.get((target.page_id, target.page_version))
            if compiled is not None:
                try:
                    state = self.read_state(
                        inline, compiled, target.contact_id, target.page_token, bot
                    )
                    if self.renders_per_view(compiled, state, bot):
                        work = functools.partial(self.answer, compiled, state, bot)
                        rendered = await loop.run_in_executor(self.renders, work)
                    else:
                        rendered = self.answer(compiled, state, bot)
                except MissingCoupons:  # read: the recipient's coupons are due
                    assign = True
                except sqlite3.OperationalError:  # busy: read from a worker thread instead
                    log.warning("page view read from a worker thread", exc_info=True)
        if rendered is None:
            view = functools.partial(self.view, target, bot=bot, assign=assign)
            rendered = await loop.run_in_executor(self.renders, view)
        await _send(scope, send, rendered)


_CONSTANT_HEADERS = [
    (k.encode(), v.encode())
    for k, v in page_headers(None).items()
    if k != "content-security-policy"
]
_CSP_WITHOUT_SCRIPTS = page_headers(None)["content-security-policy"].encode()
_CSP_START, _CSP_END = (
    part.encode() for part in page_headers("\0").pop("content-security-policy").split("\0")
)


def encoded(rendered: Rendered, accept_encoding: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    nonce = rendered.nonce
    csp = _CSP_START + nonce.encode() + _CSP_END if nonce else _CSP_WITHOUT_SCRIPTS
    headers = [
        *_CONSTANT_HEADERS,
        (b"content-security-policy", csp),
        (b"content-language", rendered.language.encode()),
        (b"content-type", b"text/html; charset=utf-8"),
    ]
    if "gzip" in accept_encoding:
        body = gzip_body(rendered.pieces)
        headers.append((b"content-encoding", b"gzip"))
    else:
        body = raw_body(rendered.pieces)
    headers.append((b"content-length", str(len(body)).encode()))
    return body, headers


async def _send(scope: Scope, send: Send, rendered: Rendered) -> None:
    accept = ""
    for name, value in scope["headers"]:
        if name == b"accept-encoding":
            accept = value.decode("latin-1")
    body, headers = encoded(rendered, accept)
    await send({"type": "http.response.start", "status": rendered.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
