"""Quiet hours: the delivery window "HH:MM-HH:MM" on the recipient's wall clocks.

`next_allowed` answers the worker's question "may this message go now, and if not, when?".
A window whose start is after its end spans midnight ("22:00-06:00"). A number that maps
to several zones gets the most restrictive answer: an instant inside the window in every
one of them. Wall clocks come from `zoneinfo`, so a daylight-saving jump is handled
exactly: a window opening at a wall time the jump skips opens at the jump.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from richsms.errors import InvalidInput

_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$")
# Far enough to cross any window and a daylight-saving change in a zone; if the zones of
# one number share no instant of their windows in this long, they never will.
_HORIZON = timedelta(days=3)
_STEP = timedelta(hours=6)  # no zone changes its offset twice within this


class NoCommonWindow(InvalidInput):
    """The zones of a number never have their windows open at the same time."""

    code = "no_common_window"


@lru_cache(maxsize=256)
def parse_window(window: str) -> tuple[time, time]:
    """(start, end) of "HH:MM-HH:MM"; an end of "24:00" means midnight, and a window that
    ends where it starts ("00:00-24:00") is the whole day."""
    match = _WINDOW.match(window)
    if match is None or (match[3] == "24" and match[4] != "00"):
        raise InvalidInput(f"a window is HH:MM-HH:MM (24 h), got {window!r}")
    start = time(int(match[1]), int(match[2]))
    end = time(int(match[3]) % 24, int(match[4]))
    return start, end


def inside(wall: time, start: time, end: time) -> bool:
    """Whether a wall-clock time is inside [start, end), which may span midnight."""
    if start < end:
        return start <= wall < end
    return wall >= start or wall < end


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone {name!r}") from None


def next_allowed(moment_utc: datetime, zones: Sequence[str], window: str) -> datetime:
    """`moment_utc` if it is inside `window` in every zone, else the earliest later instant
    that is. An empty `window` allows any time; no zones means UTC.

    Raises InvalidInput for a malformed window or an unknown zone, and NoCommonWindow when
    the zones never share an instant inside the window.
    """
    if moment_utc.tzinfo is None:
        raise ValueError("next_allowed needs an aware datetime")
    if not window:
        return moment_utc
    start, end = parse_window(window)
    tzs = [_zone(name) for name in zones] or [_zone("UTC")]
    moment = moment_utc.astimezone(UTC)
    if all(inside(moment.astimezone(tz).time(), start, end) for tz in tzs):
        return moment_utc
    limit = moment + 2 * _HORIZON
    candidate = moment
    while candidate <= limit:
        opens = [_next_open(candidate, tz, start, end) for tz in tzs]
        if any(o is None for o in opens):
            break
        latest = max(o for o in opens if o is not None)
        if latest == candidate:
            return candidate
        candidate = latest
    raise NoCommonWindow(
        f"the window {window} is never open at the same time in {', '.join(zones)}"
    )


def _next_open(moment: datetime, tz: ZoneInfo, start: time, end: time) -> datetime | None:
    """The earliest instant at or after `moment` inside the window in one zone.

    Walks the stretches of constant UTC offset: inside one, wall time is UTC plus the
    offset, and the answer is either its first instant or the first wall-clock start.
    """
    a = moment
    horizon = moment + _HORIZON
    while a < horizon:
        offset = _offset(a, tz)
        b = _offset_change(a, tz, offset, horizon)
        wall = (a + offset).replace(tzinfo=None)
        if inside(wall.time(), start, end):
            return a
        opening = datetime.combine(wall.date(), start)
        if opening <= wall:
            opening += timedelta(days=1)
        at = (opening - offset).replace(tzinfo=UTC)
        if at < b:
            return at
        a = b
    return None


def _offset(moment: datetime, tz: ZoneInfo) -> timedelta:
    offset = moment.astimezone(tz).utcoffset()
    assert offset is not None
    return offset


def _offset_change(a: datetime, tz: ZoneInfo, offset: timedelta, limit: datetime) -> datetime:
    """The first instant after `a` (and before `limit`) whose offset differs, else `limit`."""
    low = a
    while low < limit:
        high = min(low + _STEP, limit)
        if _offset(high, tz) != offset:
            # Offsets change on whole seconds: bisect whole seconds since the epoch.
            lo, hi = int(low.timestamp()), int(high.timestamp())
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset(datetime.fromtimestamp(mid, UTC), tz) == offset:
                    lo = mid
                else:
                    hi = mid
            return max(datetime.fromtimestamp(hi, UTC), a + timedelta(microseconds=1))
        low = high
    return limit
