"""`GET /{code}`: the hottest path, answered before any framework routing.

One cache lookup, one click handed to the group-commit writer, one 302 once the click is
committed. Everything that is not a single-segment code goes on to the Starlette app.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from starlette.types import Scope, Send

from richsms.clock import Clock
from shortener.clicks import ClickEvent, ClickWriter
from shortener.codes import RESERVED, looks_like_code
from shortener.resolver import NOT_CACHED, Resolver, Target

log = logging.getLogger("richsms.redirect")


def _page(title: str, message: str) -> bytes:
    return (
        '<!doctype html><html lang="en"><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<title>{title}</title><body style="font:16px/1.5 system-ui,sans-serif;'
        f'max-width:28rem;margin:20vh auto;padding:0 1rem;text-align:center">'
        f'<h1 style="font-size:1.4rem">{title}</h1><p>{message}</p></body></html>'
    ).encode()


NOT_FOUND_PAGE = _page(
    "Link not found", "This link does not exist. Check the address in your message."
)
GONE_PAGE = _page("Link expired", "This link is no longer active.")
UNAVAILABLE_PAGE = _page("Try again", "We could not open this link just now. Please try again.")
SLOW_DOWN_PAGE = _page("Too many attempts", "Please wait a minute before trying again.")

_HTML = (b"content-type", b"text/html; charset=utf-8")
_NO_STORE = (b"cache-control", b"private, no-store")


class MissLimiter:
    """Token bucket per client address: repeated unknown codes get 429, not more lookups."""

    def __init__(
        self,
        capacity: int = 20,
        per_second: float = 20 / 60,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._capacity = float(capacity)
        self._rate = per_second
        self._monotonic = monotonic
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, client: str) -> bool:
        now = self._monotonic()
        tokens, last = self._buckets.get(client, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - last) * self._rate)
        if len(self._buckets) > 100_000:
            self._buckets.clear()  # bounded memory; a flood resets to generous, not to fail
        if tokens < 1:
            self._buckets[client] = (tokens, now)
            return False
        self._buckets[client] = (tokens - 1, now)
        return True


# Answers a page link with the page (web.pages): (scope, send, target, user agent).
PageResponder = Callable[[Scope, Send, Target, str], Awaitable[None]]


class ShortLinks:
    """Serves short codes; the app hands it every request `code_of` recognizes."""

    def __init__(
        self,
        *,
        resolver: Resolver,
        writer: ClickWriter,
        clock: Clock,
        limiter: MissLimiter,
        pages: PageResponder | None = None,
    ) -> None:
        self._pages = pages
        self._resolver = resolver
        self._writer = writer
        self._clock = clock
        self._limiter = limiter

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
        client_ip = client[0] if client else ""
        target = self._resolver.cached(code)
        if target is NOT_CACHED:
            try:
                target = await self._resolver.load(code)
            except Exception:
                log.exception("could not look up a short code")
                await _html(send, 503, UNAVAILABLE_PAGE, head, ((b"retry-after", b"1"),))
                return
        if target is None:
            if not self._limiter.allow(client_ip):
                await _html(send, 429, SLOW_DOWN_PAGE, head, ((b"retry-after", b"60"),))
            else:
                await _html(send, 404, NOT_FOUND_PAGE, head)
            return
        now = self._clock.now()
        if target.disabled or (target.expires_at is not None and target.expires_at <= now):
            await _html(send, 410, GONE_PAGE, head)
            return
        user_agent = referrer = ""
        for name, value in scope["headers"]:
            if name == b"user-agent":
                user_agent = value.decode("latin-1")
            elif name == b"referer":
                referrer = value.decode("latin-1")
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
            await _html(send, 503, UNAVAILABLE_PAGE, head, ((b"retry-after", b"1"),))
            return
        if target.page_id is not None and self._pages is not None:
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


async def _html(
    send: Send,
    status: int,
    page: bytes,
    head: bool,
    extra: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    headers = [_HTML, _NO_STORE, (b"content-length", str(len(page)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else page})
