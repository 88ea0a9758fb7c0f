"""Links to pages: one per recipient, each with its own page token and the page version
it was sent with (`/p/{token}` is the page's stable address for that recipient)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, literal, select, update
from sqlmodel import Session, col

from landing_templates.pages import published_version
from richsms.clock import Clock
from richsms.errors import NotFound
from richsms.types import UTCDateTime
from shortener.codes import CodeMaker
from shortener.links import IssuedLink, LinkSpec, create_links
from shortener.models import Link, LinkChange
from shortener.resolver import Target, read_target

# 96 random bits: a recipient's token cannot be guessed from anyone else's.
TOKEN_BYTES = 12


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def issue_page_links(
    *,
    session: Session,
    codes: CodeMaker,
    clock: Clock,
    base_url: str,
    page_id: int,
    contact_ids: Sequence[int | None],
    campaign_id: int | None = None,
    expires_at: datetime | None = None,
    is_test: bool = False,
) -> list[IssuedLink]:
    """One short link per contact to the page's published version, set-based.

    The planner calls this for a campaign whose `page_id` is set; `POST /api/links` for
    one contact. Raises Conflict when the page is not published.
    """
    _page, version = published_version(session=session, page_id=page_id)
    spec = LinkSpec(
        url=base_url + "p/",
        campaign_id=campaign_id,
        page_id=page_id,
        page_version=version,
        expires_at=expires_at,
        is_test=is_test,
    )
    tokens = [new_token() for _ in contact_ids]
    return create_links(
        session=session,
        codes=codes,
        clock=clock,
        spec=spec,
        contact_ids=contact_ids,
        page_tokens=tokens,
    )


def link_by_token(*, session: Session, token: str) -> Target:
    """The page link at `/p/{token}`, read as the redirect reads a code (`read_target`)."""
    link = read_target(session, col(Link.page_token) == token)
    if link is None or link.page_id is None:
        raise NotFound("no page at this address")
    return link


def move_links(*, session: Session, clock: Clock, page_id: int, version: int | None = None) -> int:
    """Point every link already sent to a page at `version` (the published one by default);
    redirect caches drop the moved links within seconds. Returns how many moved."""
    if version is None:
        _page, version = published_version(session=session, page_id=page_id)
    moved = select(col(Link.id)).where(
        col(Link.page_id) == page_id, col(Link.page_version) != version
    )
    now = clock.now()
    session.execute(
        insert(LinkChange).from_select(
            ["link_id", "changed_at"],
            select(col(Link.id), literal(now, UTCDateTime())).where(col(Link.id).in_(moved)),
        )
    )
    result = session.execute(
        update(Link)
        .where(col(Link.page_id) == page_id, col(Link.page_version) != version)
        .values(page_version=version)
    )
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)
