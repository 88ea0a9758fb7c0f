"""Campaigns that wait for their time: planned just before they send, so that segments are
evaluated against the audience of that moment."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from richsms.clock import Clock
from richsms.errors import Conflict
from richsms.settings import Settings
from sender.campaigns import get_campaign
from sender.models import Campaign
from sender.planner import check_sendable, plan_campaign
from sender.scheduling import earliest_local_instant, parse_day, parse_hhmm
from shortener.codes import CodeMaker

log = logging.getLogger("richsms.scheduler")

# Planning a large campaign takes a while: start it this long before the send time.
PLANNING_LEAD = timedelta(minutes=5)


def start_instant(campaign: Campaign) -> datetime | None:
    """When the first message of the campaign is due, if it is not 'now'."""
    if campaign.schedule == "at":
        return campaign.send_at
    if campaign.schedule == "local" and campaign.local_date and campaign.local_time:
        return earliest_local_instant(
            parse_day(campaign.local_date, "local_date"),
            parse_hhmm(campaign.local_time, "local_time"),
        )
    return None


def schedule_campaign(*, session: Session, clock: Clock, campaign_id: int) -> datetime | None:
    """Mark the campaign scheduled and return when it will be planned; None means 'plan it
    now' (it sends now, its start is close, or its audience need not be refreshed)."""
    campaign = get_campaign(session=session, campaign_id=campaign_id)
    check_sendable(campaign)
    start = start_instant(campaign)
    planning_at = None if start is None else start - PLANNING_LEAD
    if not campaign.refresh_audience or planning_at is None or planning_at <= clock.now():
        return None
    campaign.status = "scheduled"
    campaign.updated_at = clock.now()
    session.add(campaign)
    session.commit()
    return planning_at


def plan_due_campaigns(
    *, engine: Engine, clock: Clock, settings: Settings, codes: CodeMaker
) -> int:
    """Plan every scheduled campaign whose planning time has come; returns how many."""
    with Session(engine) as session:
        waiting = list(
            session.exec(select(Campaign).where(col(Campaign.status) == "scheduled")).all()
        )
    planned = 0
    for campaign in waiting:
        start = start_instant(campaign)
        if start is not None and start - PLANNING_LEAD > clock.now():
            continue
        assert campaign.id is not None
        try:
            report = plan_campaign(
                engine=engine, campaign_id=campaign.id, clock=clock, settings=settings, codes=codes
            )
        except Conflict:
            continue  # another worker took it first
        log.info("planned campaign %s: %s", campaign.id, report.as_dict())
        planned += 1
    return planned
