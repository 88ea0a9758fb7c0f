"""Correcting a contact: each field checked as an import checks it, the phone normalized
again, and the consent history kept."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from sqlmodel import Session

from richsms.clock import Clock
from richsms.errors import Conflict, InvalidInput
from sender.audience.contacts import (
    OPTED_OUT,
    check_email,
    check_length,
    find_by_phone,
    get_contact,
    normalize_language,
    opt_out,
    record_consent,
)
from sender.audience.custom_fields import MAX_CUSTOM_FIELD_NAME, record_custom_fields
from sender.audience.models import Contact
from sender.audience.phones import check_timezones, parse_phone

MAX_FIELD_VALUE: Final = 1_000


@dataclass(slots=True)
class ContactChanges:
    """What a correction changes; None leaves a value as it is. In `fields`, a custom
    field set to None is removed."""

    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    language: str | None = None
    timezones: str | None = None
    fields: dict[str, str | None] = field(default_factory=dict)
    opted_out: bool | None = None
    consent_type: str | None = None
    consent_source: str | None = None


def update_contact(
    *, session: Session, contact_id: int, changes: ContactChanges, region: str, clock: Clock
) -> Contact:
    """Apply `changes` to a contact (flushes). A new phone is read in `region` unless it
    has a country code; Conflict if another contact has it. Its zones follow the new
    number unless `timezones` is given. Opting back in is refused: only the contact can
    ask for it (START)."""
    contact = get_contact(session=session, contact_id=contact_id)
    if changes.phone is not None:
        parsed = parse_phone(changes.phone, region=region)
        other = find_by_phone(session=session, phone=parsed.e164)
        if other is not None and other.id != contact.id:
            raise Conflict(f"contact {other.id} already has the phone {parsed.e164}")
        if parsed.e164 != contact.phone:
            contact.phone = parsed.e164
            if changes.timezones is None:
                contact.timezones = " ".join(parsed.timezones)
    if changes.first_name is not None:
        contact.first_name = check_length("first_name", changes.first_name.strip())
    if changes.last_name is not None:
        contact.last_name = check_length("last_name", changes.last_name.strip())
    if changes.email is not None:
        contact.email = check_email(changes.email)
    if changes.language is not None:
        contact.language = normalize_language(changes.language)
    if changes.timezones is not None:
        contact.timezones = " ".join(check_timezones(changes.timezones))
    if changes.fields:
        contact.fields = _custom_fields(session, dict(contact.fields or {}), changes.fields)
    contact.updated_at = clock.now()
    session.add(contact)
    session.flush()
    if changes.consent_type is not None or changes.consent_source is not None:
        record_consent(
            session=session,
            contact=contact,
            consent_type=changes.consent_type or contact.consent_type or "",
            source=changes.consent_source
            if changes.consent_source is not None
            else contact.consent_source or "api",
            clock=clock,
        )
    if changes.opted_out is True and contact.status != OPTED_OUT:
        opt_out(session=session, contact=contact, via="api", clock=clock)
    elif changes.opted_out is False and contact.status == OPTED_OUT:
        raise InvalidInput(
            "an opted-out contact subscribes again only by asking (texting START)",
            code="opt_in_refused",
        )
    session.flush()
    return contact


def _custom_fields(
    session: Session, current: dict[str, object], changes: dict[str, str | None]
) -> dict[str, object]:
    for name, value in changes.items():
        if not name or len(name) > MAX_CUSTOM_FIELD_NAME or not name.isidentifier():
            raise InvalidInput(
                f"a custom field name is 1 to {MAX_CUSTOM_FIELD_NAME} letters, digits and _: "
                f"{name[:MAX_CUSTOM_FIELD_NAME]!r}"
            )
        if value is None:
            current.pop(name, None)
            continue
        if len(value) > MAX_FIELD_VALUE:
            raise InvalidInput(f"fields.{name} has more than {MAX_FIELD_VALUE} characters")
        current[name] = value.strip()
    record_custom_fields(session=session, names=[n for n, v in changes.items() if v is not None])
    return current
