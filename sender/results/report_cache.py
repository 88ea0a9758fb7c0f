"""Campaign reports kept ready: the chore loop recomputes the report of every campaign
still moving (sending, or messages sent in the last week: clicks, receipts, redemptions
and replies keep coming) and stores it; `GET /api/campaigns/{id}/stats` answers from it
while it is fresh, else computes it there.

Why a stored report and not counters: every figure is an aggregate over the record
(outbox, clicks, coupons, replies), exact after a crash, an erasure or a late receipt,
and nothing is added to the redirect's path. At a million messages the aggregates take
seconds, not the under-a-second a dashboard needs, so they are computed off the request,
and the answer says when (`computed_at`): at most REFRESH_EVERY old for a moving campaign.
Campaigns small enough to count in well under a second (LIVE_UP_TO messages and clicks)
are always exact. One found heavier when counted on a request is kept too, so the next
requests read it (a campaign of 5,000 recipients tapped 200,000 times took 1 to 2 s to
count on PostgreSQL, bench/events). A campaign finished over MOVING_FOR ago hardly changes
(a late tap, an erasure): its kept report is answered for SETTLED_FRESH_FOR.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Engine, Integer, Text, and_, not_, or_, select
from sqlmodel import Field, Session, SQLModel, col

from richsms.db import read_session, session_scope, upsert
from richsms.types import UTCDateTime
from sender.campaigns.models import Campaign
from sender.campaigns.states import FINISHED
from sender.results.campaign_stats import campaign_report

# Up to this many messages and clicks a report is computed on every request (well under a
# second): exact to the moment. Heavier campaigns are answered from their kept report.
LIVE_UP_TO = 100_000
REFRESH_EVERY = timedelta(seconds=60)
FRESH_FOR = timedelta(seconds=120)  # an answer older than this is computed again
MOVING_FOR = timedelta(days=7)  # after it finished, a campaign's figures still move
SETTLED_FRESH_FOR = timedelta(hours=1)


class CampaignReport(SQLModel, table=True):
    __tablename__ = "campaign_report"

    campaign_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    computed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))


def _stamp(report: dict[str, Any], at: datetime) -> dict[str, Any]:
    report["computed_at"] = at.isoformat().replace("+00:00", "Z")
    return report


def current_report(
    *,
    session: Session,
    campaign_id: int,
    now: datetime,
    price_per_segment: Decimal,
    currency: str,
    engine: Engine | None = None,
    live_up_to: int = LIVE_UP_TO,
) -> dict[str, Any]:
    """A heavy campaign's kept report when fresh, else one computed now, and kept (on
    `engine`, in a short transaction of its own) when it proves heavy. Campaigns of up
    to `live_up_to` messages and clicks are always computed now."""
    campaign = session.get(Campaign, campaign_id)
    stored = session.get(CampaignReport, campaign_id) if campaign is not None else None
    if stored is not None and campaign is not None:
        kept: dict[str, Any] = json.loads(stored.body)
        fresh_for = SETTLED_FRESH_FOR if _settled(campaign, now) else FRESH_FOR
        heavy = _heavy(campaign, kept, live_up_to)
        if heavy and now - stored.computed_at <= fresh_for:
            return _stamp(kept, stored.computed_at)
    report = campaign_report(
        session=session,
        campaign_id=campaign_id,
        price_per_segment=price_per_segment,
        currency=currency,
    )
    if engine is not None and campaign is not None and _heavy(campaign, report, live_up_to):
        _keep(engine, campaign_id, report, now)
    return _stamp(report, now)


def _heavy(campaign: Campaign, report: dict[str, Any], live_up_to: int) -> bool:
    """Too much to count at every request: what a report's time grows with is the
    campaign's messages and its clicks (raw or folded)."""
    planned = max(campaign.planned_count or 0, int(report["production"]["planned"]))
    return planned + int(report["engagement"]["clicks"]) > live_up_to


def _settled(campaign: Campaign, now: datetime) -> bool:
    """Finished over MOVING_FOR ago (the moment it finished: its last change)."""
    return campaign.status in FINISHED and now - campaign.updated_at > MOVING_FOR


def _keep(engine: Engine, campaign_id: int, report: dict[str, Any], at: datetime) -> None:
    """Store the report (one upsert: the chore and a request may keep one at once)."""
    body = json.dumps(report, default=str, separators=(",", ":"))
    with session_scope(engine) as session:
        session.execute(
            upsert(session, CampaignReport)
            .values(campaign_id=campaign_id, computed_at=at, body=body)
            .on_conflict_do_update(
                index_elements=["campaign_id"], set_={"computed_at": at, "body": body}
            )
        )


def moving_campaigns(
    *, session: Session, now: datetime, live_up_to: int = LIVE_UP_TO
) -> list[int]:
    """Heavy campaigns whose figures may still change: not finished, or finished less than
    MOVING_FOR ago. Heavy: more than `live_up_to` planned messages, or found so when last
    counted (it has a kept report)."""
    kept = select(col(CampaignReport.campaign_id))
    settled = and_(
        col(Campaign.status).in_(FINISHED), col(Campaign.updated_at) < now - MOVING_FOR
    )
    rows = session.execute(
        select(col(Campaign.id)).where(
            or_(col(Campaign.planned_count) > live_up_to, col(Campaign.id).in_(kept)),
            not_(settled),
        )
    ).all()
    return sorted(int(r[0]) for r in rows if r[0] is not None)


def refresh_reports(
    *,
    engine: Engine,
    now: datetime,
    price_per_segment: Decimal,
    currency: str,
    live_up_to: int = LIVE_UP_TO,
) -> int:
    """The chore: recompute the reports of moving campaigns not refreshed for
    REFRESH_EVERY and store each; returns how many. Each report is computed in a reading
    session (on SQLite no write lock is held for the seconds a large one takes), then
    stored in a short transaction of its own."""
    stale_before = now - REFRESH_EVERY
    with read_session(engine) as session:
        fresh = {
            int(i)
            for i, at in session.execute(
                select(col(CampaignReport.campaign_id), col(CampaignReport.computed_at))
            ).all()
            if at > stale_before
        }
        moving = moving_campaigns(session=session, now=now, live_up_to=live_up_to)
        due = [c for c in moving if c not in fresh]
    for campaign_id in due:
        with read_session(engine) as session:
            report = campaign_report(
                session=session,
                campaign_id=campaign_id,
                price_per_segment=price_per_segment,
                currency=currency,
            )
        _keep(engine, campaign_id, report, now)
    return len(due)
