"""Pages API: create, edit (a new draft), publish, read, list, and preview as a contact."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from landing_templates.links import move_links
from landing_templates.pages import (
    PageState,
    create_page,
    get_page,
    list_pages,
    publish_page,
    unpublish_page,
    update_page,
)
from richsms.types import Flag
from sender.campaigns.campaign import known_custom_fields
from web.bodies import path_id, read_model
from web.context import AppContext, context
from web.errors import BadRequest
from web.openapi import RouteTable
from web.page_server import page_headers


class PageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    language: Literal["fr", "en"]
    theme: dict[str, Any] | None = Field(
        None, description="{primary, background, text: #rrggbb colours; logo_image_id}"
    )
    blocks: list[dict[str, Any]] = Field(
        max_length=60,
        description="Ordered blocks: {type, ...settings}; types heading, text, image, "
        "button, footer, countdown, coupon, scratch, wheel. Ids are kept, or assigned.",
    )


class PageUpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=200)
    language: Literal["fr", "en"] | None = None
    theme: dict[str, Any] | None = None
    blocks: list[dict[str, Any]] | None = Field(None, max_length=60)


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    move_links: Flag = Field(
        False, description="Also move links already sent to this version (else they keep theirs)."
    )


class PageCreated(BaseModel):
    id: int
    version: int
    status: str


class PageOut(BaseModel):
    id: int
    name: str
    language: str
    status: str
    version: int = Field(description="The newest version (the draft being edited).")
    published_version: int | None
    draft: bool = Field(description="Whether the newest version is unpublished.")
    theme: dict[str, Any]
    blocks: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


class PageSummary(BaseModel):
    id: int
    name: str
    language: str
    status: str
    published_version: int | None
    updated_at: datetime


class PageList(BaseModel):
    pages: list[PageSummary]


def _out(state: PageState) -> dict[str, Any]:
    page, draft = state.page, state.draft
    assert page.id is not None
    return PageOut(
        id=page.id,
        name=page.name,
        language=page.language,
        status=page.status,
        version=draft.version,
        published_version=page.published_version,
        draft=draft.published_at is None,
        theme=draft.theme,
        blocks=draft.blocks,
        created_at=page.created_at,
        updated_at=page.updated_at,
    ).model_dump(mode="json")


def _fields(session: Session) -> set[str]:
    return known_custom_fields(session)


_E = (400, 401, 404, 409, 413, 415, 422)
api = RouteTable(tags=("pages",))


@api.post(
    "/pages",
    "Create a page (version 1, a draft); answers 201.",
    request=PageIn,
    response=PageCreated,
    errors=_E,
    status=201,
)
def create(request: Request, ctx: AppContext, session: Session, body: PageIn) -> dict[str, Any]:
    created = create_page(
        session=session,
        clock=ctx.clock,
        name=body.name,
        language=body.language,
        theme=body.theme,
        blocks=body.blocks,
        custom_fields=_fields(session),
    )
    assert created.page.id is not None
    return PageCreated(
        id=created.page.id, version=created.draft.version, status=created.page.status
    ).model_dump()


@api.get("/pages", "Pages in id order (`?after=&limit=`).", response=PageList, errors=(401, 422))
def index(request: Request, ctx: AppContext, session: Session) -> dict[str, Any]:
    after = request.query_params.get("after", "0")
    limit = request.query_params.get("limit", "100")
    if not after.isdigit() or not limit.isdigit() or not 1 <= int(limit) <= 500:
        raise BadRequest(422, "after is an id, limit 1 to 500", code="invalid_input")
    pages = list_pages(session=session, after=int(after), limit=int(limit))
    return PageList(
        pages=[PageSummary.model_validate(p, from_attributes=True) for p in pages]
    ).model_dump(mode="json")


@api.get(
    "/pages/{id}",
    "A page with its newest version's blocks.",
    response=PageOut,
    errors=(401, 404, 422),
)
def show(request: Request, ctx: AppContext, session: Session) -> dict[str, Any]:
    page_id = path_id(request, "page")
    return _out(get_page(session=session, page_id=page_id))


@api.put(
    "/pages/{id}",
    "Edit the page: the changes form a new draft version.",
    request=PageUpdateIn,
    response=PageOut,
    errors=_E,
)
def update(
    request: Request, ctx: AppContext, session: Session, body: PageUpdateIn
) -> dict[str, Any]:
    page_id = path_id(request, "page")
    return _out(
        update_page(
            session=session,
            clock=ctx.clock,
            page_id=page_id,
            name=body.name,
            language=body.language,
            theme=body.theme,
            blocks=body.blocks,
            custom_fields=_fields(session),
        )
    )


@api.post(
    "/pages/{id}/publish",
    "Publish the newest version; new links get it, sent links keep theirs unless "
    "`move_links`.",
    request=PublishIn,
    body_optional=True,
    response=PageOut,
    errors=_E,
)
async def publish(request: Request) -> JSONResponse:
    page_id = path_id(request, "page")
    body = await read_model(request, PublishIn, optional=True)
    ctx = context(request)

    def check(session: Session) -> None:  # the render, before any write
        ctx.pages.check_publishable(session=session, page_id=page_id)

    await ctx.in_read_session(check)

    def work(session: Session) -> dict[str, Any]:
        published = publish_page(session=session, clock=ctx.clock, page_id=page_id)
        if body.move_links:
            move_links(session=session, clock=ctx.clock, page_id=page_id)
        return _out(published)

    return JSONResponse(await ctx.in_session(work))


@api.post(
    "/pages/{id}/unpublish",
    "Take the page down: its links answer a 'no longer available' page.",
    response=PageOut,
    errors=(401, 404, 422),
)
def unpublish(request: Request, ctx: AppContext, session: Session) -> dict[str, Any]:
    page_id = path_id(request, "page")
    return _out(unpublish_page(session=session, clock=ctx.clock, page_id=page_id))


@api.get(
    "/pages/{id}/preview",
    "The newest version as HTML, as `?contact_id=` would see it; nothing is "
    "recorded or assigned.",
    errors=(401, 404, 422),
)
async def preview(request: Request) -> Response:
    page_id = path_id(request, "page")
    raw_contact = request.query_params.get("contact_id")
    if raw_contact is not None and not raw_contact.isdigit():
        raise BadRequest(422, "contact_id is a contact's id", code="invalid_input")
    contact_id = int(raw_contact) if raw_contact else None
    ctx = context(request)

    def work(session: Session) -> str:
        # Read-only: rolled back whatever happens, so nothing is recorded or assigned.
        try:
            html: str = ctx.pages.preview(session=session, page_id=page_id, contact_id=contact_id)
            return html
        finally:
            session.rollback()

    html = await ctx.in_read_session(work)
    headers = page_headers(None)
    # The preview's scripts run too (in the builder's phone frame): allow inline ones.
    headers["content-security-policy"] = headers["content-security-policy"].replace(
        "script-src 'none'", "script-src 'unsafe-inline'"
    )
    return Response(html, media_type="text/html; charset=utf-8", headers=headers)
