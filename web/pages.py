"""Recipients' pages: a page link's tap (one round trip from `GET /{code}`), the stable
address `/p/{token}`, the wheel's spin, uploaded images and the blocks' static files.

Link-preview fetchers and scanners get the page's Open Graph card and nothing personal;
they assign no coupon and draw no prize.
"""

from __future__ import annotations

import gzip
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope, Send

from landing_templates.blocks.wheel import WheelSettings, landing_angle
from landing_templates.links import link_by_token
from landing_templates.models import PageImageRendition
from landing_templates.render import (
    CompiledPage,
    render_card,
    render_notice,
    render_page,
    render_spin_result,
)
from landing_templates.serving import (
    CompiledPages,
    MissingCoupons,
    open_version,
    recipient_for,
    spin_wheel,
)
from richsms.clock import Clock
from richsms.db import read_session, session_scope
from richsms.errors import Conflict, Forbidden, NotFound
from richsms.settings import Settings
from sender.models import Contact
from shortener.bots import is_bot
from shortener.resolver import Target

STATIC = Path(__file__).resolve().parents[1] / "static"
# Pages are tiny and sent once: a fast level compresses them to a fraction in microseconds.
GZIP_LEVEL = 5
_HTML = "text/html; charset=utf-8"


def contact_fields(contact: Contact) -> dict[str, Any]:
    """What merge fields see of a contact: standard fields, then custom ones."""
    zones = contact.timezones.split()
    return {
        **(contact.fields or {}),
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "phone": contact.phone,
        "email": contact.email,
        "language": contact.language,
        "timezone": zones[0] if zones else "",
    }


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


@dataclass(frozen=True, slots=True)
class Rendered:
    status: int
    html: str
    nonce: str | None = None
    language: str = "en"


class PageServer:
    """Renders recipients' pages; `ShortLinks` calls it for page links after the click is
    stored, and the /p/ routes for reloads."""

    def __init__(self, *, engine: Engine, clock: Clock, settings: Settings) -> None:
        self._engine = engine
        self._clock = clock
        self._base_url = settings.base_url
        self.cache = CompiledPages()

    # --- GET /{code} of a page link ------------------------------------------------------
    async def __call__(self, scope: Scope, send: Send, target: Target, user_agent: str) -> None:
        assert target.page_id is not None
        bot = is_bot(scope["method"], user_agent)
        rendered = await run_in_threadpool(
            self.view,
            page_id=target.page_id,
            version=target.page_version,
            contact_id=target.contact_id,
            campaign_id=None,
            token=target.page_token,
            bot=bot,
        )
        await _send(scope, send, rendered)

    # --- the work, in a worker thread ------------------------------------------------------
    def view(
        self,
        *,
        page_id: int,
        version: int | None,
        contact_id: int | None,
        campaign_id: int | None,
        token: str | None,
        bot: bool,
    ) -> Rendered:
        try:
            # Most views only read (coupons already held): no SQLite write lock for them.
            with read_session(self._engine) as session:
                return self._view(session, page_id, version, contact_id, campaign_id, token, bot,
                                  assign=False)
        except MissingCoupons:
            with session_scope(self._engine) as session:
                return self._view(session, page_id, version, contact_id, campaign_id, token, bot,
                                  assign=True)

    def _view(
        self,
        session: Session,
        page_id: int,
        version: int | None,
        contact_id: int | None,
        campaign_id: int | None,
        token: str | None,
        bot: bool,
        *,
        assign: bool,
    ) -> Rendered:
        try:
            page = open_version(
                session=session, cache=self.cache, page_id=page_id, version=version
            )
        except NotFound:
            return Rendered(404, render_notice("not_found", "en"))
        compiled = page.compiled
        if not page.published:
            return Rendered(
                410, render_notice("unpublished", compiled.language), None, compiled.language
            )
        if bot:
            html = render_card(compiled, base_url=self._base_url)
            return Rendered(200, html, None, compiled.language)
        contact = session.get(Contact, contact_id) if contact_id is not None else None
        fields = contact_fields(contact) if contact is not None else {}
        recipient = recipient_for(
            session=session,
            clock=self._clock,
            page=compiled,
            contact=fields,
            contact_id=contact_id if contact is not None else None,
            campaign_id=campaign_id,
            token=token,
            base_url=self._base_url,
            assign=assign,
        )
        if assign:
            session.commit()  # coupons assigned on sight are kept before the page shows
        return self._render(compiled, recipient)

    def preview(self, *, session: Session, page_id: int, contact_id: int | None) -> str:
        """The newest version as `contact_id` would see it; nothing recorded or assigned."""
        page = open_version(session=session, cache=self.cache, page_id=page_id, version=None)
        fields: dict[str, Any] = {}
        if contact_id is not None:
            contact = session.get(Contact, contact_id)
            if contact is None:
                raise NotFound(f"no contact with id {contact_id}")
            fields = contact_fields(contact)
        recipient = recipient_for(
            session=session,
            clock=self._clock,
            page=page.compiled,
            contact=fields,
            contact_id=contact_id,
            campaign_id=None,
            token=None,
            base_url=self._base_url,
            preview=True,
        )
        return render_page(page.compiled, recipient, nonce=secrets.token_urlsafe(16))

    def _render(self, compiled: CompiledPage, recipient: Any) -> Rendered:
        nonce = secrets.token_urlsafe(16)
        html = render_page(compiled, recipient, nonce=nonce)
        return Rendered(200, html, nonce, compiled.language)

    def by_token(self, token: str, *, bot: bool) -> Rendered:
        with session_scope(self._engine) as session:
            try:
                link = link_by_token(session=session, token=token)
            except NotFound:
                return Rendered(404, render_notice("not_found", "en"))
            link_page, version = link.page_id, link.page_version
            contact_id, campaign_id = link.contact_id, link.campaign_id
            gone = link.disabled_at is not None or (
                link.expires_at is not None and link.expires_at <= self._clock.now()
            )
        assert link_page is not None
        if gone:
            language = self._language(link_page, contact_id)
            return Rendered(410, render_notice("expired", language), None, language)
        return self.view(
            page_id=link_page,
            version=version,
            contact_id=contact_id,
            campaign_id=campaign_id,
            token=token,
            bot=bot,
        )

    def _language(self, page_id: int, contact_id: int | None) -> str:
        with Session(self._engine) as session:
            if contact_id is not None:
                contact = session.get(Contact, contact_id)
                if contact is not None and contact.language in ("fr", "en"):
                    return contact.language
            try:
                return open_version(
                    session=session, cache=self.cache, page_id=page_id, version=None
                ).compiled.language
            except NotFound:
                return "en"

    def spin(self, token: str, block_id: str) -> dict[str, Any]:
        with session_scope(self._engine) as session:
            link = link_by_token(session=session, token=token)
            if link.disabled_at is not None or (
                link.expires_at is not None and link.expires_at <= self._clock.now()
            ):
                raise Conflict("this link has expired")
            if link.contact_id is None:
                raise Conflict("this page is not personal: there is no wheel to spin")
            assert link.page_id is not None
            page = open_version(
                session=session, cache=self.cache, page_id=link.page_id, version=link.page_version
            )
            if not page.published:
                raise Conflict("this page is no longer available")
            spin = spin_wheel(
                session=session,
                clock=self._clock,
                page=page.compiled,
                block_id=block_id,
                contact_id=link.contact_id,
                campaign_id=link.campaign_id,
                base_url=self._base_url,
            )
        settings = next(
            b.settings for b in page.compiled.blocks_of("wheel") if b.settings.id == block_id
        )
        assert isinstance(settings, WheelSettings)
        return {
            "prize_index": spin.prize_index,
            "label": spin.label,
            "coupon": spin.coupon.code if spin.coupon else None,
            "angle": landing_angle(settings, spin.prize_index),
            "html": render_spin_result(page.compiled, spin),
        }


