"""Importing contacts from a CSV file, as marketers export them from anywhere.

The file may be UTF-8 (with or without a BOM), UTF-16 with a BOM, or Windows-1252/Latin-1;
separated by `,` or `;` (sniffed from the header line). Header names are matched without
case or accents against French and English synonyms; every other column is kept as a
custom field. Each row is checked on its own: a bad row is reported with its number
(the header is row 1, so the first data row is row 2) and a reason, and every good row
imports. Rows repeating a phone number are merged, later non-empty cells winning.

A file that cannot be read as CSV at all (no phone column, an unterminated quote, binary
data, nothing in it, more custom columns than MAX_CUSTOM_FIELDS) is refused as a whole
with InvalidInput.

A number without a country code is read in the import's region only; a row whose number
is not valid there is rejected with a reason naming the region and, when the number is
valid in a country the file's other numbers come from, that reading as a suggestion.

The work is set-based and keeps transactions short: the whole file is parsed in Python
before any write begins (on SQLite, the write lock is never held while parsing), then
written in bulk by `sender.contact_store` in chunks of SAVE_CHUNK contacts, each its own
transaction. An import stopped half-way keeps the chunks it saved; importing the same
file again is harmless (it records nothing new), so the cure is to import it again.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from richsms.clock import Clock
from richsms.errors import Conflict, InvalidInput
from sender.contact_store import ImportedContact, store_contacts
from sender.contacts import (
    IMPLIED,
    check_email,
    check_length,
    fold,
    normalize_consent_type,
    normalize_language,
)
from sender.custom_fields import record_custom_fields
from sender.phones import check_region, check_timezones, parse_phone, suggest_region

# Called as progress(stage, done, total); stages are "read" then "save".
Progress = Callable[[str, int, int], None]

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
DEFAULT_CONSENT_SOURCE: Final = "csv import"
# Custom columns a file may bring, and the longest name one may have: every custom field
# is carried by every contact and read by every send, so they are bounded.
MAX_CUSTOM_FIELDS: Final = 200
MAX_CUSTOM_FIELD_NAME: Final = 64
# Contacts written per transaction: short enough that redirects and sends waiting for
# SQLite's write lock wait well under a second.
SAVE_CHUNK: Final = 1_000
# Consent dated later than this past the import is a mistake in the file.
_CONSENT_CLOCK_SKEW: Final = timedelta(days=1)

_NOT_ALNUM: Final = re.compile(r"[^0-9a-z]+")
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_DAY_FIRST: Final = re.compile(
    r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T]+(\d{1,2})[:hH](\d{2})(?::(\d{2}))?)?"
)


@dataclass(frozen=True, slots=True)
class Rejection:
    row: int  # 1-based, the header being row 1
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class ImportReport:
    """`imported` new contacts, `updated` existing ones, `duplicates` rows merged into an
    earlier row of the same file, and every row `rejected` with its reason."""

    rows: int
    imported: int
    updated: int
    duplicates: int
    rejected: tuple[Rejection, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "imported": self.imported,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "rejected": [r.as_dict() for r in self.rejected],
        }


@dataclass(slots=True)
class ParsedFile:
    contacts: dict[str, ImportedContact] = field(default_factory=dict)  # by E.164 phone
    rejected: list[Rejection] = field(default_factory=list)
    rows: int = 0
    duplicates: int = 0
    custom_fields: tuple[str, ...] = ()  # the custom fields the file's columns became


def import_contacts(
    *,
    session: Session,
    data: bytes,
    clock: Clock,
    region: str,
    source: str = DEFAULT_CONSENT_SOURCE,
    progress: Progress | None = None,
) -> ImportReport:
    """Read `data` as a contacts CSV and merge it into the database, committed here
    chunk by chunk (see the module's docstring). `region` reads numbers written without
    a country code. `session` must have no transaction open: parsing comes first."""
    parsed = parse_contacts_csv(
        data, region=check_region(region), now=clock.now(), source=source, progress=progress
    )
    contacts = list(parsed.contacts.values())
    if contacts:  # committed with the first chunk of contacts
        record_custom_fields(session=session, names=parsed.custom_fields)
    imported = updated = 0
    for start in range(0, len(contacts), SAVE_CHUNK):
        try:
            new, merged = store_contacts(
                session=session, contacts=contacts[start : start + SAVE_CHUNK], now=clock.now()
            )
            session.commit()
        except IntegrityError:
            # Only a concurrent import (PostgreSQL) can add one of these phones meanwhile.
            session.rollback()
            raise Conflict(
                "another import added some of these contacts at the same time: import again"
            ) from None
        imported, updated = imported + new, updated + merged
        if progress is not None:
            progress("save", start + new + merged, len(contacts))
    if progress is not None:
        progress("save", len(contacts), len(contacts))
    return ImportReport(
        rows=parsed.rows,
        imported=imported,
        updated=updated,
        duplicates=parsed.duplicates,
        rejected=tuple(parsed.rejected),
    )


def parse_contacts_csv(
    data: bytes,
    *,
    region: str,
    now: datetime,
    source: str = DEFAULT_CONSENT_SOURCE,
    progress: Progress | None = None,
) -> ParsedFile:
    """Every row of the file, checked and merged by phone; no database involved."""
    records = _records(decode(data))
    if not records or not any(cell.strip() for cell in records[0]):
        raise InvalidInput("the file has no header row")
    columns = Columns(records[0])
    parsed = ParsedFile(custom_fields=tuple(name for _, name in columns.custom))
    # Rows whose national number is not valid in `region`: once every row is read, the
    # countries the file's other numbers come from may suggest the right reading.
    bad_numbers: list[tuple[int, str, str]] = []
    country_codes: set[int] = set()
    total = len(records) - 1
    step = max(1, total // 100)
    for index, cells in enumerate(records[1:], start=2):
        if progress is not None and index % step == 0:
            progress("read", index - 1, total)
        if not any(cell.strip() for cell in cells):
            continue  # a blank line: not a row anyone meant
        parsed.rows += 1
        try:
            contact, country_code = columns.read(cells, region=region, now=now, source=source)
        except _BadNumber as exc:
            bad_numbers.append((len(parsed.rejected), exc.raw, exc.message))
            parsed.rejected.append(Rejection(index, exc.message))
            continue
        except InvalidInput as exc:
            parsed.rejected.append(Rejection(index, exc.message))
            continue
        country_codes.add(country_code)
        earlier = parsed.contacts.get(contact.phone)
        if earlier is None:
            parsed.contacts[contact.phone] = contact
        else:
            earlier.merge(contact)
            parsed.duplicates += 1
    for position, raw, reason in bad_numbers:
        hint = suggest_region(raw, region=region, country_codes=country_codes)
        if hint is not None:
            parsed.rejected[position] = Rejection(
                parsed.rejected[position].row,
                f"{reason} (numbers without a country code are read in {region}); "
                f"did you mean {hint.e164} ({hint.region})? Write it with its country code.",
            )
    if progress is not None:
        progress("read", total, total)
    return parsed


class _BadNumber(InvalidInput):
    """A phone cell that is not a valid number (kept raw for a suggestion)."""

    def __init__(self, message: str, raw: str) -> None:
        super().__init__(message)
        self.raw = raw


# --- Bytes to records ------------------------------------------------------------------


def decode(data: bytes) -> str:
    """The file's text: UTF-16 or UTF-8 by their BOM, else UTF-8, else Windows-1252 (the
    Latin-1 Excel writes, with € and ’), else Latin-1. Binary files are refused."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise InvalidInput("the file starts like UTF-16 text but is not") from None
    elif b"\x00" in data:
        raise InvalidInput("this is not a CSV file: it contains binary data")
    else:
        text = _decode_8bit(data)
    if not text.strip():
        raise InvalidInput("the file is empty")
    header = text.split("\n", 1)[0]
    controls = len(_CONTROL.findall(text))
    if _CONTROL.search(header) or controls * 100 > len(text):
        raise InvalidInput("this is not a CSV file: it contains binary data")
    return text


