"""Where a recipient is: the country of their number and the language to address them
in. The one rule planning, the send summary, the analysis and the replies to inbound
messages all ask.

A contact's language is their own; without one it is read from their number as an import
reads it (`phones.language_for`): the Québec area codes French, other North American
numbers English, France (and the other French-speaking countries of
`phones.FRENCH_REGIONS`) French, any other country English; a number of no country we
can tell, the language of the default region. A number's country is read from its country code (and,
for North America, its area code), cached per prefix: planning asks for each recipient.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

import phonenumbers

from sender.audience.phones import QUEBEC_AREA_CODES, default_language

LANGUAGES: Final = ("fr", "en")


def recipient_language(language: str | None, phone: str, default_region: str) -> str:
    """The language a recipient gets their messages in (see the module docstring)."""
    if language:
        return language
    if phone.startswith("+1"):
        return "fr" if phone[2:5] in QUEBEC_AREA_CODES else "en"
    return default_language(recipient_country(phone) or default_region)


def recipient_country(phone: str) -> str | None:
    """The ISO 3166 code of an E.164 number's country ("+15145550100" → "CA"), None when
    it names none."""
    if not phone.startswith("+"):
        return None
    # North America shares +1: the area code tells the country. Elsewhere the country
    # code alone does, but for the few shared codes (+7, +44, +262...) the whole number.
    key = phone[:5] if phone.startswith("+1") else phone[:4]
    return _country_of_prefix(key, phone)


def _country_of_prefix(key: str, phone: str) -> str | None:
    if key.startswith("+1"):
        return _nanp_country(key)
    found = _single_country(key)
    if found is not None:
        return found
    # A code several countries share (+44: GB, GG, IM, JE; +262: RE, YT...): the first
    # digits of the national number tell them apart (four or fewer in phonenumbers'
    # tables), so the answer is kept per prefix of the country code and five digits.
    digits = len(_code_of(key))
    return _shared_country(phone[: 1 + digits + 5]) if digits else None


@lru_cache(maxsize=65536)
def _shared_country(prefix: str) -> str | None:
    # a valid number of that prefix, whatever its length
    fillers = ("0000", "00000", "000", "0000000", "000000", "12345", "1234")
    return _country_completing(prefix, fillers)


def _country_completing(prefix: str, fillers: tuple[str, ...]) -> str | None:
    """The country of the first valid number `prefix` + a filler makes (None: none)."""
    for filler in fillers:
        try:
            number = phonenumbers.parse(prefix + filler)
        except phonenumbers.NumberParseException:
            continue
        region = phonenumbers.region_code_for_number(number)
        if region and region != phonenumbers.UNKNOWN_REGION:
            return str(region)
    return None


@lru_cache(maxsize=4096)
def _code_of(key: str) -> str:
    """The country code an E.164 number starting with `key` has ("" if none)."""
    digits = key[1:]
    for length in (1, 2, 3):
        if int(digits[:length] or 0) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return digits[:length]
    return ""


@lru_cache(maxsize=1024)
def _nanp_country(key: str) -> str | None:
    """The country of a North American area code ("+1514" → "CA")."""
    return _country_completing(key, ("5550100", "2345678", "2000000"))


@lru_cache(maxsize=4096)
def _single_country(key: str) -> str | None:
    """The one country a number starting with `key` (the + and up to 3 digits) is in,
    when its country code is only one country's."""
    digits = key[1:]
    for length in (1, 2, 3):
        code = digits[:length]
        if not code.isdigit():
            return None
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(code))
        if regions:
            if len(regions) == 1 and regions[0] != phonenumbers.UNKNOWN_REGION:
                return str(regions[0])
            return None
    return None
