"""How soon recipients read: the delay from delivery (or sending, without receipts) to a
recipient's first human click, and the campaign's clicks over time.

The claim "95% of SMS are read within 3 minutes" is checked here on one's own audience:
`within_3_minutes` is the share of clickers whose first click came that soon.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, literal, select, union_all
from sqlmodel import Session, col

from sender.delivery.models import Message
from sender.results.click_minutes import (
    PER_MINUTE_FOR,
    bucket,
    folded_buckets,
    seconds_between,
)
from shortener.click_days import ClickDay
from shortener.models import Click, Link

# Histogram buckets of the reading delay, in seconds (upper bounds; the last is open).
BUCKETS = (
    ("< 1 min", 60),
    ("1-3 min", 180),
    ("3-10 min", 600),
    ("10-30 min", 1800),
    ("30-60 min", 3600),
    ("1-3 h", 10800),
    ("3-24 h", 86400),
    ("> 24 h", None),
)


def _first_human_clicks(campaign_id: int) -> Any:
    # Driven from the campaign's links (their index), then each link's clicks (theirs):
    # never a scan of every click of every campaign. A link's first human click is the
    # earlier of the raw log's and its folded days'.
    raw: Any = (
        select(col(Link.id).label("link_id"), func.min(col(Click.clicked_at)).label("at"))
        .select_from(Link)
        .join(Click, col(Click.link_id) == col(Link.id))
        .where(col(Link.campaign_id) == campaign_id, col(Click.is_bot).is_(False))
        .group_by(col(Link.id))
    )
    folded = (
        select(col(Link.id), func.min(col(ClickDay.first_human_at)))
        .select_from(Link)
        .join(ClickDay, col(ClickDay.link_id) == col(Link.id))
        .where(col(Link.campaign_id) == campaign_id, col(ClickDay.first_human_at).is_not(None))
        .group_by(col(Link.id))
    )
    both = union_all(raw, folded).subquery()
    return (
        select(both.c.link_id, func.min(both.c.at).label("at"))
        .group_by(both.c.link_id)
        .subquery()
    )


def _percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted values."""
    rank = max(1, -(-int(len(ordered) * fraction * 1000) // 1000))
    return ordered[min(len(ordered), rank) - 1]


def reading_delay(*, session: Session, campaign_id: int) -> dict[str, Any]:
    dialect = session.get_bind().dialect.name
    first = _first_human_clicks(campaign_id)
    reached = func.coalesce(col(Message.delivered_at), col(Message.sent_at))
    delay = seconds_between(first.c.at, reached, dialect)
    rows = session.execute(
        select(delay, col(Message.delivered_at).is_not(None))
        .select_from(Message)
        .join(first, first.c.link_id == col(Message.link_id))
        .where(
            col(Message.campaign_id) == campaign_id,
            col(Message.is_test).is_(False),
            reached.is_not(None),
        )
    ).all()
    delays = sorted(max(0.0, float(d)) for d, _ in rows if d is not None)
    from_receipt = sum(1 for _, receipt in rows if receipt)
    counts = [0] * len(BUCKETS)
    for value in delays:
        for index, (_label, bound) in enumerate(BUCKETS):
            if bound is None or value < bound:
                counts[index] += 1
                break
    clickers = len(delays)
    return {
        "clickers": clickers,
        "measured_from": "delivery" if from_receipt == clickers and clickers else
        ("sending" if not from_receipt else "delivery where receipted, else sending"),
        "median_seconds": round(_percentile(delays, 0.5), 1) if delays else None,
        "p90_seconds": round(_percentile(delays, 0.9), 1) if delays else None,
        "within_3_minutes": round(sum(1 for d in delays if d <= 180) / clickers, 4)
        if clickers
        else None,
        "within_1_hour": round(sum(1 for d in delays if d <= 3600) / clickers, 4)
        if clickers
        else None,
        "histogram": [
            {"bucket": label, "count": count}
            for (label, _), count in zip(BUCKETS, counts, strict=True)
        ],
    }


def _start(session: Session, campaign_id: int) -> datetime | None:
    started: datetime | None = session.execute(
        select(func.min(col(Message.sent_at))).where(
            col(Message.campaign_id) == campaign_id, col(Message.is_test).is_(False)
        )
    ).scalar_one()
    return started


def clicks_over_time(*, session: Session, campaign_id: int) -> dict[str, Any]:
    """Human clicks after the first message left: `per_minute[m]` in minute m of the
    first hour, then `per_hour[h]` in hour h + 1 (per_hour[0] counts 1 h to 2 h)."""
    start = _start(session, campaign_id)
    if start is None:
        return {"start": None, "per_minute": [], "per_hour": []}
    dialect = session.get_bind().dialect.name
    anchor = literal(start.replace(tzinfo=None) if dialect == "sqlite" else start)
    minute = bucket(col(Click.clicked_at), anchor, dialect).label("minute")
    rows: list[Any] = list(session.execute(
        select(minute, func.count())
        .select_from(Link)
        .join(Click, col(Click.link_id) == col(Link.id))
        .where(col(Link.campaign_id) == campaign_id, col(Click.is_bot).is_(False))
        .group_by("minute")
    ).all())
    rows += folded_buckets(session, campaign_id)
    per_minute = [0] * PER_MINUTE_FOR
    per_hour: dict[int, int] = {}
    for index, n in rows:
        index = max(0, int(index))
        if index < PER_MINUTE_FOR:
            per_minute[index] += int(n)
        else:
            per_hour[index // 60] = per_hour.get(index // 60, 0) + int(n)
    last_hour = max(per_hour, default=0)
    return {
        "start": start.isoformat().replace("+00:00", "Z"),
        "per_minute": per_minute,
        "per_hour": [per_hour.get(h, 0) for h in range(1, last_hour + 1)],
    }
