"""Sender numbers: short codes, long codes and alphanumeric ids, each with its own rate
and the message types it may carry."""

from __future__ import annotations

import re

from sqlmodel import Session, col, select

from richsms.clock import Clock
from richsms.errors import Conflict, InvalidInput
from sender.models import MESSAGE_TYPES, SenderNumber

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
) -> SenderNumber:
    if kind not in _FORMATS:
        raise InvalidInput(f"kind must be one of {', '.join(_FORMATS)}")
    pattern, expected = _FORMATS[kind]
    value = value.strip()
    if not pattern.match(value):
        raise InvalidInput(f"a {kind.replace('_', ' ')} is {expected}; got {value!r}")
    unknown = set(allowed_types) - set(MESSAGE_TYPES)
    if unknown or not allowed_types:
        raise InvalidInput(f"allowed_types must be among {', '.join(MESSAGE_TYPES)}")
    if rate <= 0:
        raise InvalidInput("rate must be positive")
    existing = session.exec(select(SenderNumber).where(col(SenderNumber.value) == value)).first()
    if existing is not None:
        raise Conflict(f"sender {value} already exists")
    sender = SenderNumber(
        kind=kind, value=value, rate=rate, allowed_types=allowed_types, created_at=clock.now()
    )
    session.add(sender)
    session.commit()
    return sender
