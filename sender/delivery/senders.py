"""Sender numbers: short codes, long codes and alphanumeric ids, each with its own rate
and the message types it may carry."""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlalchemy import or_
from sqlmodel import Session, col, select

from richsms.clock import Clock
from richsms.db import get_or_not_found
from richsms.errors import Conflict, InvalidInput
from sender.audience.phones import check_region
from sender.audience.recipient_locale import LANGUAGES
from sender.campaigns.models import Campaign
from sender.delivery.models import MESSAGE_TYPES, SenderNumber

# The fastest rate a sender may be given, messages per second.
MAX_RATE = 10_000.0

_FORMATS = {
    # Short codes are national: 3 to 8 digits.
    "short_code": (re.compile(r"^\d{3,8}$"), "3 to 8 digits"),
    "long_code": (re.compile(r"^\+[1-9]\d{6,14}$"), "an E.164 number such as +33612345678"),
    # GSM alphanumeric senders: at most 11 characters, at least one letter.
    "alphanumeric": (
        re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 .\-]{1,11}$"),
        "1 to 11 letters, digits, spaces, dots or dashes, with a letter",
    ),
}


def create_sender(
    *,
    session: Session,
    clock: Clock,
    kind: str,
    value: str,
    rate: float,
    allowed_types: list[str],
    country: str | None = None,
    opt_out: Mapping[str, str] | None = None,
) -> SenderNumber:
    """Register a sender number; `country` (ISO 3166 alpha-2) is where its recipients
    are, `opt_out` its own mention per language (else its country's). Commits."""
    if kind not in _FORMATS:
        raise InvalidInput(f"kind must be one of {', '.join(_FORMATS)}")
    pattern, expected = _FORMATS[kind]
    value = value.strip()
    if not pattern.match(value):
        raise InvalidInput(f"a {kind.replace('_', ' ')} is {expected}; got {value!r}")
    unknown = set(allowed_types) - set(MESSAGE_TYPES)
    if unknown or not allowed_types:
        raise InvalidInput(f"allowed_types must be among {', '.join(MESSAGE_TYPES)}")
    if not 0 < rate <= MAX_RATE:
        raise InvalidInput(f"rate must be between 0 and {MAX_RATE} messages per second")
    existing = session.exec(select(SenderNumber).where(col(SenderNumber.value) == value)).first()
    if existing is not None:
        raise Conflict(f"sender {value} already exists")
    sender = SenderNumber(
        kind=kind,
        value=value,
        rate=rate,
        allowed_types=allowed_types,
        country=_country(country),
        opt_out=_mentions(opt_out or {}),
        created_at=clock.now(),
    )
    session.add(sender)
    session.commit()
    return sender


def list_senders(*, session: Session) -> list[SenderNumber]:
    return list(session.exec(select(SenderNumber).order_by(col(SenderNumber.id))))


def get_sender(*, session: Session, sender_id: int) -> SenderNumber:
    return get_or_not_found(
        session, SenderNumber, sender_id, f"no sender number with id {sender_id}"
    )


def update_sender(
    *,
    session: Session,
    sender_id: int,
    rate: float | None = None,
    allowed_types: list[str] | None = None,
    country: str | None = None,
    opt_out: Mapping[str, str] | None = None,
) -> SenderNumber:
    """Change a sender's rate, the message types it carries, its country or its own
    opt-out mentions (those given; flushes). Its kind and value are what the network
    knows it by: register another sender to change them."""
    sender = get_sender(session=session, sender_id=sender_id)
    if rate is not None:
        if not 0 < rate <= MAX_RATE:
            raise InvalidInput(f"rate must be between 0 and {MAX_RATE} messages per second")
        sender.rate = rate
    if allowed_types is not None:
        unknown = set(allowed_types) - set(MESSAGE_TYPES)
        if unknown or not allowed_types:
            raise InvalidInput(f"allowed_types must be among {', '.join(MESSAGE_TYPES)}")
        sender.allowed_types = list(dict.fromkeys(allowed_types))
    if country is not None:
        sender.country = _country(country)
    if opt_out is not None:
        sender.opt_out = _mentions(opt_out)
    session.add(sender)
    session.flush()
    return sender


def _country(country: str | None) -> str | None:
    """An ISO 3166 alpha-2 code ("ca" → "CA"); "" or None: any country."""
    if not country:
        return None
    return check_region(country)


def _mentions(opt_out: Mapping[str, str]) -> dict[str, str]:
    mentions: dict[str, str] = {}
    for language, mention in opt_out.items():
        if language not in LANGUAGES:
            raise InvalidInput(f"opt_out.{language}: a mention is in one of {', '.join(LANGUAGES)}")
        if mention.strip():
            mentions[language] = mention.strip()
    return mentions


def delete_sender(*, session: Session, sender_id: int) -> None:
    """Delete a sender number no campaign names (Conflict otherwise: campaigns keep the
    number they were sent from)."""
    sender = get_sender(session=session, sender_id=sender_id)
    used = list(
        session.exec(
            select(col(Campaign.id))
            .where(
                or_(
                    col(Campaign.sender_id) == sender_id,
                    col(Campaign.default_sender_id) == sender_id,
                )
            )
            .limit(5)
        ).all()
    )
    if not used:  # one of the numbers of a campaign sending from several
        listed = session.exec(select(col(Campaign.id), col(Campaign.sender_ids))).all()
        used = [i for i, ids in listed if sender_id in (ids or [])][:5]
    if used:
        raise Conflict(
            f"sender {sender.value} is the number of campaign "
            f"{', '.join(f'#{i}' for i in used)}: it stays for their history"
        )
    session.delete(sender)
    session.flush()
