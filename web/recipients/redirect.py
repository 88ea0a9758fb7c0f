"""`GET /{code}`: the hottest path, answered before any framework routing.

The client's limit checked first (a dict lookup), one cache lookup, one click handed to the
group-commit writer, one 302 once the click is committed. Error pages in the visitor's
language (French or English). Everything that is not a single-segment code goes on to the
Starlette app.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import cache, lru_cache
from typing import NamedTuple

from starlette.types import Scope, Send

from landing_templates.render import render_message
from richsms.i18n import N_
from richsms.settings import Settings
from shortener.clicks import ClickEvent
from shortener.codes import RESERVED, looks_like_code
from shortener.limits import LocalMissLimiter, MissLimiter, RedisMissLimiter
from shortener.resolver import NOT_CACHED, Target
from web.attempt_limits import redis_prefix
from web.context import AppContext
from web.languages import preferred_language

log = logging.getLogger("richsms.redirect")


class Pages(NamedTuple):
    language: bytes
    not_found: bytes
    gone: bytes
    unavailable: bytes
    slow_down: bytes


# Each error page's (title, message) in the order of `Pages`, told in the visitor's language.
TEXTS = (
    (N_("Link not found"), N_("This link does not exist. Check the address in your message.")),
    (N_("Link expired"), N_("This link is no longer active.")),
    (N_("Try again"), N_("We could not open this link just now. Please try again.")),
    (N_("Too many attempts"), N_("Please wait a minute before trying again.")),
)


@cache
def _pages(language: str) -> Pages:
    """The error pages, rendered on first use once per language (the hot path sends bytes;
    importing this module renders nothing)."""
    return Pages(
        language.encode(),
        *(render_message(title, message, language).encode() for title, message in TEXTS),
    )


_HTML = (b"content-type", b"text/html; charset=utf-8")
_NO_STORE = (b"cache-control", b"private, no-store")
_VARY = (b"vary", b"Accept-Language")


@lru_cache(maxsize=1024)
def pages_for(accept_language: bytes) -> Pages:
    """French when the client prefers French to English (`Accept-Language`), else English."""
    return _pages("fr" if preferred_language(accept_language.decode("latin-1")) == "fr" else "en")


# Answers a page link with the page (web.recipients.page_server): (scope, send, target, user agent).
PageResponder = Callable[[Scope, Send, Target, str], Awaitable[None]]


class ShortLinks:
    """Serves short codes; the app hands it every request `code_of` recognizes."""

    def __init__(self, context: AppContext) -> None:
        """What it needs of the app: the link cache, the click writer, the clock, the
        limiter of misses, the client's address behind proxies and the page server."""
        self._pages: PageResponder = context.pages
        self._resolver = context.resolver
        self._writer = context.clicks
        self._clock = context.clock
        self._limiter = context.limits.misses
        self._address = context.client_address

    @staticmethod
    def code_of(scope: Scope) -> str | None:
        """The code if this request is a tap on a short link, else None."""
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return None
        code: str = scope["path"][1:]
        if "/" in code or not looks_like_code(code) or code.lower() in RESERVED:
            return None
        return code

    async def __call__(self, scope: Scope, send: Send, code: str) -> None:
        head = scope["method"] == "HEAD"
        client = scope.get("client")
        peer = client[0] if client else ""
        user_agent = referrer = ""
        language = b""
        forwarded = x_forwarded_for = None
        for name, value in scope["headers"]:
            if name == b"user-agent":
                user_agent = value.decode("latin-1")
            elif name == b"referer":
                referrer = value.decode("latin-1")
            elif name == b"accept-language":
                language = value
            elif name == b"forwarded":
                forwarded = value.decode("latin-1")
            elif name == b"x-forwarded-for":
                x_forwarded_for = value.decode("latin-1")
        client_ip = (
            self._address.resolve(peer, forwarded, x_forwarded_for)
            if self._address.trusts_proxies
            else peer
        )
        # Over its limit, a client learns nothing, not even whether this code exists.
        if self._limiter.blocked(client_ip):
            await _html(send, 429, pages_for(language), "slow_down", head, _RETRY_LATER)
            return
        target = self._resolver.cached(code)
        if target is NOT_CACHED:
            try:
                target = await self._resolver.load(code)
            except Exception:
                log.exception("could not look up a short code")
                await _html(send, 503, pages_for(language), "unavailable", head, _RETRY_SOON)
                return
        if target is None:
            if await self._limiter.miss(client_ip):
                await _html(send, 404, pages_for(language), "not_found", head)
            else:
                await _html(send, 429, pages_for(language), "slow_down", head, _RETRY_LATER)
            return
        now = self._clock.now()
        if target.gone(now):
            await _html(send, 410, pages_for(language), "gone", head)
            return
        event = ClickEvent(
            target.link_id,
            target.contact_id,
            now,
            scope["method"],
            user_agent,
            referrer,
            client_ip,
        )
        try:
            await self._writer.record(event)
        except Exception:
            log.exception("could not store a click")
            # No stored click, no redirect: the client may retry, the count stays exact.
            await _html(send, 503, pages_for(language), "unavailable", head, _RETRY_SOON)
            return
        if target.page_id is not None:
            # One round trip: the recipient's page itself, not a redirect to it.
            await self._pages(scope, send, target, user_agent)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 302,
                "headers": [
                    (b"location", target.url.encode("ascii")),
                    _NO_STORE,
                    (b"referrer-policy", b"no-referrer"),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})


_RETRY_SOON = ((b"retry-after", b"1"),)
_RETRY_LATER = ((b"retry-after", b"60"),)


async def _html(
    send: Send,
    status: int,
    pages: Pages,
    which: str,
    head: bool,
    extra: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    page: bytes = getattr(pages, which)
    headers = [
        _HTML,
        _NO_STORE,
        _VARY,
        (b"content-language", pages.language),
        (b"content-length", str(len(page)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else page})


def miss_limiter(settings: Settings) -> MissLimiter:
    """Shared through Redis when `RICHSMS_REDIS_URL` is set, else this process's own."""
    if not settings.redis_url:
        return LocalMissLimiter()
    return RedisMissLimiter(settings.redis_url, prefix=redis_prefix(settings))


