"""Campaign reports kept ready: the chore loop recomputes the report of every campaign
still moving (sending, or messages sent in the last week: clicks, receipts, redemptions
and replies keep coming) and stores it; `GET /api/campaigns/{id}/stats` answers from it
while it is fresh, else computes it there.

Why a stored report and not counters: every figure is an aggregate over the record
(outbox, clicks, coupons, replies), exact after a crash, an erasure or a late receipt,
and nothing is added to the redirect's path. At a million messages the aggregates take
seconds, not the under-a-second a dashboard needs, so they are computed off the request,
and the answer says when (`computed_at`): at most REFRESH_EVERY old for a moving campaign.
Campaigns small enough to count in well under a second (LIVE_UP_TO) are always exact.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Engine, Integer, Text, delete, insert, or_, select
from sqlmodel import Field, Session, SQLModel, col

from richsms.db import read_session, session_scope
from richsms.types import UTCDateTime
from sender.campaigns.models import Campaign
from sender.delivery.models import Message
from sender.results.campaign_stats import campaign_report

# Up to this many planned messages a report is computed on every request (well under a
# second): exact to the moment. Larger campaigns are answered from their kept report.
LIVE_UP_TO = 100_000
REFRESH_EVERY = timedelta(seconds=60)
FRESH_FOR = timedelta(seconds=120)  # an answer older than this is computed again
MOVING_FOR = timedelta(days=7)


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
    live_up_to: int = LIVE_UP_TO,
) -> dict[str, Any]:
    """A large campaign's kept report when fresh, else one computed now (read-only: not
    stored). Campaigns up to `live_up_to` planned messages are always computed now."""
    campaign = session.get(Campaign, campaign_id)
    large = campaign is not None and (campaign.planned_count or 0) > live_up_to
    stored = session.get(CampaignReport, campaign_id) if large else None
    if stored is not None and now - stored.computed_at <= FRESH_FOR:
        report: dict[str, Any] = json.loads(stored.body)
        return _stamp(report, stored.computed_at)
    report = campaign_report(
        session=session,
        campaign_id=campaign_id,
        price_per_segment=price_per_segment,
        currency=currency,
    )
    return _stamp(report, now)


def moving_campaigns(
    *, session: Session, now: datetime, live_up_to: int = LIVE_UP_TO
) -> list[int]:
    """Large campaigns whose figures may still change: sending, or a message sent
    lately."""
    recent = (
        select(col(Message.campaign_id))
        .where(col(Message.sent_at) >= now - MOVING_FOR, col(Message.campaign_id).is_not(None))
        .distinct()
    )
    rows = session.execute(
        select(col(Campaign.id)).where(
            col(Campaign.planned_count) > live_up_to,
            or_(
                col(Campaign.status).in_(("planning", "testing", "sending")),
                col(Campaign.id).in_(recent),
            ),
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
        body = json.dumps(report, default=str, separators=(",", ":"))
        with session_scope(engine) as session:
            session.execute(
                delete(CampaignReport).where(col(CampaignReport.campaign_id) == campaign_id)
            )
            session.execute(
                insert(CampaignReport).values(campaign_id=campaign_id, computed_at=now, body=body)
            )
    return len(due)
