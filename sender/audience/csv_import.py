"""Importing contacts from a CSV file, as marketers export them from anywhere.

Reading the file (encodings, separators) is `sender.audience.csv_reading`; its columns and rows
are `sender.audience.csv_columns`. Each row is checked on its own: a bad row is reported with its
number (the header is row 1, so the first data row is row 2) and a reason, and every good
row imports. Rows repeating a phone number are merged, later non-empty cells winning.

Rejected rows are counted and streamed to a report file on disk as they are found
(`sender.audience.import_rejects`): the report names the first SHOWN and its file; a file
of millions of bad rows never becomes a list in memory.

A file that cannot be read as CSV at all (no phone column, an unterminated quote, binary
data, nothing in it, more custom columns than MAX_CUSTOM_FIELDS) is refused as a whole
with InvalidInput.

A number without a country code is read in the import's region only; a row whose number
is not valid there is rejected with a reason naming the region and, when the number is
valid in a country the file's other numbers come from, that reading as a suggestion.

The work is set-based and keeps transactions short: the whole file is parsed in Python
before any write begins (on SQLite, the write lock is never held while parsing), then
written in bulk by `sender.audience.contact_store` in chunks of SAVE_CHUNK contacts, each its own
transaction. An import stopped half-way keeps the chunks it saved; importing the same
file again is harmless (it records nothing new), so the cure is to import it again.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from richsms import processes
from richsms.clock import Clock
from richsms.errors import Conflict, InvalidInput
from sender.audience.contact_store import ImportedContact, store_contacts
from sender.audience.csv_columns import BadNumber, Columns
from sender.audience.csv_reading import decode, read_records
from sender.audience.custom_fields import record_custom_fields
from sender.audience.import_rejects import RejectedRows, Rejection
from sender.audience.phones import check_region, suggest_region

# Called as progress(stage, done, total); stages are "read" then "save".
Progress = Callable[[str, int, int], None]

DEFAULT_CONSENT_SOURCE: Final = "csv import"
# Contacts written per transaction: short enough that redirects and sends waiting for
# SQLite's write lock wait well under a second, and that a transaction stays within the
# write budget (100 ms) on a machine twice as slow as usual (1,000 took 121 ms there).
SAVE_CHUNK: Final = 500


@dataclass(frozen=True, slots=True)
class ImportReport:
    """`imported` new contacts, `updated` existing ones, `duplicates` rows merged into an
    earlier row of the same file; `rejected_count` rows rejected, the first SHOWN of them
    in `rejected` with their reason, all of them in the report `rejected_report` (an id
    in the reports' directory; None when nothing was rejected)."""

    rows: int
    imported: int
    updated: int
    duplicates: int
    rejected: tuple[Rejection, ...]
    rejected_count: int = 0
    rejected_report: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "imported": self.imported,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "rejected": [r.as_dict() for r in self.rejected],
            "rejected_count": self.rejected_count,
        }


@dataclass(slots=True)
class ParsedFile:
    contacts: dict[str, ImportedContact] = field(default_factory=dict)  # by E.164 phone
    rejected: tuple[Rejection, ...] = ()  # the first SHOWN
    rejected_count: int = 0
    rejected_report: str | None = None
    rows: int = 0
    duplicates: int = 0
    custom_fields: tuple[str, ...] = ()  # the custom fields the file's columns became


def import_contacts(
    *,
    session: Session,
    data: bytes,
    clock: Clock,
    region: str,
    reports: Path | None = None,
    source: str = DEFAULT_CONSENT_SOURCE,
    progress: Progress | None = None,
) -> ImportReport:
    """Read `data` as a contacts CSV and merge it into the database, committed here
    chunk by chunk (see the module's docstring). `region` reads numbers written without
    a country code; the rejected rows' report goes in the directory `reports` (None: the
    default one). `session`
    must have no transaction open: parsing comes first."""
    region = check_region(region)
    chunks: list[Chunk]
    if progress is None:  # the file read and checked in a worker process
        parsed, chunks = processes.run(
            processes.PARSE, _parsed_in_chunks, data, region=region, now=clock.now(),
            reports=reports, source=source,
        )  # fmt: skip
    else:  # a command showing its progress as it goes: read here
        parsed = parse_contacts_csv(
            data, region=region, now=clock.now(), reports=reports, source=source,
            progress=progress,
        )  # fmt: skip
        chunks = list(_chunked(list(parsed.contacts.values())))
    total = sum(size for size, _ in chunks)
    if total:  # committed with the first chunk of contacts
        record_custom_fields(session=session, names=parsed.custom_fields)
    imported = updated = 0
    for _size, chunk in chunks:
        contacts = pickle.loads(chunk) if isinstance(chunk, bytes) else chunk
        try:
            new, merged = store_contacts(session=session, contacts=contacts, now=clock.now())
            session.commit()
        except IntegrityError:
            # Only a concurrent import (PostgreSQL) can add one of these phones meanwhile.
            session.rollback()
            raise Conflict(
                "another import added some of these contacts at the same time: import again"
            ) from None
        imported, updated = imported + new, updated + merged
        if progress is not None:
            progress("save", imported + updated, total)
    if progress is not None:
        progress("save", total, total)
    return ImportReport(
        rows=parsed.rows,
        imported=imported,
        updated=updated,
        duplicates=parsed.duplicates,
        rejected=parsed.rejected,
        rejected_count=parsed.rejected_count,
        rejected_report=parsed.rejected_report,
    )