def _headers_for(rendered: Rendered) -> dict[str, str]:
    headers = page_headers(rendered.nonce)
    headers["content-language"] = rendered.language
    return headers


def _encoded(rendered: Rendered, accept_encoding: str) -> tuple[bytes, dict[str, str]]:
    body = rendered.html.encode()
    headers = _headers_for(rendered)
    if "gzip" in accept_encoding:
        body = gzip.compress(body, GZIP_LEVEL, mtime=0)
        headers["content-encoding"] = "gzip"
    return body, headers


async def _send(scope: Scope, send: Send, rendered: Rendered) -> None:
    accept = ""
    for name, value in scope["headers"]:
        if name == b"accept-encoding":
            accept = value.decode("latin-1")
    body, headers = _encoded(rendered, accept)
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    raw += [(b"content-type", _HTML.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": rendered.status, "headers": raw})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


def _response(request: Request, rendered: Rendered) -> Response:
    body, headers = _encoded(rendered, request.headers.get("accept-encoding", ""))
    return Response(body, status_code=rendered.status, media_type=_HTML, headers=headers)


def _server(request: Request) -> PageServer:
    server: PageServer = request.app.state.pages
    return server


async def page_by_token(request: Request) -> Response:
    token: str = request.path_params["token"]
    bot = is_bot(request.method, request.headers.get("user-agent", ""))
    rendered = await run_in_threadpool(_server(request).by_token, token, bot=bot)
    return _response(request, rendered)


async def spin(request: Request) -> JSONResponse:
    if is_bot("GET", request.headers.get("user-agent", "")):
        raise Forbidden("automated clients cannot spin the wheel")
    token, block_id = request.path_params["token"], request.path_params["block_id"]
    result = await run_in_threadpool(_server(request).spin, token, block_id)
    return JSONResponse(result, headers={"cache-control": "private, no-store"})


async def image(request: Request) -> Response:
    image_id, width = int(request.path_params["image_id"]), int(request.path_params["width"])
    engine: Engine = request.app.state.engine

    def work() -> bytes | None:
        with Session(engine) as session:
            data: bytes | None = session.exec(
                select(PageImageRendition.data).where(
                    col(PageImageRendition.image_id) == image_id,
                    col(PageImageRendition.width) == width,
                )
            ).first()
            return data

    data = await run_in_threadpool(work)
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


def routes() -> list[BaseRoute]:
    return [
        Route("/p/{token:str}", page_by_token, methods=["GET", "HEAD"]),
        Route("/p/{token:str}/spin/{block_id:str}", spin, methods=["POST"]),
        Route("/img/{image_id:int}/{width:int}.webp", image, methods=["GET", "HEAD"]),
        Mount("/static", app=StaticFiles(directory=STATIC, check_dir=False), name="static"),
    ]
