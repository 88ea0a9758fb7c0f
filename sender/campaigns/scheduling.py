"""When a campaign's message is due: now, at one instant, or at a local time in each
recipient's own zone; and when the campaign is planned: at once, or just before it sends
when its audience is to be evaluated then (segments against the contacts of that moment).
The planning job (`planning_job`) takes a scheduled campaign up when its `plan_at` comes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from richsms.errors import InvalidInput
from sender.campaigns.models import Campaign

SCHEDULES = ("now", "at", "local")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(value: str, what: str) -> time:
    match = _HHMM.match(value)
    if match is None:
        raise InvalidInput(f"{what} must be a time HH:MM (24 h), got {value!r}")
    return time(int(match[1]), int(match[2]))


def parse_day(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what} must be a date YYYY-MM-DD, got {value!r}") from None


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone {name!r}") from None


def local_instant(day: date, at: time, zone_name: str) -> datetime:
    """`day` at `at` on the wall clocks of `zone_name`, as a UTC instant.

    A wall time skipped by a daylight-saving jump is taken after the jump; a repeated one
    at its first occurrence, so that nobody gets a message an hour late.
    """
    tz = zone(zone_name)
    naive = datetime.combine(day, at)
    moment = naive.replace(tzinfo=tz, fold=0)
    # A skipped time does not round-trip; the round trip lands just after the jump.
    back = moment.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if back != naive:
        moment = back.replace(tzinfo=tz, fold=0)
    return moment.astimezone(UTC)


def first_zone(timezones: str, fallback: str = "UTC") -> str:
    names = timezones.split()
    return names[0] if names else fallback


def earliest_local_instant(day: date, at: time) -> datetime:
    """The first instant at which `day` `at` happens anywhere on Earth (UTC+14)."""
    return datetime.combine(day, at, tzinfo=UTC) - timedelta(hours=14)


def local_moment(campaign: Campaign) -> tuple[date, time] | None:
    """The day and wall time of a campaign sent at each recipient's local time."""
    if campaign.schedule != "local" or not campaign.local_date or not campaign.local_time:
        return None
    return parse_day(campaign.local_date, "local_date"), parse_hhmm(
        campaign.local_time, "local_time"
    )


def due_at(
    *,
    schedule: str,
    send_at: datetime | None,
    local: tuple[date, time] | None,
    timezones: str,
    now: datetime,
) -> datetime:
    """When a recipient's message is due (before quiet hours): at their local time, at the
    campaign's instant, or now; what planning writes and a send's summary foresees."""
    if local is not None:
        return local_instant(local[0], local[1], first_zone(timezones))
    if schedule == "at" and send_at is not None:
        return max(send_at, now)
    return now


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