Chunk = tuple[int, "bytes | list[ImportedContact]"]
"""(how many contacts, the contacts): pickled when they come from the worker process, so
that the server unpickles one chunk at a time, never a whole file's at once."""


def _chunked(contacts: list[ImportedContact]) -> Iterator[tuple[int, list[ImportedContact]]]:
    for start in range(0, len(contacts), SAVE_CHUNK):
        chunk = contacts[start : start + SAVE_CHUNK]
        yield len(chunk), chunk


def _parsed_in_chunks(
    data: bytes, *, region: str, now: datetime, reports: Path | None, source: str
) -> tuple[ParsedFile, list[Chunk]]:
    """In a worker process (`richsms.processes`): `parse_contacts_csv`, its contacts
    pickled SAVE_CHUNK at a time."""
    parsed = parse_contacts_csv(data, region=region, now=now, reports=reports, source=source)
    contacts = list(parsed.contacts.values())
    parsed.contacts = {}
    return parsed, [(size, pickle.dumps(chunk)) for size, chunk in _chunked(contacts)]


def parse_contacts_csv(
    data: bytes,
    *,
    region: str,
    now: datetime,
    reports: Path | None = None,
    source: str = DEFAULT_CONSENT_SOURCE,
    progress: Progress | None = None,
) -> ParsedFile:
    """Every row of the file, checked and merged by phone; no database involved. The
    rejected rows go to a report in `reports` as they are found."""
    text = decode(data)
    records = read_records(text)
    header = next(records, None)
    if header is None or not any(cell.strip() for cell in header):
        raise InvalidInput("the file has no header row")
    columns = Columns(header)
    parsed = ParsedFile(custom_fields=tuple(name for _, name in columns.custom))
    rejected = RejectedRows(reports)
    # Rows whose national number is not valid in `region`: once every row is read, the
    # countries the file's other numbers come from may suggest the right reading.
    country_codes: set[int] = set()
    # The data rows, for the progress only (a quoted cell may hold a line break).
    total = max(1, text.count("\n") - text.endswith("\n"))
    step = max(1, total // 100)
    try:
        for index, cells in enumerate(records, start=2):
            if progress is not None and index % step == 0:
                progress("read", min(index - 1, total), total)
            if not any(cell.strip() for cell in cells):
                continue  # a blank line: not a row anyone meant
            parsed.rows += 1
            try:
                contact, country_code = columns.read(cells, region=region, now=now, source=source)
            except BadNumber as exc:
                rejected.add(Rejection.of(index, exc), exc.raw)
                continue
            except InvalidInput as exc:
                rejected.add(Rejection.of(index, exc))
                continue
            country_codes.add(country_code)
            earlier = parsed.contacts.get(contact.phone)
            if earlier is None:
                parsed.contacts[contact.phone] = contact
            else:
                earlier.merge(contact)
                parsed.duplicates += 1
    except BaseException:
        rejected.close()
        raise

    def hint(rejection: Rejection, raw: str) -> Rejection | None:
        found = suggest_region(raw, region=region, country_codes=country_codes)
        if found is None:
            return None
        hinted = InvalidInput(
            "{reason} (numbers without a country code are read in {region}); did you "
            "mean {number} ({country})? Write it with its country code.",
            params={
                "reason": rejection.error or rejection.reason,
                "region": region,
                "number": found.e164,
                "country": found.region,
            },
        )
        return Rejection.of(rejection.row, hinted)

    parsed.rejected_report = rejected.finish(hint)
    parsed.rejected = tuple(rejected.first)
    parsed.rejected_count = rejected.count
    if progress is not None:
        progress("read", total, total)
    return parsed
