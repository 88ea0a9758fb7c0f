"""What recipients did on their page: a scratch card revealed, a wheel spun, a coupon
copied. Each counts once per recipient, block and kind, however often it is repeated
(a reload, a second device), so the figures count people, not gestures."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import Column, Index, Integer, String, UniqueConstraint, insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col

from richsms.clock import Clock
from richsms.errors import InvalidInput
from richsms.types import UTCDateTime

SCRATCH_REVEALED: Final = "scratch_revealed"
WHEEL_SPUN: Final = "wheel_spun"
COUPON_COPIED: Final = "coupon_copied"
EVENT_KINDS: Final = (SCRATCH_REVEALED, WHEEL_SPUN, COUPON_COPIED)


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
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


def record_page_event(
    *,
    session: Session,
    clock: Clock,
    page_id: int,
    block_id: str,
    contact_id: int,
    kind: str,
    campaign_id: int | None = None,
) -> bool:
    """Record that the recipient did `kind` on the block; False when it was already
    recorded (nothing changes). Flushes only, in a savepoint, so a duplicate never
    spoils the caller's transaction."""
    if kind not in EVENT_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(EVENT_KINDS)}")
    if not block_id or len(block_id) > 64:
        raise InvalidInput("block_id must be 1 to 64 characters")
    exists = session.execute(
        select(col(PageEvent.id)).where(
            col(PageEvent.page_id) == page_id,
            col(PageEvent.block_id) == block_id,
            col(PageEvent.contact_id) == contact_id,
            col(PageEvent.kind) == kind,
        )
    ).first()
    if exists is not None:
        return False
    try:
        with session.begin_nested():
            session.execute(
                insert(PageEvent).values(
                    page_id=page_id,
                    block_id=block_id,
                    contact_id=contact_id,
                    campaign_id=campaign_id,
                    kind=kind,
                    at=clock.now(),
                )
            )
    except IntegrityError:  # the same event from a second device at the same moment
        return False
    return True
