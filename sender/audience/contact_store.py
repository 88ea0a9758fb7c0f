"""Writing many contacts at once: one lookup per chunk of phones, bulk inserts of the new
contacts, bulk updates of the existing ones, bulk inserts of their consent events.

A hundred thousand rows are a few dozen statements, not a hundred thousand round trips.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, bindparam, insert, select, update
from sqlmodel import Session, SQLModel

from sender.audience.suppression import VIA as SUPPRESSION_VIA
from sender.audience.suppression import suppressed

# Rows per statement: large enough to amortize round trips, small enough to stay under
# SQLite's and PostgreSQL's limits on bound parameters.
CHUNK: Final = 2_000

_MERGED: Final = ("first_name", "last_name", "email", "language", "timezones")
# (kind, source, at): one consent as given; `at` is None when the file gave no date.
Consent = tuple[str, str, datetime | None]


@dataclass(slots=True)
class ImportedContact:
    """A contact as a file gave it; "" means the file said nothing (and changes nothing)."""

    phone: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    language: str = ""
    timezones: str = ""
    # What the number implies, used only when a new contact's file gave no value.
    default_language: str = "en"
    default_timezones: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    consents: list[Consent] = field(default_factory=list)

    def merge(self, later: ImportedContact) -> None:
        """A later row for the same phone: its non-empty cells win, consents add up."""
        for name in _MERGED:
            value = getattr(later, name)
            if value:
                setattr(self, name, value)
        self.fields.update(later.fields)
        for consent in later.consents:
            if not self.consents or self.consents[-1] != consent:
                self.consents.append(consent)


def among(column: Any, values: Sequence[object]) -> ColumnElement[bool]:
    """`column IN (values)` with the values written into the SQL: PostgreSQL then hashes
    the list instead of comparing each row with thousands of parameters one by one,
    which right after a bulk load (no statistics yet, so a sequential scan) took
    seconds per chunk."""
    return column.in_(bindparam(None, list(values), expanding=True, literal_execute=True))  # type: ignore[no-any-return]


def _table(name: str) -> Any:
    return SQLModel.metadata.tables[name]


def store_contacts(
    *,
    session: Session,
    contacts: Sequence[ImportedContact],
    now: datetime,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[int, int]:
    """Insert or merge `contacts` (distinct phones); returns (inserted, updated).

    Existing contacts keep their status: an import never re-subscribes someone who opted
    out. Their consent history gains the file's consents that differ from their current
    one, so importing the same file twice records nothing new.
    """
    contact, event = _table("contact"), _table("consent_event")
    existing = _existing(session, contact, [c.phone for c in contacts])
    fresh = [c for c in contacts if c.phone not in existing]
    known = [c for c in contacts if c.phone in existing]
    total, done = len(contacts), 0
    events: list[dict[str, Any]] = []

    for start in range(0, len(fresh), CHUNK):
        chunk = fresh[start : start + CHUNK]
        # Erased after opting out: back in the file, still opted out.
        held = suppressed(session=session, phones=[c.phone for c in chunk])
        session.execute(insert(contact), [_new_row(c, now, c.phone in held) for c in chunk])
        # The ids are read back only where consent events need them, and not with
        # INSERT ... RETURNING: on PostgreSQL that path costs four times the insert.
        consenting = [c for c in chunk if c.consents or c.phone in held]
        if consenting:
            found = session.execute(
                select(contact.c.phone, contact.c.id).where(
                    among(contact.c.phone, [c.phone for c in consenting])
                )
            )
            ids = {phone: contact_id for phone, contact_id in found}
            for c in consenting:
                events.extend(_event(ids[c.phone], _dated(consent, now)) for consent in c.consents)
                if c.phone in held:
                    events.append(_event(ids[c.phone], ("opt_out", SUPPRESSION_VIA, now)))
        done += len(chunk)
        _report(progress, done, total)

    statement = (
        update(contact)
        .where(contact.c.id == bindparam("b_id"))
        .values({name: bindparam(f"b_{name}") for name in _UPDATED})
    )
    changes: list[dict[str, Any]] = []
    for c in known:
        row = existing[c.phone]
        change, new_events = _merge_row(c, row, now)
        events.extend(new_events)
        if change is not None:
            changes.append(change)
        done += 1
        if len(changes) == CHUNK:
            session.execute(statement, changes)
            changes = []
            _report(progress, done, total)
    if changes:
        session.execute(statement, changes)
    _report(progress, total, total)

    for start in range(0, len(events), CHUNK):
        session.execute(insert(event), events[start : start + CHUNK])
    return len(fresh), len(known)


_SELECTED: Final = (
    "id", "phone", "first_name", "last_name", "email", "language", "timezones", "fields",
    "consent_type", "consent_source", "consent_at",
)  # fmt: skip
_UPDATED: Final = (
    "first_name", "last_name", "email", "language", "timezones", "fields",
    "consent_type", "consent_source", "consent_at", "updated_at",
)  # fmt: skip


def _existing(session: Session, contact: Any, phones: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    columns = [contact.c[name] for name in _SELECTED]
    for start in range(0, len(phones), CHUNK):
        chunk = phones[start : start + CHUNK]
        for row in session.execute(select(*columns).where(among(contact.c.phone, chunk))):
            found[row.phone] = row
    return found


def _new_row(c: ImportedContact, now: datetime, held: bool) -> dict[str, Any]:
    kind, source, at = c.consents[-1] if c.consents else (None, None, None)
    if kind is not None and at is None:
        at = now
    return {
        "phone": c.phone,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "email": c.email,
        "language": c.language or c.default_language,
        "timezones": c.timezones or c.default_timezones,
        "fields": c.fields,
        "status": "opted_out" if held else "subscribed",
        "consent_type": kind,
        "consent_source": source,
        "consent_at": at,
        "opted_out_at": now if held else None,
        "opted_out_via": SUPPRESSION_VIA if held else None,
        "created_at": now,
        "updated_at": now,
    }


def _merge_row(
    c: ImportedContact, row: Any, now: datetime
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The UPDATE parameters (None when nothing changes) and the consent events to add."""
    current: Consent | None = (
        (row.consent_type, row.consent_source or "", row.consent_at)
        if row.consent_type is not None
        else None
    )
    consents = [_dated(consent, now) for consent in c.consents]
    if consents and _same_consent(c.consents[0], current):
        consents.pop(0)  # already the contact's consent: not a new event
    latest = consents[-1] if consents else current
    merged = {
        "b_id": row.id,
        "b_first_name": c.first_name or row.first_name,
        "b_last_name": c.last_name or row.last_name,
        "b_email": c.email or row.email,
        "b_language": c.language or row.language,
        "b_timezones": c.timezones or row.timezones,
        "b_fields": {**(row.fields or {}), **c.fields},
        "b_consent_type": latest[0] if latest else None,
        "b_consent_source": latest[1] if latest else row.consent_source,
        "b_consent_at": latest[2] if latest else None,
        "b_updated_at": now,
    }
    unchanged = not consents and all(
        merged[f"b_{name}"] == getattr(row, name) for name in _MERGED + ("fields",)
    )
    events = [_event(row.id, consent) for consent in consents]
    return (None if unchanged else merged), events


def _same_consent(given: Consent, current: Consent | None) -> bool:
    """Whether the file's consent is the one the contact has: an undated consent of the
    same type and source is (re-importing a file must not move `consent_at`)."""
    if current is None:
        return False
    if given[2] is None:
        return given[:2] == current[:2]
    return given == current


def _dated(consent: Consent, now: datetime) -> Consent:
    kind, source, at = consent
    return (kind, source, now if at is None else at)


def _event(contact_id: int, consent: Consent) -> dict[str, Any]:
    kind, source, at = consent
    return {"contact_id": contact_id, "kind": kind, "source": source, "at": at}


def _report(progress: Callable[[str, int, int], None] | None, done: int, total: int) -> None:
    if progress is not None:
        progress("save", done, total)
