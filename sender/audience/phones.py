"""Phone numbers: parsed with `phonenumbers`, stored as E.164, with the language and time
zones a number implies when the contact did not say."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Final
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberFormat, PhoneNumberType
from phonenumbers import timezone as number_zones

from richsms.errors import InvalidInput

# The column holding a contact's zones (Contact.timezones) is 500 characters wide.
MAX_TIMEZONES_LENGTH: Final = 500
UNKNOWN_ZONE: Final = "Etc/Unknown"
# Countries where French is the language to address a contact in when nothing says
# otherwise: France with its overseas departments and territories, Belgium, Luxembourg
# and Monaco. Everyone else gets English.
FRENCH_REGIONS: Final = frozenset(
    {
        "FR", "BE", "LU", "MC",
        "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF", "NC", "PF", "WF",
    }
)  # fmt: skip
# North American area codes of Québec: a +1 number from one of them gets French when
# nothing says otherwise (Canada is bilingual; the rest of it gets English).
QUEBEC_AREA_CODES: Final = frozenset(
    {"418", "438", "450", "514", "579", "581", "819", "873", "367", "354", "468", "263"}
)


@dataclass(frozen=True, slots=True)
class ParsedPhone:
    e164: str
    region: str | None  # ISO 3166 code of the number's country, when it has one
    kind: int = field(repr=False, compare=False)  # phonenumbers.PhoneNumberType
    number: PhoneNumber = field(repr=False, compare=False)

    @property
    def language(self) -> str:
        return language_for(self.number, self.region)

    @property
    def timezones(self) -> tuple[str, ...]:
        return _zones_of(self.number, self.kind)


def parse_phone(raw: str, *, region: str, strict: bool = True) -> ParsedPhone:
    """`raw` as written by a person ("06 12 34 56 78", "+33612345678", "0033 6...") in
    `region` unless it carries a country code (a `+` or the region's international
    prefix). `strict` requires a number valid for its country; otherwise a number of a
    possible length is enough (for what carriers hand us).

    A number without a country code is read in `region` only: "6045558762" in FR is not
    a valid French number, and is refused rather than guessed as +60 (Malaysia).

    Raises InvalidInput with a reason a marketer can act on.
    """
    text = raw.strip()
    if not text:
        raise InvalidInput("no phone number")
    parsed = _accept(_parse(text, region), strict)
    if parsed is None:
        raise InvalidInput(
            "not a valid number for {region}: {number}", params={"region": region, "number": text}
        )
    return parsed


def parse_international(raw: str, *, strict: bool = False) -> ParsedPhone:
    """A number a network handed us, already international ("+15145552420"): taken as
    it is, never read in a region. InvalidInput if it has no country code."""
    text = raw.strip()
    if not text.startswith("+"):
        raise InvalidInput(
            "not an international number (+ and a country code): {number}",
            params={"number": text},
        )
    parsed = _accept(_parse(text, None), strict)
    if parsed is None:
        raise InvalidInput(
            "not a valid international number: {number}", params={"number": text}
        )
    return parsed


def suggest_region(raw: str, *, region: str, country_codes: Iterable[int]) -> ParsedPhone | None:
    """The reading of national number `raw` (not valid in `region`) that is valid in a
    country among `country_codes` (those a file also uses), or None: a hint for the
    person fixing the file, never applied silently."""
    text = raw.strip()
    for code in sorted(set(country_codes)):
        other = phonenumbers.region_code_for_country_code(code)
        if other in (region, phonenumbers.UNKNOWN_REGION):
            continue
        parsed = _accept(_parse(text, other), True)
        if parsed is not None and parsed.number.country_code == code:
            return parsed
    return None


def normalize_phone(raw: str, *, region: str, strict: bool = True) -> str:
    """The E.164 form of `raw` (see `parse_phone`)."""
    return parse_phone(raw, region=region, strict=strict).e164


def _parse(text: str, region: str | None) -> PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def _accept(number: PhoneNumber | None, strict: bool) -> ParsedPhone | None:
    if number is None:
        return None
    # A number is valid exactly when its type is known: asking for the type once serves
    # both the check and the time zones (it is the costly part of an import).
    kind = phonenumbers.number_type(number)
    if strict and kind == PhoneNumberType.UNKNOWN:
        return None
    if not strict and not phonenumbers.is_possible_number(number):
        return None
    return ParsedPhone(
        e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
        region=phonenumbers.region_code_for_number(number),
        kind=kind,
        number=number,
    )


def check_region(region: str) -> str:
    """An ISO 3166 region code phonenumbers knows, upper-cased ("fr" -> "FR")."""
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput(f"unknown region {region!r}: use a country code such as FR or BE")
    return code


def default_language(region: str | None) -> str:
    return "fr" if region in FRENCH_REGIONS else "en"


def language_for(number: PhoneNumber, region: str | None) -> str:
    """The language a number implies: French in French-speaking countries and for the
    Québec area codes of Canada, English elsewhere."""
    if number.country_code == 1 and str(number.national_number)[:3] in QUEBEC_AREA_CODES:
        return "fr"
    return default_language(region)


def timezones_for(e164: str) -> tuple[str, ...]:
    """The IANA zones a number may be in, from phonenumbers' prefix tables; "Etc/Unknown"
    (no idea) is left out, so an unknown zone is an empty tuple."""
    number = phonenumbers.parse(e164)
    return _zones_of(number, phonenumbers.number_type(number))


def _zones_of(number: PhoneNumber, kind: int) -> tuple[str, ...]:
    # Same answer as phonenumbers' time_zones_for_number, without computing the number's
    # type a second time (the costly part of an import): a fixed line (or a mobile where
    # mobiles are regional) is looked up by prefix; any other number has its country's
    # zones, which are cached per country code (a few hundred at most).
    if kind == PhoneNumberType.UNKNOWN:
        return ()
    country = number.country_code or 0
    if phonenumbers.is_number_type_geographical(kind, country):
        found = number_zones.time_zones_for_geographical_number(number)
        return fit_zones(tuple(z for z in found if z != UNKNOWN_ZONE))
    zones = _country_zones.get(country)
    if zones is None:
        found = number_zones.time_zones_for_number(number)
        zones = _country_zones[country] = fit_zones(tuple(z for z in found if z != UNKNOWN_ZONE))
    return zones


_country_zones: dict[int, tuple[str, ...]] = {}


def fit_zones(zones: tuple[str, ...]) -> tuple[str, ...]:
    """`zones`, or when they do not fit the column, the ones that set the delivery window.

    Quiet hours hold in every zone of a contact, so only the zones furthest west and
    furthest east matter (in winter and in summer); a toll-free North American number
    maps to some forty zones that would not fit.
    """
    if len(" ".join(zones)) <= MAX_TIMEZONES_LENGTH:
        return zones
    keep: set[str] = set()
    for moment in (datetime(2025, 1, 15, tzinfo=UTC), datetime(2025, 7, 15, tzinfo=UTC)):
        offsets = {zone: ZoneInfo(zone).utcoffset(moment) for zone in zones}
        keep.add(min(zones, key=lambda z: (offsets[z], z)))
        keep.add(max(zones, key=lambda z: (offsets[z], z)))
    return tuple(zone for zone in zones if zone in keep)


@cache
def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def check_timezones(value: str) -> tuple[str, ...]:
    """Zones as a person wrote them ("europe/paris", "Europe/Paris America/Montreal"),
    in their canonical IANA spelling. Raises InvalidInput naming the unknown zone."""
    names = _zone_names()
    zones: list[str] = []
    for part in value.replace(",", " ").split():
        canonical = names.get(part.lower())
        if canonical is None or canonical == UNKNOWN_ZONE:
            raise InvalidInput(f"unknown time zone: {part}")
        if canonical not in zones:
            zones.append(canonical)
    if len(" ".join(zones)) > MAX_TIMEZONES_LENGTH:
        raise InvalidInput("too many time zones")
    return tuple(zones)
