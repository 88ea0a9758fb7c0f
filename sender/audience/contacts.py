"""Contacts and their consent: who may be messaged, since when, and how they left.

Subscription state lives on the contact (`status`, `opted_out_at`, `opted_out_via`); the
consent history is a separate append-only table (ConsentEvent), so a later change never
erases how consent was given or withdrawn.

These functions flush but do not commit: callers compose them in one unit of work.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import datetime
from typing import Final

from sqlmodel import Session, col, select

from richsms.clock import Clock
from richsms.errors import Conflict, InvalidInput, NotFound
from sender.audience.custom_fields import record_custom_fields
from sender.audience.models import ConsentEvent, Contact
from sender.audience.phones import check_timezones, parse_phone
from sender.audience.suppression import VIA as SUPPRESSION_VIA
from sender.audience.suppression import suppressed, unsuppress

SUBSCRIBED: Final = "subscribed"
OPTED_OUT: Final = "opted_out"
STATUSES: Final = (SUBSCRIBED, OPTED_OUT)
# An erased contact (sender.audience.erasure): a row without personal data, kept so that what was
# sent, clicked and answered stays counted; never messaged, listed or found.
ERASED: Final = "erased"
EXPRESS: Final = "express"
IMPLIED: Final = "implied"
CONSENT_TYPES: Final = (EXPRESS, IMPLIED)
OPT_OUT_EVENT: Final = "opt_out"
OPT_IN_EVENT: Final = "opt_in"
LANGUAGES: Final = ("fr", "en")

# Widths of Contact's text columns: longer values are refused rather than cut.
MAX_LENGTHS: Final = {"first_name": 200, "last_name": 200, "email": 320, "consent_source": 200}

_LANGUAGE_NAMES: Final = {
    "fr": "fr", "fra": "fr", "fre": "fr", "francais": "fr", "francaise": "fr", "french": "fr",
    "en": "en", "eng": "en", "anglais": "en", "anglaise": "en", "english": "en",
}  # fmt: skip
_CONSENT_NAMES: Final = {
    "express": EXPRESS, "explicit": EXPRESS, "explicite": EXPRESS, "expres": EXPRESS,
    "expresse": EXPRESS, "opt-in": EXPRESS, "optin": EXPRESS,
    "implied": IMPLIED, "implicit": IMPLIED, "implicite": IMPLIED, "tacite": IMPLIED,
}  # fmt: skip
_STATUS_NAMES: Final = {
    "subscribed": SUBSCRIBED, "abonne": SUBSCRIBED, "abonnee": SUBSCRIBED, "inscrit": SUBSCRIBED,
    "opted_out": OPTED_OUT, "opted out": OPTED_OUT, "desabonne": OPTED_OUT,
    "desabonnee": OPTED_OUT, "desinscrit": OPTED_OUT,
}  # fmt: skip


def fold(text: str) -> str:
    """`text` without case or accents: "  Arrêt " -> "arret"."""
    decomposed = unicodedata.normalize("NFKD", text.strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def normalize_language(value: str) -> str:
    """ "fr" or "en" from what people write: "FR", "fr-CA", "Français", "english"..."""
    key = fold(value)
    if key not in _LANGUAGE_NAMES:  # "fr-CA", "en_GB": the language, not its region
        key = key.replace("_", "-").split("-", 1)[0]
    refusal = "unsupported language {value}: use fr or en"
    return _named(_LANGUAGE_NAMES, key, refusal, value=repr(value.strip()))


def normalize_consent_type(value: str) -> str:
    """ "express" or "implied", also from "explicite" / "implicite"."""
    refusal = "unknown consent type {value}: use express or implied"
    return _named(_CONSENT_NAMES, fold(value), refusal, value=repr(value.strip()))


def normalize_status(value: str) -> str:
    """ "subscribed" or "opted_out", also from "abonné" / "désabonné"."""
    refusal, allowed = "{value} is not one of {allowed}", ", ".join(STATUSES)
    return _named(_STATUS_NAMES, fold(value), refusal, value=repr(value[:60]), allowed=allowed)


def _named(names: Mapping[str, str], key: str, refusal: str, **params: object) -> str:
    """What `key` (a folded name, French or English) names; else InvalidInput(`refusal`)."""
    found = names.get(key)
    if found is None:
        raise InvalidInput(refusal, params=params)
    return found


def check_length(name: str, value: str) -> str:
    limit = MAX_LENGTHS[name]
    if len(value) > limit:
        raise InvalidInput(f"{name} is longer than {limit} characters")
    return value


def check_email(value: str) -> str:
    email = check_length("email", value.strip())
    if email and ("@" not in email or any(c.isspace() for c in email)):
        raise InvalidInput(f"not an email address: {email}")
    return email


# --- Reading ---------------------------------------------------------------------------


def get_contact(*, session: Session, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None or contact.status == ERASED:
        raise NotFound(f"no contact with id {contact_id}")
    return contact


def find_by_phone(*, session: Session, phone: str) -> Contact | None:
    """The contact with this E.164 number (normalize with sender.audience.phones first)."""
    return session.exec(select(Contact).where(col(Contact.phone) == phone)).first()


# --- Writing ---------------------------------------------------------------------------


def create_contact(
    *,
    session: Session,
    phone: str,
    clock: Clock,
    region: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    language: str | None = None,
    timezones: str | None = None,
    fields: dict[str, str] | None = None,
    status: str = SUBSCRIBED,
    opted_out_via: str | None = None,
    strict: bool = True,
) -> Contact:
    """A new contact. `phone` may be national (read in `region`) or international; the
    language and zones default to what the number implies. Conflict if the number exists.
    Consent is recorded separately with `record_consent`. `strict=False` accepts any
    number of a possible length (one a carrier handed us, rather than one typed in)."""
    parsed = parse_phone(phone, region=region, strict=strict)
    if find_by_phone(session=session, phone=parsed.e164) is not None:
        raise Conflict(f"a contact with phone {parsed.e164} already exists")
    if status not in STATUSES:
        raise InvalidInput(f"unknown status {status!r}: use {' or '.join(STATUSES)}")
    now = clock.now()
    if status == SUBSCRIBED and arriving_status(session=session, phone=parsed.e164) == OPTED_OUT:
        status, opted_out_via = OPTED_OUT, SUPPRESSION_VIA
    zones = check_timezones(timezones) if timezones else parsed.timezones
    contact = Contact(
        phone=parsed.e164,
        first_name=check_length("first_name", first_name.strip()),
        last_name=check_length("last_name", last_name.strip()),
        email=check_email(email),
        language=normalize_language(language) if language else parsed.language,
        timezones=" ".join(zones),
        fields=dict(fields or {}),
        status=status,
        opted_out_at=now if status == OPTED_OUT else None,
        opted_out_via=opted_out_via if status == OPTED_OUT else None,
        created_at=now,
        updated_at=now,
    )
    record_custom_fields(session=session, names=contact.fields)
    session.add(contact)
    session.flush()
    if status == OPTED_OUT:
        _append_event(session, contact, OPT_OUT_EVENT, opted_out_via or "", now)
    return contact


def arriving_status(*, session: Session, phone: str) -> str:
    """The status a new contact with this E.164 number starts with: opted out if the
    number is on the suppression list (its owner opted out, then was erased)."""
    return OPTED_OUT if suppressed(session=session, phones=[phone]) else SUBSCRIBED


def ensure_contact(*, session: Session, phone: str, clock: Clock, region: str) -> Contact:
    """The contact with this number, created (subscribed, no consent) if there is none."""
    e164 = parse_phone(phone, region=region).e164
    found = find_by_phone(session=session, phone=e164)
    if found is not None:
        return found
    return create_contact(session=session, phone=e164, clock=clock, region=region)


def opt_out(*, session: Session, contact: Contact, via: str, clock: Clock) -> bool:
    """Stop messaging `contact` now. `via` says how ("keyword:STOP", "api", "import").
    True if the contact was subscribed; a repeated request is still recorded in the
    history, but the first opt-out's time and channel are kept."""
    now = clock.now()
    changed = contact.status != OPTED_OUT
    if changed:
        contact.status = OPTED_OUT
        contact.opted_out_at = now
        contact.opted_out_via = via[:64]
        contact.updated_at = now
        session.add(contact)
    _append_event(session, contact, OPT_OUT_EVENT, via, now)
    return changed


