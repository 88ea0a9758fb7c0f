"""Click statistics of one link: total, unique, human and bot clicks, first and last."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Integer, case, distinct, func, select
from sqlmodel import Session, col

from shortener.click_days import ClickDay
from shortener.links import get_link
from shortener.models import Click


@dataclass(frozen=True)
class LinkStats:
    clicks: int
    unique_clicks: int
    human_clicks: int
    bot_clicks: int
    first_click_at: datetime | None
    last_click_at: datetime | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self) | {
            "first_click_at": _iso(self.first_click_at),
            "last_click_at": _iso(self.last_click_at),
        }


def link_stats(*, session: Session, code: str) -> LinkStats:
    """Unique clicks count people: the contact on a personal link, else one anonymized
    visitor per day. Bots and previews count in `clicks` and `bot_clicks` only."""
    link = get_link(session=session, code=code)
    human = case((col(Click.is_bot).is_(False), 1), else_=0)
    total, humans, first, last = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(human), 0).cast(Integer),
            func.min(col(Click.clicked_at)),
            func.max(col(Click.clicked_at)),
        ).where(col(Click.link_id) == link.id)
    ).one()
    # The days folded out of the raw log once the retention allowed no more, added: the
    # visitor pseudonym is a daily one, so the days' unique visitors add up.
    f_total, f_humans, f_visitors, f_first, f_last = session.execute(
        select(
            func.coalesce(func.sum(col(ClickDay.clicks)), 0),
            func.coalesce(func.sum(col(ClickDay.human_clicks)), 0),
            func.coalesce(func.sum(col(ClickDay.human_visitors)), 0),
            func.min(col(ClickDay.first_at)),
            func.max(col(ClickDay.last_at)),
        ).where(col(ClickDay.link_id) == link.id)
    ).one()
    total, humans = int(total) + int(f_total), int(humans) + int(f_humans)
    first = min((m for m in (first, f_first) if m is not None), default=None)
    last = max((m for m in (last, f_last) if m is not None), default=None)
    if link.contact_id is not None:
        unique = 1 if humans else 0
    else:
        unique = int(f_visitors) + session.execute(
            select(func.count(distinct(col(Click.visitor)))).where(
                col(Click.link_id) == link.id, col(Click.is_bot).is_(False)
            )
        ).scalar_one()
    return LinkStats(total, int(unique), humans, total - humans, first, last)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")
