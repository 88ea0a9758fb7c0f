from __future__ import annotations

import pytest

from richsms.errors import InvalidInput
from sender.phones import (
    MAX_TIMEZONES_LENGTH,
    check_region,
    check_timezones,
    default_language,
    fit_zones,
    normalize_phone,
    parse_phone,
    timezones_for,
)


@pytest.mark.parametrize(
    "written",
    [
        "06 12 34 56 78",
        "0612345678",
        "06.12.34.56.78",
        "(06) 12-34-56-78",
        "+33 6 12 34 56 78",
        "+33612345678",
        "0033 6 12 34 56 78",
        "33612345678",
        "612345678",
        "  +33 (0)6 12 34 56 78 ",
    ],
)
def test_french_numbers_in_every_usual_form_become_e164(written: str) -> None:
    assert normalize_phone(written, region="FR") == "+33612345678"


def test_the_region_reads_national_numbers() -> None:
    assert normalize_phone("0470 12 34 56", region="BE") == "+32470123456"
    # A number with its country code ignores the region.
    assert normalize_phone("+32 470 12 34 56", region="FR") == "+32470123456"


def test_an_international_number_that_lost_its_plus() -> None:
    assert normalize_phone("447911123456", region="FR") == "+447911123456"


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("12345", "not a valid number for FR: 12345"),
        ("n/a", "not a valid number for FR: n/a"),
        ("+33 6 12", "not a valid number for FR: +33 6 12"),
        ("   ", "no phone number"),
    ],
)
def test_bad_numbers_say_why(written: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_phone(written, region="FR")
    assert caught.value.message == reason


def test_lenient_parsing_accepts_possible_numbers() -> None:
    # No area code starts with 5: never valid, but of a possible length.
    with pytest.raises(InvalidInput):
        normalize_phone("+1 555 555 0100", region="FR")
    assert normalize_phone("+1 555 555 0100", region="FR", strict=False) == "+15555550100"


def test_language_from_the_country() -> None:
    assert parse_phone("0612345678", region="FR").language == "fr"
    assert parse_phone("+32470123456", region="FR").language == "fr"
    assert parse_phone("+352621123456", region="FR").language == "fr"
    assert parse_phone("+447911123456", region="FR").language == "en"
    assert default_language(None) == "en"


def test_time_zones_from_the_number() -> None:
    assert parse_phone("0612345678", region="FR").timezones == ("Europe/Paris",)
    assert timezones_for("+16135550123") == ("America/Toronto",)


def test_a_number_in_several_zones_keeps_them_all() -> None:
    zones = parse_phone("+7 912 345 67 89", region="FR").timezones
    assert len(zones) > 10
    assert {"Europe/Moscow", "Asia/Vladivostok", "Asia/Yekaterinburg"} <= set(zones)
    assert timezones_for("+79123456789") == zones


def test_an_unknown_zone_is_dropped() -> None:
    # Not a valid number: phonenumbers answers "Etc/Unknown", which is no zone at all.
    assert parse_phone("+1 555 555 0100", region="FR", strict=False).timezones == ()


def test_too_many_zones_keep_those_that_bound_the_delivery_window() -> None:
    zones = parse_phone("+1 800 555 0199", region="FR").timezones
    assert len(" ".join(zones)) <= MAX_TIMEZONES_LENGTH
    # Westmost and eastmost of the North American plan's forty-odd zones.
    assert "Pacific/Pago_Pago" in zones and "Pacific/Saipan" in zones
    few = ("Europe/Paris", "America/Toronto")
    assert fit_zones(few) == few


def test_given_time_zones_are_checked_and_spelled_canonically() -> None:
    assert check_timezones("europe/paris") == ("Europe/Paris",)
    assert check_timezones("Europe/Paris, America/Montreal Europe/Paris") == (
        "Europe/Paris",
        "America/Montreal",
    )
    with pytest.raises(InvalidInput, match="unknown time zone: Europe/Pariss"):
        check_timezones("Europe/Pariss")
    with pytest.raises(InvalidInput, match="Etc/Unknown"):
        check_timezones("Etc/Unknown")


def test_regions() -> None:
    assert check_region(" be ") == "BE"
    with pytest.raises(InvalidInput, match="unknown region 'XX'"):
        check_region("XX")
