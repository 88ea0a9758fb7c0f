"""A contacts CSV's columns: which header means what, and one row read as a contact.

Header names are matched without case or accents against French and English synonyms;
every other column is kept as a custom field (at most MAX_CUSTOM_FIELDS of them). Each
row is checked on its own and refused with InvalidInput naming the reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Final

from richsms.errors import InvalidInput
from sender.audience.contact_store import ImportedContact
from sender.audience.contacts import (
    IMPLIED,
    check_email,
    check_length,
    fold,
    normalize_consent_type,
    normalize_language,
)
from sender.audience.phones import check_timezones, parse_phone

# Standard columns and the header names that mean them, compared once folded (no case,
# no accents, letters and digits only). For the phone, the order is a preference: a file
# with both "telephone" and "mobile" columns is texted on the mobile.
SYNONYMS: Final[dict[str, tuple[str, ...]]] = {
    "phone": (
        "msisdn", "mobile", "mobilephone", "telephonemobile", "portable", "cellphone", "gsm",
        "phone", "phonenumber", "telephone", "numerodetelephone", "numero", "tel",
    ),
    "first_name": ("firstname", "prenom", "givenname"),
    "last_name": ("lastname", "nom", "nomdefamille", "surname", "familyname"),
    "email": ("email", "emailaddress", "courriel", "mail", "adressemail", "adresseemail"),
    "language": ("language", "langue", "lang"),
    "timezone": ("timezone", "fuseau", "fuseauhoraire", "tz"),
    "consent_source": ("consentsource", "source", "sourceduconsentement", "sourceconsentement"),
    "consent_date": (
        "consentdate", "consentat", "dateconsentement", "datedeconsentement",
        "dateduconsentement",
    ),
    "consent_type": (
        "consenttype", "consent", "typeconsentement", "typedeconsentement",
        "typeduconsentement", "consentement",
    ),
}  # fmt: skip
# Names templates reach as contact.<name>: a custom column must not hide one of them.
STANDARD_MERGE_FIELDS: Final = ("first_name", "last_name", "phone", "email", "language", "timezone")
# Custom columns a file may bring, and the longest name one may have: every custom field
# is carried by every contact and read by every send, so they are bounded.
MAX_CUSTOM_FIELDS: Final = 200
MAX_CUSTOM_FIELD_NAME: Final = 64
# Consent dated later than this past the import is a mistake in the file.
_CONSENT_CLOCK_SKEW: Final = timedelta(days=1)

_NOT_ALNUM: Final = re.compile(r"[^0-9a-z]+")
_DAY_FIRST: Final = re.compile(
    r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T]+(\d{1,2})[:hH](\d{2})(?::(\d{2}))?)?"
)


class BadNumber(InvalidInput):
    """A phone cell that is not a valid number (kept raw for a suggestion)."""

    def __init__(self, error: InvalidInput, raw: str) -> None:
        super().__init__(error.template, params=error.params or None)
        self.raw = raw


def header_key(name: str) -> str:
    """A header as compared with the synonyms: "Téléphone" -> "telephone"."""
    return _NOT_ALNUM.sub("", fold(name))


def custom_field_name(name: str) -> str:
    """The custom field a column becomes, usable in templates: "Code postal" -> "code_postal"."""
    return _NOT_ALNUM.sub("_", fold(name)).strip("_")


class Columns:
    """Which cell of a row holds what, decided once from the header."""

    def __init__(self, header: Sequence[str]) -> None:
        self.width = len(header)
        self.standard: dict[str, int] = {}
        ranks: dict[str, int] = {}
        for position, name in enumerate(header):
            key = header_key(name)
            for standard, synonyms in SYNONYMS.items():
                if key in synonyms:
                    rank = synonyms.index(key)
                    if standard not in ranks or rank < ranks[standard]:
                        self.standard[standard], ranks[standard] = position, rank
                    break
        if "phone" not in self.standard:
            found = ", ".join(repr(h) for h in header if h.strip()) or "none"
            raise InvalidInput(
                "the file has no phone column: name one phone, mobile, téléphone, "
                "numéro, tel or msisdn (columns found: {found})",
                params={"found": found},
            )
        used = set(self.standard.values())
        if len(header) - len(used) > MAX_CUSTOM_FIELDS:
            raise InvalidInput(
                "the file has {count} custom columns: at most {most} are kept per contact "
                "(remove the ones you do not need)",
                params={"count": len(header) - len(used), "most": MAX_CUSTOM_FIELDS},
            )
        taken = set(STANDARD_MERGE_FIELDS)
        # The next suffix to try per name: repeated names are renamed a_2, a_3... in one
        # pass, not by trying every suffix again for each repetition.
        next_suffix: dict[str, int] = {}
        self.custom: list[tuple[int, str]] = []
        for position, name in enumerate(header):
            if position in used:
                continue
            base = custom_field_name(name) or f"column_{position + 1}"
            if len(base) > MAX_CUSTOM_FIELD_NAME:
                raise InvalidInput(
                    f"column {position + 1} has a name longer than {MAX_CUSTOM_FIELD_NAME} "
                    f"characters: {base[:MAX_CUSTOM_FIELD_NAME]}..."
                )
            unique, suffix = base, next_suffix.get(base, 2)
            while unique in taken:
                unique, suffix = f"{base}_{suffix}", suffix + 1
            next_suffix[base] = suffix
            taken.add(unique)
            self.custom.append((position, unique))

    def read(
        self, cells: list[str], *, region: str, now: datetime, source: str
    ) -> tuple[ImportedContact, int]:
        """One row as a contact, and its number's country code; InvalidInput with the
        reason when it cannot be imported."""
        if len(cells) > self.width and any(c.strip() for c in cells[self.width :]):
            raise InvalidInput(
                "{cells} cells but the header has {width} "
                "(a separator inside a value that is not quoted?)",
                params={"cells": len(cells), "width": self.width},
            )
        if len(cells) < self.width:
            cells = cells + [""] * (self.width - len(cells))

        def cell(name: str) -> str:
            position = self.standard.get(name)
            return "" if position is None else cells[position].strip()

        raw = cell("phone")
        try:
            phone = parse_phone(raw, region=region)
        except InvalidInput as exc:
            raise BadNumber(exc, raw) from None
        language = cell("language")
        zones = cell("timezone")
        contact = ImportedContact(
            phone=phone.e164,
            first_name=check_length("first_name", cell("first_name")),
            last_name=check_length("last_name", cell("last_name")),
            email=check_email(cell("email")),
            language=normalize_language(language) if language else "",
            timezones=" ".join(check_timezones(zones)) if zones else "",
            default_language=phone.language,
            default_timezones=" ".join(phone.timezones),
            fields={name: cells[i].strip() for i, name in self.custom if cells[i].strip()},
        )
        kind, origin, date = cell("consent_type"), cell("consent_source"), cell("consent_date")
        if kind or origin or date:
            contact.consents.append(
                (
                    # Without a type, claim only the weaker consent: a campaign that needs
                    # express consent must not count on a guess.
                    normalize_consent_type(kind) if kind else IMPLIED,
                    check_length("consent_source", origin or source),
                    # Undated: "now" for a new consent, but the same consent imported
                    # again keeps its first date (see sender.audience.contact_store).
                    parse_consent_date(date, now) if date else None,
                )
            )
        return contact, phone.number.country_code or 0


def parse_consent_date(value: str, now: datetime) -> datetime:
    """ISO 8601 ("2025-03-01", "2025-03-01T09:30:00+01:00") or day first, as in France
    ("01/03/2025", "01/03/2025 09:30"). A time without a zone is read as UTC."""
    moment: datetime | None = None
    match = _DAY_FIRST.fullmatch(value)
    try:
        if match is not None:
            day, month, year, hour, minute, second = match.groups()
            moment = datetime(
                int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
            )
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None:
        raise InvalidInput(
            "not a date: {value} (use YYYY-MM-DD or DD/MM/YYYY)", params={"value": value}
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment > now + _CONSENT_CLOCK_SKEW:
        raise InvalidInput("the consent date is in the future: {value}", params={"value": value})
    return moment.astimezone(UTC)
