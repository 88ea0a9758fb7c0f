"""Quiet hours on the recipient's wall clocks, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from richsms.errors import InvalidInput
from sender.delivery.windows import NoCommonWindow, inside, next_allowed, parse_window

PARIS = "Europe/Paris"
NEW_YORK = "America/New_York"
DAY = "08:00-21:00"


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def wall(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def test_inside_the_window_is_now() -> None:
    moment = utc(2026, 11, 24, 12, 0, 17)
    assert next_allowed(moment, [PARIS], DAY) is moment


def test_empty_window_is_any_time() -> None:
    moment = utc(2026, 11, 24, 3, 0)
    assert next_allowed(moment, [PARIS], "") is moment


def test_before_the_window_waits_for_it_the_same_day() -> None:
    # 05:30 in Paris (UTC+1 in winter) → 08:00 Paris
    assert next_allowed(utc(2026, 11, 24, 4, 30), [PARIS], DAY) == utc(2026, 11, 24, 7, 0)


def test_after_the_window_waits_for_the_next_morning() -> None:
    # 21:00 Paris exactly is outside: the window is [08:00, 21:00)
    assert next_allowed(utc(2026, 11, 24, 20, 0), [PARIS], DAY) == utc(2026, 11, 25, 7, 0)
    assert next_allowed(utc(2026, 11, 24, 19, 59), [PARIS], DAY) == utc(2026, 11, 24, 19, 59)


def test_no_zone_means_utc() -> None:
    assert next_allowed(utc(2026, 11, 24, 22, 0), [], DAY) == utc(2026, 11, 25, 8, 0)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # Paris goes from UTC+1 to UTC+2 on Sunday 29 March 2026 at 01:00 UTC.
        (utc(2026, 3, 28, 21, 0), utc(2026, 3, 29, 6, 0)),  # Sat 22:00 CET → Sun 08:00 CEST
        (utc(2026, 3, 28, 6, 30), utc(2026, 3, 28, 7, 0)),  # the day before: 08:00 CET
        (utc(2026, 3, 29, 19, 30), utc(2026, 3, 30, 6, 0)),  # Sun 21:30 CEST → Mon 08:00
        # And back from UTC+2 to UTC+1 on Sunday 25 October 2026 at 01:00 UTC.
        (utc(2026, 10, 24, 20, 0), utc(2026, 10, 25, 7, 0)),  # Sat 22:00 CEST → Sun 08:00 CET
        (utc(2026, 10, 24, 5, 0), utc(2026, 10, 24, 6, 0)),  # the day before: 08:00 CEST
    ],
)
def test_paris_on_both_sides_of_daylight_saving(moment: datetime, expected: datetime) -> None:
    assert next_allowed(moment, [PARIS], DAY) == expected
    assert wall(expected, PARIS).time() == time(8, 0)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # New York goes from UTC-5 to UTC-4 on Sunday 8 March 2026 at 07:00 UTC.
        (utc(2026, 3, 8, 3, 0), utc(2026, 3, 8, 12, 0)),  # Sat 22:00 EST → Sun 08:00 EDT
        (utc(2026, 3, 7, 12, 0), utc(2026, 3, 7, 13, 0)),  # Sat 07:00 EST → 08:00 EST
        # And back on Sunday 1 November 2026 at 06:00 UTC.
        (utc(2026, 11, 1, 3, 0), utc(2026, 11, 1, 13, 0)),  # Sat 23:00 EDT → Sun 08:00 EST
        (utc(2026, 10, 31, 11, 0), utc(2026, 10, 31, 12, 0)),  # Sat 07:00 EDT → 08:00 EDT
    ],
)
def test_new_york_on_both_sides_of_daylight_saving(moment: datetime, expected: datetime) -> None:
    assert next_allowed(moment, [NEW_YORK], DAY) == expected
    assert wall(expected, NEW_YORK).time() == time(8, 0)


def test_a_window_opening_in_the_skipped_hour_opens_at_the_jump() -> None:
    # 02:30 never happens in Paris on 29 March 2026: clocks go from 02:00 to 03:00.
    opened = next_allowed(utc(2026, 3, 28, 23, 0), [PARIS], "02:30-05:00")
    assert opened == utc(2026, 3, 29, 1, 0)
    assert wall(opened, PARIS) == datetime(2026, 3, 29, 3, 0)


def test_a_window_opening_in_the_repeated_hour_opens_at_its_first_occurrence() -> None:
    # 02:30 happens twice in Paris on 25 October 2026: first at 00:30 UTC (CEST).
    assert next_allowed(utc(2026, 10, 24, 22, 0), [PARIS], "02:30-05:00") == utc(
        2026, 10, 25, 0, 30
    )
    # Wall clocks rule: after the jump back, 02:10 CET is before 02:30 again, and the
    # window opens a second time at 02:30 CET.
    second = next_allowed(utc(2026, 10, 25, 1, 10), [PARIS], "02:30-05:00")
    assert second == utc(2026, 10, 25, 1, 30)


def test_a_window_ending_in_the_repeated_hour_opens_again_at_the_jump_back() -> None:
    # "01:00-02:30": at 02:45 CEST (00:45 UTC) it is closed; at 01:00 UTC the clocks show
    # 02:00 again (CET) and the window is open until 02:30 CET.
    assert next_allowed(utc(2026, 10, 25, 0, 45), [PARIS], "01:00-02:30") == utc(2026, 10, 25, 1, 0)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (utc(2026, 11, 24, 12, 0), utc(2026, 11, 24, 21, 0)),  # 13:00 Paris → 22:00
        (utc(2026, 11, 24, 22, 0), utc(2026, 11, 24, 22, 0)),  # 23:00: open
        (utc(2026, 11, 25, 3, 0), utc(2026, 11, 25, 3, 0)),  # 04:00 the next day: open
        (utc(2026, 11, 25, 5, 0), utc(2026, 11, 25, 21, 0)),  # 06:00: closed again
        (utc(2026, 3, 29, 4, 30), utc(2026, 3, 29, 20, 0)),  # 06:30 CEST → 22:00 CEST
    ],
)
def test_a_window_spanning_midnight(moment: datetime, expected: datetime) -> None:
    assert next_allowed(moment, [PARIS], "22:00-06:00") == expected


def test_several_zones_get_the_most_restrictive_answer() -> None:
    # 12:00 UTC: 13:00 in Paris (open) but 07:00 in New York (closed until 08:00 EST).
    both = next_allowed(utc(2026, 11, 24, 12, 0), [PARIS, NEW_YORK], DAY)
    assert both == utc(2026, 11, 24, 13, 0)
    # 20:30 UTC: 15:30 in New York (open) but 21:30 in Paris: the next morning in Paris,
    # which is still night in New York: 08:00 in New York.
    late = next_allowed(utc(2026, 11, 24, 20, 30), [PARIS, NEW_YORK], DAY)
    assert late == utc(2026, 11, 25, 13, 0)


def test_zones_that_never_share_the_window_are_an_error() -> None:
    with pytest.raises(NoCommonWindow):
        next_allowed(utc(2026, 11, 24, 12, 0), [PARIS, "Asia/Tokyo"], "08:00-10:00")


@pytest.mark.parametrize("window", ["8:00-21:00", "08:00-25:00", "08:60-21:00", "08:00", "x"])
def test_a_malformed_window_is_refused(window: str) -> None:
    with pytest.raises(InvalidInput):
        next_allowed(utc(2026, 11, 24, 12, 0), [PARIS], window)


def test_an_unknown_zone_is_refused() -> None:
    with pytest.raises(InvalidInput, match="Mars/Olympus"):
        next_allowed(utc(2026, 11, 24, 2, 0), ["Mars/Olympus"], DAY)


def test_window_edges() -> None:
    assert parse_window("21:00-24:00") == (time(21, 0), time(0, 0))
    assert parse_window("00:00-24:00") == (time(0, 0), time(0, 0))  # the whole day
    assert inside(time(3, 0), time(0, 0), time(0, 0))
    assert next_allowed(utc(2026, 11, 24, 2, 0), [PARIS], "00:00-24:00") == utc(2026, 11, 24, 2, 0)


ZONES = ["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
WINDOWS = ["08:00-21:00", "22:00-06:00", "02:30-03:30", "01:00-02:30", "09:15-09:45"]


@settings(max_examples=60, deadline=None)
@given(
    moment=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    zones=st.lists(st.sampled_from(ZONES), min_size=1, max_size=2, unique=True),
    window=st.sampled_from(WINDOWS),
)
def test_the_answer_is_the_first_open_minute(
    moment: datetime, zones: list[str], window: str
) -> None:
    """Against a brute-force walk over every minute: the answer is open in every zone and
    no earlier minute is."""
    start, end = parse_window(window)

    def open_everywhere(at: datetime) -> bool:
        return all(inside(at.astimezone(ZoneInfo(z)).time(), start, end) for z in zones)

    moment = moment.replace(second=0, microsecond=0)
    try:
        answer = next_allowed(moment, zones, window)
    except NoCommonWindow:
        assert not any(open_everywhere(moment + timedelta(minutes=m)) for m in range(0, 2880))
        return
    assert answer >= moment
    assert open_everywhere(answer)
    minutes = int((answer - moment).total_seconds() // 60)
    assert not any(open_everywhere(moment + timedelta(minutes=m)) for m in range(minutes))