def opt_in(*, session: Session, contact: Contact, via: str, clock: Clock) -> bool:
    """Subscribe `contact` again (they asked: "START"). True if they were opted out."""
    now = clock.now()
    changed = contact.status != SUBSCRIBED
    if changed:
        contact.status = SUBSCRIBED
        contact.opted_out_at = None
        contact.opted_out_via = None
        contact.updated_at = now
        session.add(contact)
        unsuppress(session=session, phone=contact.phone)
    _append_event(session, contact, OPT_IN_EVENT, via, now)
    return changed


def record_consent(
    *,
    session: Session,
    contact: Contact,
    consent_type: str,
    source: str,
    clock: Clock,
    at: datetime | None = None,
) -> ConsentEvent:
    """Record how `contact` consented: the contact shows the latest consent, the history
    keeps every one. `at` defaults to now; it must have a time zone."""
    kind = normalize_consent_type(consent_type)
    source = check_length("consent_source", source.strip())
    moment = at or clock.now()
    if moment.tzinfo is None:
        raise InvalidInput("the consent time needs a time zone")
    contact.consent_type = kind
    contact.consent_source = source
    contact.consent_at = moment
    contact.updated_at = clock.now()
    session.add(contact)
    return _append_event(session, contact, kind, source, moment)


def _append_event(
    session: Session, contact: Contact, kind: str, source: str, at: datetime
) -> ConsentEvent:
    assert contact.id is not None, "flush the contact first"
    event = ConsentEvent(contact_id=contact.id, kind=kind, source=source[:200], at=at)
    session.add(event)
    session.flush()
    return event


def consent_history(*, session: Session, contact_id: int) -> list[ConsentEvent]:
    """Every consent event of a contact, oldest first."""
    return list(
        session.exec(
            select(ConsentEvent)
            .where(col(ConsentEvent.contact_id) == contact_id)
            .order_by(col(ConsentEvent.at), col(ConsentEvent.id))
        )
    )
