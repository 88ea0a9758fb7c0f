from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from richsms.errors import InvalidInput
from sender.campaigns.automations import is_anniversary, month_day
from sender.campaigns.models import Campaign
from sender.campaigns.scheduling import (
    earliest_local_instant,
    local_instant,
    parse_hhmm,
    planning_time,
)


@pytest.mark.parametrize(
    ("day", "zone", "utc_hour"),
    [
        (date(2026, 3, 28), "Europe/Paris", 9),  # CET, UTC+1
        (date(2026, 3, 29), "Europe/Paris", 8),  # CEST from 02:00 that morning
        (date(2026, 10, 24), "Europe/Paris", 8),
        (date(2026, 10, 25), "Europe/Paris", 9),
        (date(2026, 3, 7), "America/New_York", 15),  # EST
        (date(2026, 3, 8), "America/New_York", 14),  # EDT
    ],
)
def test_ten_oclock_local_on_both_sides_of_daylight_saving(
    day: date, zone: str, utc_hour: int
) -> None:
    assert local_instant(day, time(10, 0), zone) == datetime(
        day.year, day.month, day.day, utc_hour, tzinfo=UTC
    )


def test_a_skipped_wall_time_is_taken_just_after_the_jump() -> None:
    # 02:30 does not exist in Paris on 29 March 2026: 03:30 CEST is 01:30 UTC.
    assert local_instant(date(2026, 3, 29), time(2, 30), "Europe/Paris") == datetime(
        2026, 3, 29, 1, 30, tzinfo=UTC
    )


def test_a_repeated_wall_time_is_taken_at_its_first_occurrence() -> None:
    assert local_instant(date(2026, 10, 25), time(2, 30), "Europe/Paris") == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )


def test_the_earliest_local_instant_is_in_kiribati() -> None:
    first = earliest_local_instant(date(2026, 12, 1), time(9, 0))
    assert first == local_instant(date(2026, 12, 1), time(9, 0), "Pacific/Kiritimati")


def test_bad_times_are_refused() -> None:
    for bad in ("24:00", "9:00", "09:60", "noon"):
        with pytest.raises(InvalidInput, match="HH:MM"):
            parse_hhmm(bad, "local_time")


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("1990-04-17", (4, 17)),
        ("17/04/1990", (4, 17)),
        ("17.04", (4, 17)),
        ("04-17", (4, 17)),
        ("", None),
        ("someday", None),
        ("1990-13-01", None),
    ],
)
def test_birthdays_are_read_in_the_usual_formats(
    written: str, expected: tuple[int, int] | None
) -> None:
    assert month_day(written) == expected


def test_leap_day_birthdays_are_celebrated_on_28_february_in_common_years() -> None:
    assert is_anniversary((2, 29), date(2027, 2, 28))
    assert not is_anniversary((2, 29), date(2028, 2, 28))
    assert is_anniversary((2, 29), date(2028, 2, 29))


def _campaign(**fields: object) -> Campaign:
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    values: dict[str, object] = {
        "name": "x",
        "type": "informational",
        "template": "Hello",
        "created_at": now,
        "updated_at": now,
        **fields,
    }
    return Campaign(**values)


def test_a_campaign_is_planned_five_minutes_before_it_starts_when_its_audience_is_fresh() -> None:
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    send_at = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert planning_time(_campaign(schedule="at", send_at=send_at), now) == send_at - timedelta(
        minutes=5
    )
    # A local schedule starts where that local time comes first (Kiribati, UTC+14).
    local = _campaign(schedule="local", local_date="2026-12-01", local_time="09:00")
    assert planning_time(local, now) == datetime(2026, 11, 30, 18, 55, tzinfo=UTC)


@pytest.mark.parametrize(
    "fields",
    [
        {"schedule": "now"},
        {"schedule": "at", "send_at": datetime(2026, 11, 24, 12, 3, tzinfo=UTC)},  # too close
        {"schedule": "at", "send_at": datetime(2026, 12, 1, tzinfo=UTC), "refresh_audience": False},
    ],
)
def test_otherwise_it_is_planned_at_once(fields: dict[str, object]) -> None:
    assert planning_time(_campaign(**fields), datetime(2026, 11, 24, 12, 0, tzinfo=UTC)) is None
