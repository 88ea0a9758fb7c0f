"""Pages API: create, edit (a new draft), publish, read, list, and preview as a contact."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from landing_templates.links import move_links
from landing_templates.pages import (
    PageState,
    create_page,
    duplicate_page,
    get_page,
    list_pages,
    publish_page,
    translate_page,
    unpublish_page,
    update_page,
)
from richsms.accounts.roles import Permission
from richsms.types import Flag
from sender.campaigns.campaign import known_custom_fields
from web.bodies import DuplicateIn
from web.context import AppContext
from web.errors import BadRequest
from web.openapi import RouteTable
from web.recipients.page_server import page_headers


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


class TranslateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    language: Literal["fr", "en"] = Field(description="The copy's language (not the page's).")
    name: str | None = Field(
        None, max_length=200, description="The copy's name (default: the original's + ' (en)')."
    )


class PageCreated(BaseModel):
    id: int
    version: int
    status: str


class PageTranslated(PageCreated):
    language: str


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


def _out(state: PageState) -> PageOut:
    """The page's own columns, with its newest version's content."""
    draft = state.draft
    newest = {
        "version": draft.version,
        "draft": draft.published_at is None,
        "theme": draft.theme,
        "blocks": draft.blocks,
    }
    return PageOut.model_validate({**state.page.model_dump(), **newest})


def _fields(session: Session) -> set[str]:
    return known_custom_fields(session)


api = RouteTable(tags=("pages",))


@api.post(
    "/pages",
    "Create a page (version 1, a draft); answers 201.",
    errors=(404, 409),
    status=201, needs=Permission.BUILD,
)
def create(ctx: AppContext, session: Session, body: PageIn) -> PageCreated:
    page = body.model_dump() | {"custom_fields": _fields(session)}
    created = create_page(session=session, clock=ctx.clock, **page)
    assert created.page.id is not None
    return PageCreated(
        id=created.page.id, version=created.draft.version, status=created.page.status
    )


@api.post(
    "/pages/{id}/duplicate",
    "A new page (version 1, a draft) with the newest version's blocks and theme.",
    errors=(422,),
    status=201, needs=Permission.BUILD,
)
def duplicate(ctx: AppContext, session: Session, body: DuplicateIn, id: int) -> PageCreated:
    created = duplicate_page(
        session=session, clock=ctx.clock, page_id=id, name=body.name, custom_fields=_fields(session)
    )
    assert created.page.id is not None
    return PageCreated(
        id=created.page.id, version=created.draft.version, status=created.page.status
    )


@api.post(
    "/pages/{id}/translate",
    "The page duplicated into another language (version 1, a draft, blocks and theme as "
    "the newest version's) for its texts to be translated; a campaign's translation then "
    "names it.",
    errors=(422,),
    status=201, needs=Permission.BUILD,
)
def translate(ctx: AppContext, session: Session, body: TranslateIn, id: int) -> PageTranslated:
    created = translate_page(
        session=session,
        clock=ctx.clock,
        page_id=id,
        language=body.language,
        name=body.name,
        custom_fields=_fields(session),
    )
    assert created.page.id is not None
    return PageTranslated(
        id=created.page.id,
        version=created.draft.version,
        status=created.page.status,
        language=created.page.language,
    )


@api.get(
    "/pages", "Pages in id order (`?after=&limit=`).", errors=(422,), needs=Permission.BUILD
)
def index(request: Request, session: Session) -> PageList:
    after = request.query_params.get("after", "0")
    limit = request.query_params.get("limit", "100")
    if not after.isdigit() or not limit.isdigit() or not 1 <= int(limit) <= 500:
        raise BadRequest(422, "after is an id, limit 1 to 500", code="invalid_input")
    pages = list_pages(session=session, after=int(after), limit=int(limit))
    return PageList(pages=[PageSummary.model_validate(p, from_attributes=True) for p in pages])


@api.get("/pages/{id}", "A page with its newest version's blocks.", needs=Permission.BUILD)
def show(session: Session, id: int) -> PageOut:
    return _out(get_page(session=session, page_id=id))


@api.put(
    "/pages/{id}", "Edit the page: the changes form a new draft version.", errors=(409,),
    needs=Permission.BUILD,
)
def update(ctx: AppContext, session: Session, body: PageUpdateIn, id: int) -> PageOut:
    changes = body.model_dump() | {"custom_fields": _fields(session)}
    return _out(update_page(session=session, clock=ctx.clock, page_id=id, **changes))


@api.post(
    "/pages/{id}/publish",
    "Publish the newest version; new links get it, sent links keep theirs unless "
    "`move_links`.",
    body_optional=True,
    errors=(409,), needs=Permission.BUILD,
)
def publish(
    ctx: AppContext, reading: Session, writing: Session, body: PublishIn, id: int
) -> PageOut:
    ctx.pages.check_publishable(session=reading, page_id=id)  # the render, before any write
    published = publish_page(session=writing, clock=ctx.clock, page_id=id)
    if body.move_links:
        move_links(session=writing, clock=ctx.clock, page_id=id)
    return _out(published)


@api.post(
    "/pages/{id}/unpublish", "Take the page down: its links answer a 'no longer available' page.",
    needs=Permission.BUILD,
)
def unpublish(ctx: AppContext, session: Session, id: int) -> PageOut:
    return _out(unpublish_page(session=session, clock=ctx.clock, page_id=id))


@api.get(
    "/pages/{id}/preview",
    "The newest version as HTML, as `?contact_id=` would see it; nothing is "
    "recorded or assigned.",
    reads=True, needs=Permission.BUILD,
)
def preview(request: Request, ctx: AppContext, session: Session, id: int) -> Response:
    raw_contact = request.query_params.get("contact_id")
    if raw_contact is not None and not raw_contact.isdigit():
        raise BadRequest(422, "contact_id is a contact's id", code="invalid_input")
    contact_id = int(raw_contact) if raw_contact else None
    # Read-only: rolled back whatever happens, so nothing is recorded or assigned.
    try:
        html = ctx.pages.preview(session=session, page_id=id, contact_id=contact_id)
    finally:
        session.rollback()
    headers = page_headers(None)
    # The preview's scripts run too (in the builder's phone frame): allow inline ones.
    headers["content-security-policy"] = headers["content-security-policy"].replace(
        "script-src 'none'", "script-src 'unsafe-inline'"
    )
    return Response(html, media_type="text/html; charset=utf-8", headers=headers)
