"""Clicks folded into one row per link and day once the raw log may keep them no longer.

A raw click holds what the retention setting limits (the anonymized address, the user
agent, the referrer, a daily visitor pseudonym); its day row holds counts and instants
only, enough for every figure the results show: clicks, human clicks, unique visitors of
the day (the visitor pseudonym changes each day, so a link's unique visitors are the sum
of its days'), the first and last click and the first human click. People are counted
through the link, whose recipient the click carried (`Click.contact_id` is the link's).

`fold_clicks` and `delete_clicks` take whole links (every old day of each): a link's day
is never split between two batches, so the day's distinct visitors stay exact. Both run
in the caller's transaction: the day rows and the deletion of what they count commit
together, so a crash mid-fold loses nothing and a fold never counts a click twice (a
folded click is gone). Should the same link and day be folded again all the same (a
click dated in the past arriving late), its counts are added.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Date,
    Index,
    Integer,
    case,
    delete,
    distinct,
    func,
    select,
    union_all,
)
from sqlmodel import Field, Session, SQLModel, col

from richsms.db import affected, upsert
from richsms.types import UTCDateTime
from shortener.models import Click, Link


class ClickDay(SQLModel, table=True):
    """One link's clicks of one UTC day, once folded out of the raw log."""

    __tablename__ = "click_day"
    # A campaign's (a page's) figures read their links' days from this index alone: a
    # probe per link, never a scan of every day of every link.
    __table_args__ = (
        Index("ix_click_day_link", "link_id", "human_clicks", "clicks", "first_human_at"),
    )

    link_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    day: date = Field(sa_column=Column(Date, primary_key=True))
    clicks: int = Field(sa_column=Column(Integer, nullable=False))
    human_clicks: int = Field(sa_column=Column(Integer, nullable=False))
    # Distinct visitors among the day's human clicks (the pseudonym is a daily one).
    human_visitors: int = Field(sa_column=Column(Integer, nullable=False))
    first_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    first_human_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


def utc_day(moment: Any, dialect: str) -> Any:
    """The UTC date of a stored instant, as the database spells a DATE."""
    if dialect == "sqlite":
        return func.date(moment)  # stored as UTC text already
    return func.timezone("UTC", moment).cast(Date)


def earliest(a: Any, b: Any, dialect: str) -> Any:
    """The earlier of two instants, either of which may be NULL."""
    first, second = func.coalesce(a, b), func.coalesce(b, a)
    return func.min(first, second) if dialect == "sqlite" else func.least(first, second)


def latest(a: Any, b: Any, dialect: str) -> Any:
    return func.max(a, b) if dialect == "sqlite" else func.greatest(a, b)


def fold_clicks(*, session: Session, link_ids: Sequence[int], before: datetime) -> int:
    """Add the links' clicks older than `before` (a UTC midnight) to their day rows, in
    one statement; the number of link days written. Flushes only."""
    if not link_ids:
        return 0
    dialect = session.get_bind().dialect.name
    human = col(Click.is_bot).is_(False)
    day = utc_day(col(Click.clicked_at), dialect).label("day")
    rows = (
        select(
            col(Click.link_id),
            day,
            func.count(),
            func.count(case((human, 1))),
            func.count(distinct(case((human, col(Click.visitor))))),
            func.min(col(Click.clicked_at)),
            func.max(col(Click.clicked_at)),
            func.min(case((human, col(Click.clicked_at)))),
        )
        .where(col(Click.link_id).in_(link_ids), col(Click.clicked_at) < before)
        .group_by(col(Click.link_id), "day")
    )
    names = ["link_id", "day", "clicks", "human_clicks", "human_visitors", "first_at",
             "last_at", "first_human_at"]  # fmt: skip
    statement = upsert(session, ClickDay).from_select(names, rows)
    new = statement.excluded
    table = ClickDay.__table__  # type: ignore[attr-defined]
    statement = statement.on_conflict_do_update(
        index_elements=["link_id", "day"],
        set_={
            "clicks": table.c.clicks + new.clicks,
            "human_clicks": table.c.human_clicks + new.human_clicks,
            "human_visitors": table.c.human_visitors + new.human_visitors,
            "first_at": earliest(table.c.first_at, new.first_at, dialect),
            "last_at": latest(table.c.last_at, new.last_at, dialect),
            "first_human_at": earliest(table.c.first_human_at, new.first_human_at, dialect),
        },
    )
    return affected(session.execute(statement))


def delete_clicks(*, session: Session, link_ids: Sequence[int], before: datetime) -> int:
    """Delete the links' raw clicks older than `before`; how many. Flushes only."""
    if not link_ids:
        return 0
    return affected(
        session.execute(
            delete(Click).where(col(Click.link_id).in_(link_ids), col(Click.clicked_at) < before)
        )
    )


def links_with_old_clicks(
    *, session: Session, before: datetime, after_link: int, limit: int
) -> list[int]:
    """The next `limit` links (by id, after `after_link`) that have clicks older than
    `before`: a batch of the retention's fold. Reads the click log's link index."""
    return [
        int(link_id)
        for link_id in session.execute(
            select(col(Click.link_id))
            .where(col(Click.link_id) > after_link, col(Click.clicked_at) < before)
            .group_by(col(Click.link_id))
            .order_by(col(Click.link_id))
            .limit(limit)
        ).scalars()
    ]


@dataclass(frozen=True, slots=True)
class ClickFigures:
    """The clicks on a set of links, raw and folded together."""

    total: int
    human: int
    people: int  # distinct recipients of personal links a person clicked
    links: int  # distinct links a person clicked

    @property
    def bot(self) -> int:
        return self.total - self.human


def click_figures(session: Session, *on_links: Any) -> ClickFigures:
    """Clicks on the links `on_links` selects (conditions on `Link`): the raw log's and
    the folded days' added, people and links counted once across both (a folded day
    counts its link's recipient when a person clicked that day)."""
    human = case((col(Click.is_bot).is_(False), 1), else_=0)
    total, humans = session.execute(
        select(func.count(), func.coalesce(func.sum(human), 0).cast(Integer))
        .select_from(Link)
        .join(Click, col(Click.link_id) == col(Link.id))
        .where(*on_links)
    ).one()
    folded_total, folded_humans = session.execute(
        select(
            func.coalesce(func.sum(col(ClickDay.clicks)), 0),
            func.coalesce(func.sum(col(ClickDay.human_clicks)), 0),
        )
        .select_from(Link)
        .join(ClickDay, col(ClickDay.link_id) == col(Link.id))
        .where(*on_links)
    ).one()
    clicked = union_all(
        select(col(Click.contact_id).label("contact_id"), col(Click.link_id).label("link_id"))
        .select_from(Link)
        .join(Click, col(Click.link_id) == col(Link.id))
        .where(*on_links, col(Click.is_bot).is_(False)),
        select(col(Link.contact_id), col(ClickDay.link_id))
        .select_from(Link)
        .join(ClickDay, col(ClickDay.link_id) == col(Link.id))
        .where(*on_links, col(ClickDay.human_clicks) > 0),
    ).subquery()
    people, links = session.execute(
        select(func.count(distinct(clicked.c.contact_id)), func.count(distinct(clicked.c.link_id)))
    ).one()
    return ClickFigures(
        int(total) + int(folded_total), int(humans) + int(folded_humans), int(people), int(links)
    )