def _decode_8bit(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def sniff_delimiter(header: str) -> str:
    """`;` when the header line has more semicolons than commas (outside quotes), else `,`."""
    counts = {",": 0, ";": 0}
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    return ";" if counts[";"] > counts[","] else ","


def _records(text: str) -> list[list[str]]:
    header = text.split("\n", 1)[0]
    delimiter = sniff_delimiter(header)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[list[str]] = []
    try:
        for cells in reader:
            records.append(cells)
    except csv.Error as exc:
        # Rows are counted like a spreadsheet shows them: the header is row 1.
        raise InvalidInput(
            f"malformed CSV at row {len(records) + 1} (line {reader.line_num}): {exc}"
            + (" (a quote is left open)" if "end of data" in str(exc) else "")
        ) from None
    return records


# --- Records to contacts ---------------------------------------------------------------


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
                f"numéro, tel or msisdn (columns found: {found})"
            )
        used = set(self.standard.values())
        if len(header) - len(used) > MAX_CUSTOM_FIELDS:
            raise InvalidInput(
                f"the file has {len(header) - len(used)} custom columns: at most "
                f"{MAX_CUSTOM_FIELDS} are kept per contact (remove the ones you do not need)"
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
                f"{len(cells)} cells but the header has {self.width} "
                "(a separator inside a value that is not quoted?)"
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
            raise _BadNumber(exc.message, raw) from None
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
                    # again keeps its first date (see sender.contact_store).
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
        raise InvalidInput(f"not a date: {value} (use YYYY-MM-DD or DD/MM/YYYY)")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment > now + _CONSENT_CLOCK_SKEW:
        raise InvalidInput(f"the consent date is in the future: {value}")
    return moment.astimezone(UTC)
