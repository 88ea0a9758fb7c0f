from __future__ import annotations

import pytest

from richsms.errors import InvalidInput
from sender.audience.phones import (
    MAX_TIMEZONES_LENGTH,
    QUEBEC_AREA_CODES,
    check_region,
    check_timezones,
    default_language,
    fit_zones,
    normalize_phone,
    parse_international,
    parse_phone,
    suggest_region,
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


def test_a_number_without_country_code_is_never_read_as_another_country() -> None:
    # Once "the spreadsheet dropped the +" made +60 (Malaysia) of a Vancouver number.
    for written in ("6045558762", "447911123456", "5145552420"):
        with pytest.raises(InvalidInput) as caught:
            normalize_phone(written, region="FR")
        assert caught.value.message == f"not a valid number for FR: {written}"
    assert normalize_phone("6045558762", region="CA") == "+16045558762"
    # Its own country's code without the +, and the international prefix, still read.
    assert normalize_phone("33612345678", region="FR") == "+33612345678"
    assert normalize_phone("011 33 6 12 34 56 78", region="US") == "+33612345678"


def test_a_suggestion_comes_only_from_countries_the_file_uses() -> None:
    hint = suggest_region("6045558762", region="FR", country_codes={33, 1})
    assert hint is not None and (hint.e164, hint.region) == ("+16045558762", "CA")
    assert suggest_region("6045558762", region="FR", country_codes={33, 44}) is None
    assert suggest_region("not a number", region="FR", country_codes={1}) is None


def test_numbers_from_networks_are_international_as_given() -> None:
    assert parse_international("+15145552420").e164 == "+15145552420"
    # A lenient reading: a carrier's number of a possible length is still a number.
    assert parse_international("+1 555 555 0100").e164 == "+15555550100"
    for national in ("5145552420", "0612345678", ""):
        with pytest.raises(InvalidInput):
            parse_international(national)


@pytest.mark.parametrize("area", sorted(QUEBEC_AREA_CODES))
def test_quebec_area_codes_get_french(area: str) -> None:
    assert parse_phone(f"+1 {area} 555 0123", region="FR", strict=False).language == "fr"


def test_the_rest_of_north_america_gets_english() -> None:
    for number in ("+16045558762", "+16135550123", "+12125550123"):
        assert parse_phone(number, region="FR", strict=False).language == "en"


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
