"""When a campaign is planned: at once, or just before it sends when its audience is to be
evaluated then (segments against the contacts of that moment). The planning job
(sender/campaigns/planning_job.py) takes a scheduled campaign up when its `plan_at` comes."""

from __future__ import annotations

from datetime import datetime, timedelta

from sender.campaigns.models import Campaign
from sender.campaigns.scheduling import earliest_local_instant, parse_day, parse_hhmm

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

