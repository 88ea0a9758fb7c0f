"""A recipient's language and country: theirs, else their number's."""

from __future__ import annotations

import pytest

from sender.audience.recipient_locale import recipient_country, recipient_language


@pytest.mark.parametrize(
    ("phone", "country", "language"),
    [
        ("+15145550100", "CA", "fr"),  # Montréal
        ("+14185550100", "CA", "fr"),  # Québec City
        ("+14165550100", "CA", "en"),  # Toronto
        ("+16045550100", "CA", "en"),  # Vancouver
        ("+12125550100", "US", "en"),  # New York
        ("+33612345678", "FR", "fr"),
        ("+32470123456", "BE", "fr"),
        ("+590690001234", "GP", "fr"),
        ("+447400123456", "GB", "en"),
        ("+447911123456", "GG", "en"),  # Guernsey shares +44: the whole number tells
        ("+4915112345678", "DE", "en"),
        ("+262692123456", "RE", "fr"),  # Réunion and Mayotte share +262
        ("+262269612345", "YT", "fr"),
    ],
)
def test_without_a_language_the_number_says_it(phone: str, country: str, language: str) -> None:
    assert recipient_country(phone) == country
    assert recipient_language(None, phone, "FR") == language
    assert recipient_language("", phone, "CA") == language


def test_a_contacts_own_language_comes_first() -> None:
    assert recipient_language("en", "+15145550100", "FR") == "en"
    assert recipient_language("fr", "+14165550100", "CA") == "fr"


def test_a_number_of_no_country_gets_the_default_regions_language() -> None:
    assert recipient_country("0612345678") is None
    assert recipient_language(None, "0612345678", "FR") == "fr"
    assert recipient_language(None, "0612345678", "GB") == "en"
