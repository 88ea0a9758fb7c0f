"""The outbox: every message, whatever produced it, goes in here and only out through a
worker. This module owns its state transitions."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from richsms.errors import InvalidInput
from sender.encoding import analyze
from sender.models import MESSAGE_TYPES, PLANNED, QUEUED, Message


def enqueue(
    *,
    session: Session,
    phone: str,
    text: str,
    type: str,
    now: datetime,
    due_at: datetime | None = None,
    contact_id: int | None = None,
    campaign_id: int | None = None,
    automation_id: int | None = None,
    link_id: int | None = None,
    sender: str = "",
    window: str = "",
    timezones: str = "",
    is_test: bool = False,
) -> Message:
    """Add one message; it is `queued` when due now, else `planned` until its time."""
    if type not in MESSAGE_TYPES:
        raise InvalidInput(f"unknown message type {type!r}: use {', '.join(MESSAGE_TYPES)}")
    if not text:
        raise InvalidInput("the message is empty")
    due = due_at or now
    analysis = analyze(text)
    message = Message(
        campaign_id=campaign_id,
        automation_id=automation_id,
        contact_id=contact_id,
        phone=phone,
        sender=sender,
        type=type,
        text=text,
        encoding=analysis.encoding,
        segments=analysis.segments,
        link_id=link_id,
        is_test=is_test,
        state=QUEUED if due <= now else PLANNED,
        due_at=due,
        window=window,
        timezones=timezones,
        planned_at=now,
        queued_at=now if due <= now else None,
    )
    session.add(message)
    session.flush()
    return message
