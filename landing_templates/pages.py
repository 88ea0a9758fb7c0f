"""Page use cases: create, edit as a new draft, publish (freezing a version), read, list.

Every function takes its session keyword-only and only flushes; the edge commits.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from landing_templates.models import DRAFT, LANGUAGES, PUBLISHED, Page, PageImage, PageVersion
from landing_templates.validation import check_blocks, check_theme
from richsms.clock import Clock
from richsms.db import get_or_not_found
from richsms.errors import Conflict, InvalidInput, NotFound


@dataclass(frozen=True, slots=True)
class PageState:
    page: Page
    draft: PageVersion  # the newest version: a draft, or the published one if nothing newer


def create_page(
    *,
    session: Session,
    clock: Clock,
    name: str,
    language: str,
    blocks: Sequence[Any],
    theme: dict[str, Any] | None = None,
    custom_fields: Collection[str] = (),
) -> PageState:
    _check_name_language(name, language)
    stored_theme = check_theme(theme)
    stored = check_blocks(blocks, custom_fields=custom_fields)
    _check_images(session, stored, stored_theme)
    now = clock.now()
    page = Page(name=name, language=language, theme=stored_theme, created_at=now, updated_at=now)
    session.add(page)
    session.flush()
    assert page.id is not None
    version = PageVersion(
        page_id=page.id, version=1, theme=stored_theme, blocks=stored, created_at=now
    )
    session.add(version)
    session.flush()
    return PageState(page, version)


def duplicate_page(
    *,
    session: Session,
    clock: Clock,
    page_id: int,
    name: str | None = None,
    language: str | None = None,
    custom_fields: Collection[str] = (),
) -> PageState:
    """A new page (version 1, a draft) with the newest version's blocks and theme (`name`,
    default the original's followed by " (copy)"), in `language` (default the original's).
    Flushes."""
    original = get_page(session=session, page_id=page_id)
    return create_page(
        session=session,
        clock=clock,
        name=(name or f"{original.page.name} (copy)")[:200],
        language=language or original.page.language,
        blocks=original.draft.blocks,
        theme=original.draft.theme,
        custom_fields=custom_fields,
    )


def translate_page(
    *,
    session: Session,
    clock: Clock,
    page_id: int,
    language: str,
    name: str | None = None,
    custom_fields: Collection[str] = (),
) -> PageState:
    """The page duplicated into another `language`, for its texts to be translated: a new
    draft (`name`, default the original's followed by the language, "Soldes (en)") that a
    campaign's translation then names. A page is never translated into its own language.
    Flushes."""
    original = get_page(session=session, page_id=page_id).page
    if language not in LANGUAGES:
        raise InvalidInput(f"language: one of {', '.join(LANGUAGES)}")
    if language == original.language:
        raise InvalidInput(
            "language: the page is already in {language}", params={"language": language}
        )
    return duplicate_page(
        session=session,
        clock=clock,
        page_id=page_id,
        name=name or f"{original.name} ({language})",
        language=language,
        custom_fields=custom_fields,
    )


def update_page(
    *,
    session: Session,
    clock: Clock,
    page_id: int,
    name: str | None = None,
    language: str | None = None,
    blocks: Sequence[Any] | None = None,
    theme: dict[str, Any] | None = None,
    custom_fields: Collection[str] = (),
) -> PageState:
    """Edit the draft (a new version after a published one); published versions never change."""
    state = get_page(session=session, page_id=page_id, for_update=True)
    page, latest = state.page, state.draft
    _check_name_language(name or page.name, language or page.language)
    stored_theme = check_theme(theme) if theme is not None else latest.theme
    previous = [str(b.get("id")) for b in latest.blocks]
    stored = (
        check_blocks(blocks, custom_fields=custom_fields, previous_ids=previous)
        if blocks is not None
        else latest.blocks
    )
    _check_images(session, stored, stored_theme)
    now = clock.now()
    if latest.published_at is None:
        draft = latest
        draft.blocks, draft.theme = stored, stored_theme
    else:
        draft = PageVersion(
            page_id=page_id,
            version=latest.version + 1,
            theme=stored_theme,
            blocks=stored,
            created_at=now,
        )
    session.add(draft)
    page.name = name or page.name
    page.language = language or page.language
    page.theme = stored_theme
    return _changed(session, PageState(page, draft), now)


def publish_page(*, session: Session, clock: Clock, page_id: int) -> PageState:
    """Freeze the newest version and make it the one new links get."""
    state = get_page(session=session, page_id=page_id, for_update=True)
    page, latest = state.page, state.draft
    now = clock.now()
    if latest.published_at is None:
        latest.published_at = now
        session.add(latest)
    page.published_version = latest.version
    page.status = PUBLISHED
    return _changed(session, PageState(page, latest), now)


def unpublish_page(*, session: Session, clock: Clock, page_id: int) -> PageState:
    """Links already sent then answer a clear 'no longer available' page."""
    state = get_page(session=session, page_id=page_id, for_update=True)
    state.page.status = DRAFT
    return _changed(session, state, clock.now())


def _changed(session: Session, state: PageState, now: datetime) -> PageState:
    """Every change to a page stamps it `now`; flushes."""
    state.page.updated_at = now
    session.add(state.page)
    session.flush()
    return state


def get_page(*, session: Session, page_id: int, for_update: bool = False) -> PageState:
    query = select(Page).where(col(Page.id) == page_id)
    page = session.exec(query.with_for_update() if for_update else query).first()
    if page is None:
        raise NotFound(f"no page with id {page_id}")
    latest = session.exec(
        select(PageVersion)
        .where(col(PageVersion.page_id) == page_id)
        .order_by(col(PageVersion.version).desc())
        .limit(1)
    ).first()
    assert latest is not None
    return PageState(page, latest)


def get_version(*, session: Session, page_id: int, version: int) -> PageVersion:
    row = session.exec(
        select(PageVersion).where(
            col(PageVersion.page_id) == page_id, col(PageVersion.version) == version
        )
    ).first()
    if row is None:
        raise NotFound(f"page {page_id} has no version {version}")
    return row


def published_version(*, session: Session, page_id: int) -> tuple[Page, int]:
    """The page and the version new links get; Conflict when it is not published."""
    page = get_or_not_found(session, Page, page_id, f"no page with id {page_id}")
    if page.status != PUBLISHED or page.published_version is None:
        raise Conflict(f"page {page_id} is not published: publish it before sending links to it")
    return page, page.published_version


def list_pages(*, session: Session, after: int = 0, limit: int = 100) -> list[Page]:
    return list(
        session.exec(
            select(Page).where(col(Page.id) > after).order_by(col(Page.id)).limit(limit)
        )
    )


def _check_name_language(name: str, language: str) -> None:
    if not name.strip() or len(name) > 200:
        raise InvalidInput("name: 1 to 200 characters")
    if language not in LANGUAGES:
        raise InvalidInput(f"language: one of {', '.join(LANGUAGES)}")


def _check_images(session: Session, blocks: list[dict[str, Any]], theme: dict[str, Any]) -> None:
    wanted = {int(b["image_id"]) for b in blocks if b["type"] == "image"}
    if theme.get("logo_image_id"):
        wanted.add(int(theme["logo_image_id"]))
    if not wanted:
        return
    found = set(session.exec(select(PageImage.id).where(col(PageImage.id).in_(wanted))))
    missing = sorted(wanted - found)
    if missing:
        raise InvalidInput(f"no uploaded image with id {', '.join(map(str, missing))}")
