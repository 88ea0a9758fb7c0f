"""Recipients' pages: a page link's tap (one round trip from `GET /{code}`), the stable
address `/p/{token}`, the wheel's spin, uploaded images and the blocks' static files.

Link-preview fetchers and scanners get the page's Open Graph card and nothing personal;
they assign no coupon and draw no prize. What a view reads and renders is
`landing_templates.viewer`'s; this module answers HTTP with it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3

from pydantic import BaseModel, Field
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope, Send

from landing_templates.models import PageImageRendition
from landing_templates.pieces import gzip_body, raw_body
from landing_templates.viewer import PageViewer, Rendered
from richsms.assets import STATIC
from richsms.clock import Clock
from richsms.errors import Forbidden, NotFound
from richsms.settings import Settings
from shortener.bots import is_bot
from shortener.resolver import Target
from web.context import context
from web.openapi import RouteTable

log = logging.getLogger("richsms.pages")
_HTML = "text/html; charset=utf-8"
# A page's token and a block's id: what the site's own links carry (the fuzzer keeps to it).
_TOKEN = ("token", "^[A-Za-z0-9_-]{1,64}$")
_BLOCK = ("block_id", "^[A-Za-z0-9_-]{1,64}$")
pages = RouteTable(public=True, tags=("pages",))


class SpinOut(BaseModel):
    prize_index: int
    label: str
    coupon: str | None = Field(description="The coupon won, if the prize carries one.")
    angle: float = Field(description="The wheel's final rotation, in degrees.")
    html: str = Field(description="The result, as the page shows it.")


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
    """The page viewer as `ShortLinks` calls it for page links, after the click is stored."""

    def __init__(self, *, engine: Engine, clock: Clock, settings: Settings) -> None:
        super().__init__(engine=engine, clock=clock, base_url=settings.base_url)

    async def __call__(self, scope: Scope, send: Send, target: Target, user_agent: str) -> None:
        assert target.page_id is not None
        bot = is_bot(scope["method"], user_agent)
        rendered = None
        assign = False
        inline = self.inline_reader()
        if inline is not None and target.page_version is not None:
            compiled = self.cache.get((target.page_id, target.page_version))
            if compiled is not None:
                try:
                    rendered = self.read_view(
                        inline, compiled, target.contact_id, target.page_token, bot
                    )
                    assign = rendered is None  # read: the recipient's coupons are due
                except sqlite3.OperationalError:  # busy: read from a worker thread instead
                    log.warning("page view read from a worker thread", exc_info=True)
        if rendered is None:
            work = functools.partial(self.view, target, bot=bot, assign=assign)
            rendered = await asyncio.get_running_loop().run_in_executor(None, work)
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


def _encoded(rendered: Rendered, accept_encoding: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
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
    body, headers = _encoded(rendered, accept)
    await send({"type": "http.response.start", "status": rendered.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


def _response(request: Request, rendered: Rendered) -> Response:
    body, headers = _encoded(rendered, request.headers.get("accept-encoding", ""))
    response = Response(body, status_code=rendered.status)
    response.raw_headers = headers
    return response


@pages.get(
    "/p/{token:str}",
    "A recipient's page at its stable address (what their short link answers with).",
    response_media="text/html",
    error_media="text/html",
    errors=(404, 410),
    patterns=(_TOKEN,),
)
async def page_by_token(request: Request) -> Response:
    token: str = request.path_params["token"]
    bot = is_bot(request.method, request.headers.get("user-agent", ""))
    work = functools.partial(context(request).pages.by_token, token, bot=bot)
    rendered = await asyncio.get_running_loop().run_in_executor(None, work)
    return _response(request, rendered)


@pages.post(
    "/p/{token:str}/spin/{block_id:str}",
    "Spin the page's wheel: the outcome is drawn once per recipient, the same on reload.",
    response=SpinOut,
    errors=(403, 404, 409, 422),
    patterns=(_TOKEN, _BLOCK),
)
async def spin(request: Request) -> JSONResponse:
    if is_bot("GET", request.headers.get("user-agent", "")):
        raise Forbidden("automated clients cannot spin the wheel")
    token, block_id = request.path_params["token"], request.path_params["block_id"]
    result = await run_in_threadpool(context(request).pages.spin, token, block_id)
    return JSONResponse(result, headers={"cache-control": "private, no-store"})


@pages.get(
    "/img/{image_id:int}/{width:int}.webp",
    "An uploaded image at one of its widths, as WebP (cached for a year).",
    response_media="image/webp",
    errors=(404,),
    examples=(("width", "720"),),
)
async def image(request: Request) -> Response:
    image_id, width = int(request.path_params["image_id"]), int(request.path_params["width"])

    def work(session: Session) -> bytes | None:
        data: bytes | None = session.exec(
            select(PageImageRendition.data).where(
                col(PageImageRendition.image_id) == image_id,
                col(PageImageRendition.width) == width,
            )
        ).first()
        return data

    data = await context(request).in_read_session(work)
    if data is None:
        raise NotFound("no such image")
    # An image id and width never change content: cache it for a year, everywhere.
    return Response(
        data,
        media_type="image/webp",
        headers={
            "cache-control": "public, max-age=31536000, immutable",
            "x-content-type-options": "nosniff",
        },
    )


pages.mount(
    "/static",
    StaticFiles(directory=STATIC, check_dir=False),
    "The blocks' and the UI's static files (CSS, scripts, vendored libraries).",
    name="static",
    response_media="*/*",
    errors=(404,),
    patterns=(("path", "^[a-z]+/[A-Za-z0-9_./-]{1,100}$"),),
    examples=(("path", "blocks/page.css"),),
)
