"""What recipients did on their page: a scratch card revealed, a wheel spun, a coupon
copied, a button tapped. Each counts once per recipient, block and kind, however often it
is repeated (a reload, a second device), so the figures count people, not gestures.

An event belongs to the link it happened behind, hence to the campaign (or the unitary
message, whose `link_id` it is) that carried that link, whichever address opened the page
(`/{code}` or `/p/{token}`): both read the same link. The blocks' scripts report what
happens in the browser (`report_page_event`, behind `POST /p/{token}/events/...`); the
wheel's spin is recorded by the spin itself, in its own transaction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import Column, Index, Integer, String, UniqueConstraint, insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col

from landing_templates.links import link_by_token
from landing_templates.pages import get_version
from richsms.clock import Clock
from richsms.errors import Conflict, InvalidInput, NotFound
from richsms.types import UTCDateTime
from shortener.resolver import Target

SCRATCH_REVEALED: Final = "scratch_revealed"
WHEEL_SPUN: Final = "wheel_spun"
COUPON_COPIED: Final = "coupon_copied"
BUTTON_TAPPED: Final = "button_tapped"
EVENT_KINDS: Final = (SCRATCH_REVEALED, WHEEL_SPUN, COUPON_COPIED, BUTTON_TAPPED)

# Events a page's script may report, each on the blocks that can do it (the wheel's spin
# is recorded by the spin itself): a block id the page does not have records nothing.
REPORTED_ON: Final = {
    SCRATCH_REVEALED: ("scratch",),
    COUPON_COPIED: ("coupon", "scratch", "wheel"),
    BUTTON_TAPPED: ("button",),
}
REPORTABLE: Final = tuple(kind for kind in EVENT_KINDS if kind in REPORTED_ON)


class PageEvent(SQLModel, table=True):
    __tablename__ = "page_event"
    __table_args__ = (
        UniqueConstraint("page_id", "block_id", "contact_id", "kind", name="uq_page_event"),
        Index("ix_page_event_page", "page_id", "kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    page_id: int = Field(sa_column=Column(Integer, nullable=False))
    block_id: str = Field(sa_column=Column(String(64), nullable=False))
    contact_id: int = Field(sa_column=Column(Integer, nullable=False))
    campaign_id: int | None = Field(default=None, sa_column=Column(Integer, index=True))
    # The link it happened behind: a unitary message's own (its `message.link_id`).
    link_id: int | None = Field(default=None, sa_column=Column(Integer, index=True))
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


@dataclass(frozen=True, slots=True)
class NewPageEvent:
    """What a recipient did on a page: `kind` on the block, behind the campaign's link."""

    page_id: int
    block_id: str
    contact_id: int
    kind: str
    campaign_id: int | None = None
    link_id: int | None = None


def record_page_event(*, session: Session, clock: Clock, event: NewPageEvent) -> bool:
    """Record that the recipient did the event's `kind` on the block; False when it was
    already recorded (nothing changes). Flushes only, in a savepoint, so a duplicate never
    spoils the caller's transaction."""
    if event.kind not in EVENT_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(EVENT_KINDS)}")
    if not event.block_id or len(event.block_id) > 64:
        raise InvalidInput("block_id must be 1 to 64 characters")
    exists = session.execute(
        select(col(PageEvent.id)).where(
            col(PageEvent.page_id) == event.page_id,
            col(PageEvent.block_id) == event.block_id,
            col(PageEvent.contact_id) == event.contact_id,
            col(PageEvent.kind) == event.kind,
        )
    ).first()
    if exists is not None:
        return False
    try:
        with session.begin_nested():
            session.execute(insert(PageEvent).values(**asdict(event), at=clock.now()))
    except IntegrityError:  # the same event from a second device at the same moment
        return False
    return True


def record_link_event(
    *, session: Session, clock: Clock, link: Target, block_id: str, kind: str
) -> bool:
    """`record_page_event` for the recipient, page, campaign and link of `link`."""
    assert link.page_id is not None and link.contact_id is not None
    event = NewPageEvent(
        page_id=link.page_id,
        block_id=block_id,
        contact_id=link.contact_id,
        kind=kind,
        campaign_id=link.campaign_id,
        link_id=link.link_id,
    )
    return record_page_event(session=session, clock=clock, event=event)


def report_page_event(
    *, session: Session, clock: Clock, token: str, kind: str, block_id: str
) -> bool:
    """What a page's script reports for the page at `/p/{token}`: recorded once, for the
    link's recipient and campaign, on a block of the link's version that can do it.
    NotFound for an unknown token or block, Conflict for a link that serves nothing more
    or a page that is not personal."""
    if kind not in REPORTED_ON:
        raise InvalidInput(f"kind must be one of {', '.join(REPORTABLE)}")
    link = link_by_token(session=session, token=token)
    if link.gone(clock.now()):  # as its page and its wheel: nothing more
        raise Conflict("this link has expired")
    if link.page_id is None or link.contact_id is None:
        raise Conflict("this page is not personal: nothing is recorded")
    version = get_version(session=session, page_id=link.page_id, version=link.page_version or 1)
    types = {str(b.get("id")): b.get("type") for b in version.blocks}
    if types.get(block_id) not in REPORTED_ON[kind]:
        raise NotFound(f"no {' or '.join(REPORTED_ON[kind])} block {block_id!r} here")
    return record_link_event(session=session, clock=clock, link=link, block_id=block_id, kind=kind)
