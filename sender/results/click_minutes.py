"""A campaign's human clicks over time, by minute after its first message left (by hour
after the first hour): the buckets of its "clicks over time" chart, and where the clicks
the retention folded keep counting in it.

A click's bucket is its minute after the campaign's start (the first message sent, test
sends left out; a click before it counts in minute 0); from minute 60 on, the first
minute of its hour (60, 120, ...). The chart reads the raw log's buckets and the folded
ones through the same rule (`bucket`), so it shows the same figures before and after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Float,
    Integer,
    case,
    cast,
    func,
    literal,
    select,
)
from sqlmodel import Field, Session, SQLModel, col

from richsms.db import affected, upsert
from richsms.types import UTCDateTime
from sender.delivery.models import Message
from shortener.models import Click, Link

PER_MINUTE_FOR = 60  # minutes after the start counted minute by minute, then by hour


class CampaignClickMinute(SQLModel, table=True):
    """Folded human clicks of one campaign in one bucket (see the module docstring)."""

    __tablename__ = "campaign_click_minute"

    campaign_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    minute: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    human_clicks: int = Field(sa_column=Column(Integer, nullable=False))


def seconds_between(later: Any, earlier: Any, dialect: str) -> ColumnElement[float]:
    if dialect == "sqlite":
        return cast((func.julianday(later) - func.julianday(earlier)) * 86400.0, Float)
    return cast(func.extract("epoch", later - earlier), Float)


def bucket(clicked_at: Any, start: Any, dialect: str) -> ColumnElement[int]:
    """The bucket of a click at `clicked_at` in a campaign that started at `start`."""
    minutes = seconds_between(clicked_at, start, dialect) / 60.0
    # SQLite's CAST truncates (what we want: clicks come after the start); PostgreSQL's
    # rounds, so floor first. A click before the start counts in minute 0.
    minute = cast(minutes if dialect == "sqlite" else func.floor(minutes), Integer)
    return case(
        (minute < 0, 0),
        (minute < PER_MINUTE_FOR, minute),
        else_=(minute // PER_MINUTE_FOR) * PER_MINUTE_FOR,  # `//`: whole hours
    )


@dataclass
class CampaignStarts:
    """When each campaign's first message left, read once for a retention pass: finding
    it reads the campaign's messages (no index holds it), never again for each batch."""

    known: dict[int, datetime | None] = field(default_factory=dict)

    def of_links(self, session: Session, link_ids: Sequence[int]) -> dict[int, datetime]:
        """The start of each campaign (that started) the links belong to."""
        campaigns = set(
            session.execute(
                select(col(Link.campaign_id))
                .where(col(Link.id).in_(link_ids), col(Link.campaign_id).is_not(None))
                .distinct()
            ).scalars()
        )
        missing = sorted(campaigns - self.known.keys())
        if missing:
            found = dict(
                session.execute(
                    select(col(Message.campaign_id), func.min(col(Message.sent_at)))
                    .where(col(Message.campaign_id).in_(missing), col(Message.is_test).is_(False))
                    .group_by(col(Message.campaign_id))
                ).all()
            )
            self.known.update({campaign: found.get(campaign) for campaign in missing})
        return {c: at for c in campaigns if (at := self.known[c]) is not None}


def fold_click_minutes(
    *, session: Session, link_ids: Sequence[int], before: datetime, starts: CampaignStarts
) -> int:
    """Add the human clicks older than `before` on the links (of campaigns that started)
    to their campaign's buckets, in one statement; the buckets written. Flushes only."""
    started = starts.of_links(session, link_ids)
    if not started:
        return 0
    dialect = session.get_bind().dialect.name
    start = case(
        {campaign: literal(at, UTCDateTime()) for campaign, at in started.items()},
        value=col(Link.campaign_id),
    )
    minute = bucket(col(Click.clicked_at), start, dialect).label("minute")
    rows = (
        select(col(Link.campaign_id), minute, func.count())
        .select_from(Click)
        .join(Link, col(Link.id) == col(Click.link_id))
        .where(
            col(Click.link_id).in_(link_ids),
            col(Click.clicked_at) < before,
            col(Click.is_bot).is_(False),
            col(Link.campaign_id).in_(sorted(started)),
        )
        .group_by(col(Link.campaign_id), "minute")
    )
    statement = upsert(session, CampaignClickMinute).from_select(
        ["campaign_id", "minute", "human_clicks"], rows
    )
    table = CampaignClickMinute.__table__  # type: ignore[attr-defined]
    statement = statement.on_conflict_do_update(
        index_elements=["campaign_id", "minute"],
        set_={"human_clicks": table.c.human_clicks + statement.excluded.human_clicks},
    )
    return affected(session.execute(statement))


def folded_buckets(session: Session, campaign_id: int) -> list[tuple[int, int]]:
    return [
        (int(minute), int(n))
        for minute, n in session.execute(
            select(col(CampaignClickMinute.minute), col(CampaignClickMinute.human_clicks)).where(
                col(CampaignClickMinute.campaign_id) == campaign_id
            )
        ).all()
    ]
