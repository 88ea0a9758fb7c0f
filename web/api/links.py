"""Links API: issue one or many short links, read their stats and QR code, disable them."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import segno
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from landing_templates.links import issue_page_links
from richsms.accounts.roles import Permission
from richsms.errors import InvalidInput, NotFound
from richsms.types import Id, UtcDatetime
from sender.audience.models import Contact
from sender.campaigns.models import Campaign
from shortener.links import LinkSpec, create_link, create_links_in_chunks, disable_link, get_link
from shortener.models import Link
from shortener.stats import link_stats
from web.bodies import read_model
from web.context import AppContext, context
from web.openapi import RouteTable

# Ids per existence query: well under every backend's limit on bound parameters.
_LOOKUP_CHUNK = 5_000


class Utm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str | None = Field(None, max_length=200)
    medium: str | None = Field(None, max_length=200)
    campaign: str | None = Field(None, max_length=200)
    term: str | None = Field(None, max_length=200)
    content: str | None = Field(None, max_length=200)


class LinkTargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str | None = Field(None, max_length=4096, description="http(s) target.")
    page_id: Id | None = Field(None, description="Landing page (once pages exist).")
    campaign_id: Id | None = None
    expires_at: UtcDatetime | None = Field(None, description="ISO 8601 with a time zone.")
    utm: Utm | None = None

    @model_validator(mode="after")
    def _one_target(self) -> LinkTargetIn:
        if (self.url is None) == (self.page_id is None):
            raise ValueError("give exactly one of url or page_id")
        return self

    def target(self) -> LinkSpec:
        """Where a link to a URL leads, as `create_link` and `create_links_in_chunks` take it."""
        if self.url is None:
            raise InvalidInput("landing pages are not available yet: give a url")
        utm = None if self.utm is None else {k: v for k, v in self.utm.model_dump().items() if v}
        return LinkSpec(
            url=self.url, utm=utm, campaign_id=self.campaign_id, expires_at=self.expires_at
        )


class LinkIn(LinkTargetIn):
    contact_id: Id | None = None


class BulkLinksIn(LinkTargetIn):
    contact_ids: list[Id | None] = Field(min_length=1, max_length=1_000_000)


class LinkOut(BaseModel):
    code: str
    short_url: str
    target_url: str
    contact_id: int | None
    campaign_id: int | None
    expires_at: datetime | None
    disabled_at: datetime | None


class IssuedOut(BaseModel):
    contact_id: int | None
    code: str
    short_url: str


class BulkLinksOut(BaseModel):
    links: list[IssuedOut]


class StatsOut(BaseModel):
    clicks: int
    unique_clicks: int
    human_clicks: int
    bot_clicks: int
    first_click_at: str | None
    last_click_at: str | None


def _public(link: Link, short_url: str) -> LinkOut:
    return LinkOut(
        code=link.code,
        short_url=short_url + link.code,
        target_url=link.target_url,
        contact_id=link.contact_id,
        campaign_id=link.campaign_id,
        expires_at=link.expires_at,
        disabled_at=link.disabled_at,
    )


def require_existing(
    session: Session, contact_ids: Sequence[int | None], campaign_id: int | None
) -> None:
    """NotFound naming the first contacts (or the campaign) that do not exist."""
    if campaign_id is not None and session.get(Campaign, campaign_id) is None:
        raise NotFound(f"no campaign {campaign_id}")
    wanted = sorted({c for c in contact_ids if c is not None})
    missing: list[int] = []
    for start in range(0, len(wanted), _LOOKUP_CHUNK):
        part = wanted[start : start + _LOOKUP_CHUNK]
        found = set(session.exec(select(Contact.id).where(col(Contact.id).in_(part))).all())
        missing += [c for c in part if c not in found]
        if len(missing) >= 5:
            break
    if missing:
        shown = ", ".join(str(c) for c in missing[:5])
        raise NotFound(f"no contact with id {shown}" + ("…" if len(missing) > 5 else ""))


api = RouteTable(tags=("links",))


@api.post(
    "/links",
    "Issue a short link to a URL, optionally for one contact.",
    errors=(404,),
    status=201, needs=Permission.BUILD,
)
def create(ctx: AppContext, session: Session, body: LinkIn) -> LinkOut:
    require_existing(session, [body.contact_id], body.campaign_id)
    if body.page_id is not None:  # the recipient's page, one round trip from the tap
        issued = issue_page_links(
            session=session,
            codes=ctx.codes,
            clock=ctx.clock,
            base_url=ctx.settings.base_url,
            page_id=body.page_id,
            contact_ids=[body.contact_id],
            campaign_id=body.campaign_id,
            expires_at=body.expires_at,
        )
        page_link = get_link(session=session, code=issued[0].code)
        return _public(page_link, ctx.settings.short_url)
    spec = body.target()
    link = create_link(
        session=session, codes=ctx.codes, clock=ctx.clock, spec=spec, contact_id=body.contact_id
    )
    return _public(link, ctx.settings.short_url)


@api.post(
    "/links/bulk",
    "Issue one short link per contact, set-based.",
    request=BulkLinksIn,
    response=BulkLinksOut,
    errors=(404,),
    status=201, needs=Permission.BUILD,
)
async def create_bulk(request: Request) -> JSONResponse:
    body = await read_model(request, BulkLinksIn)
    ctx = context(request)
    prefix = ctx.settings.short_url

    await ctx.in_read_session(  # no write lock while checking
        lambda session: require_existing(session, body.contact_ids, body.campaign_id)
    )

    def work() -> dict[str, Any]:
        issued = create_links_in_chunks(
            engine=ctx.engine,
            codes=ctx.codes,
            clock=ctx.clock,
            spec=body.target(),
            contact_ids=body.contact_ids,
        )
        return {
            "links": [
                {"contact_id": i.contact_id, "code": i.code, "short_url": prefix + i.code}
                for i in issued
            ]
        }

    return JSONResponse(await run_in_threadpool(work), status_code=201)


@api.get("/links/{code}", "A link's target and state.", needs=Permission.RESULTS)
def show(ctx: AppContext, session: Session, code: str) -> LinkOut:
    return _public(get_link(session=session, code=code), ctx.settings.short_url)


@api.post(
    "/links/{code}/disable", "Disable a link everywhere within seconds.", needs=Permission.BUILD,
)
def disable(ctx: AppContext, session: Session, code: str) -> LinkOut:
    link = disable_link(session=session, code=code, clock=ctx.clock)
    return _public(link, ctx.settings.short_url)


@api.get(
    "/links/{code}/stats", "Total, unique, human and bot clicks.", response=StatsOut,
    needs=Permission.RESULTS,
)
def stats(session: Session, code: str) -> dict[str, object]:
    return link_stats(session=session, code=code).as_dict()


@api.get(
    "/links/{code}/qr.svg",
    "The QR code of the short link, as SVG.",
    response_media="image/svg+xml", needs=Permission.RESULTS,
)
def qr(ctx: AppContext, session: Session, code: str) -> Response:
    link = get_link(session=session, code=code)
    out = io.BytesIO()
    # Upper-case letters and digits would allow QR's compact alphanumeric mode, but codes
    # are case-sensitive; byte mode at error level M stays small for ~30-character URLs.
    segno.make(ctx.settings.short_url + link.code, error="m", micro=False).save(
        out,
        kind="svg",
        scale=4,
        border=2,
        xmldecl=False,
        svgns=True,
        title=f"QR code for {ctx.settings.short_url + link.code}",
    )
    return Response(
        out.getvalue(),
        media_type="image/svg+xml",
        headers={"Cache-Control": "private, max-age=3600"},
    )
