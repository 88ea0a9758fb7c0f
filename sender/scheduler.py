"""When a campaign is planned: at once, or just before it sends when its audience is to be
evaluated then (segments against the contacts of that moment)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from richsms.clock import Clock
from richsms.settings import Settings
from sender.models import Campaign
from sender.scheduling import earliest_local_instant, parse_day, parse_hhmm
from shortener.codes import CodeMaker

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


def planning_time(campaign: Campaign, now: datetime) -> datetime | None:
    """When to plan the campaign if not now: just before its start, when its audience is
    to be refreshed then and that moment is still ahead. None means 'plan it now'."""
    start = start_instant(campaign)
    if start is None or not campaign.refresh_audience:
        return None
    planning_at = start - PLANNING_LEAD
    return planning_at if planning_at > now else None


def plan_due_campaigns(
    *, engine: Engine, clock: Clock, settings: Settings, codes: CodeMaker
) -> int:
    """Plan every campaign whose planning is due (scheduled ones whose time came, and
    planning jobs nobody holds); returns how many were planned to the end."""
    from sender.planning_job import run_planning, worker_name

    finished = run_planning(
        engine=engine, clock=clock, settings=settings, codes=codes, worker_id=worker_name()
    )
    return len(finished)
