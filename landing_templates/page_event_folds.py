"""Page events folded once the raw record may keep them no longer: which recipient did
which kind of thing on a page, for which campaign, without the block, the link or when.

The results count people per kind (once each, however many blocks), so a fold keeps one
row per page, campaign (0 for none), kind and recipient, and the counts read the raw
events and the folded ones together, each person once: a recipient who does the same
thing again after their event was folded (a scratch card revealed anew: the page no
longer remembers it) is not counted twice. Folding and deleting run in the caller's
transaction, so a crash mid-fold loses nothing, and folding twice adds nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Integer, String, delete, func, select
from sqlmodel import Field, Session, SQLModel, col

from landing_templates.page_events import PageEvent
from richsms.db import affected, upsert


class PageEventFold(SQLModel, table=True):
    __tablename__ = "page_event_fold"
    __table_args__ = (Index("ix_page_event_fold_campaign", "campaign_id", "kind"),)

    page_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    campaign_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    kind: str = Field(sa_column=Column(String(20), primary_key=True))
    contact_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))


def old_page_events(
    *, session: Session, before: datetime, after_id: int, limit: int
) -> tuple[int, int] | None:
    """The id range (first, last) of the next `limit` page events older than `before`
    after `after_id`: a batch of the retention's fold; None when there are none left."""
    ids = (
        select(col(PageEvent.id))
        .where(col(PageEvent.id) > after_id, col(PageEvent.at) < before)
        .order_by(col(PageEvent.id))
        .limit(limit)
        .subquery()
    )
    first, last = session.execute(select(func.min(ids.c.id), func.max(ids.c.id))).one()
    return None if first is None else (int(first), int(last))


def fold_page_events(*, session: Session, ids: tuple[int, int], before: datetime) -> int:
    """Fold the page events older than `before` with ids in `ids` (inclusive), then
    delete them, in one statement each; how many were deleted. Flushes only."""
    first, last = ids
    batch = (
        col(PageEvent.id) >= first,
        col(PageEvent.id) <= last,
        col(PageEvent.at) < before,
    )
    rows = (
        select(
            col(PageEvent.page_id),
            func.coalesce(col(PageEvent.campaign_id), 0),
            col(PageEvent.kind),
            col(PageEvent.contact_id),
        )
        .where(*batch)
        .distinct()
    )
    names = ["page_id", "campaign_id", "kind", "contact_id"]
    session.execute(
        upsert(session, PageEventFold).from_select(names, rows).on_conflict_do_nothing()
    )
    return affected(session.execute(delete(PageEvent).where(*batch)))
