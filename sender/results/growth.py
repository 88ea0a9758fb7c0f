"""Subscriber growth: opt-ins, opt-outs and the net change per day, week or month, by
source, from the consent history (appended to, never rewritten, so the past stays put).

A consent event's channel comes from how it was recorded: `keyword:…` (a text message:
START, STOP…), `api`, `web…` (a web form), a carrier's report, and anything else was
given in an import (the file's own consent source names where it was collected).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from richsms.errors import InvalidInput
from sender.audience.models import ConsentEvent

PERIODS = ("day", "week", "month")
OPT_IN_KINDS = ("express", "implied", "opt_in")
OPT_OUT_KIND = "opt_out"
MAX_BUCKETS = 400


def channel(source: str) -> str:
    lowered = source.lower()
    if lowered.startswith("keyword"):
        return "keyword"
    if lowered.startswith("api"):
        return "api"
    if lowered.startswith(("web", "form")):
        return "web form"
    if lowered.startswith("carrier"):
        return "carrier"
    return "import"


def _bucket(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    if period == "month":
        return day.replace(day=1)
    return day


def _next(bucket: date, period: str) -> date:
    if period == "week":
        return bucket + timedelta(days=7)
    if period == "month":
        return (bucket.replace(day=28) + timedelta(days=4)).replace(day=1)
    return bucket + timedelta(days=1)


def subscriber_growth(
    *, session: Session, start: datetime, end: datetime, period: str = "day"
) -> dict[str, Any]:
    """Per bucket of `period` between `start` and `end` (UTC): opt-ins, opt-outs, net,
    and opt-ins and opt-outs by channel; every bucket listed, empty ones too."""
    if period not in PERIODS:
        raise InvalidInput(f"period must be one of {', '.join(PERIODS)}")
    if end <= start:
        raise InvalidInput("'to' must come after 'from'")
    first, last = _bucket(start.date(), period), _bucket(end.date(), period)
    buckets = [first]
    while buckets[-1] < last:
        buckets.append(_next(buckets[-1], period))
        if len(buckets) > MAX_BUCKETS:
            raise InvalidInput(f"at most {MAX_BUCKETS} {period}s at once: choose a longer period")
    # Grouped by day and source in SQL (few rows), then folded into weeks or months here.
    at = col(ConsentEvent.at)
    utc = at if session.get_bind().dialect.name == "sqlite" else func.timezone("UTC", at)
    day = func.date(utc)
    rows = session.execute(
        select(day, col(ConsentEvent.kind), col(ConsentEvent.source), func.count())
        .where(col(ConsentEvent.at) >= start, col(ConsentEvent.at) < end)
        .group_by(day, col(ConsentEvent.kind), col(ConsentEvent.source))
    ).all()
    ins: dict[date, int] = defaultdict(int)
    outs: dict[date, int] = defaultdict(int)
    by_channel: dict[date, dict[str, dict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: {"opt_ins": 0, "opt_outs": 0})
    )
    for raw_day, kind, source, n in rows:
        when = raw_day if isinstance(raw_day, date) else date.fromisoformat(str(raw_day)[:10])
        bucket = _bucket(when, period)
        if kind in OPT_IN_KINDS:
            ins[bucket] += int(n)
            by_channel[bucket][channel(source or "")]["opt_ins"] += int(n)
        elif kind == OPT_OUT_KIND:
            outs[bucket] += int(n)
            by_channel[bucket][channel(source or "")]["opt_outs"] += int(n)
    series = [
        {
            "from": bucket.isoformat(),
            "opt_ins": ins[bucket],
            "opt_outs": outs[bucket],
            "net": ins[bucket] - outs[bucket],
            "by_channel": {name: dict(v) for name, v in sorted(by_channel[bucket].items())},
        }
        for bucket in buckets
    ]
    return {
        "period": period,
        "from": start.isoformat().replace("+00:00", "Z"),
        "to": end.isoformat().replace("+00:00", "Z"),
        "opt_ins": sum(ins.values()),
        "opt_outs": sum(outs.values()),
        "net": sum(ins.values()) - sum(outs.values()),
        "series": series,
    }
