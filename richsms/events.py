"""The event outbox's write side: what happened, queued for the webhooks that want it.

Any domain function that changes state in a transaction (a coupon redeemed, a receipt
settled) calls `emit_event` in that same transaction, so that the event exists exactly
when the change does; it lives in the core so that every package can (`landing_templates`
sits below `sender`). Delivering the queue, subscribing and signing are
`sender.webhooks`'. Each queued payload is the exact JSON a webhook will be sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    insert,
    or_,
    select,
    update,
)
from sqlmodel import Field, Session, SQLModel, col

from richsms.clock import Clock
from richsms.types import UTCDateTime

# Event types a webhook may subscribe to.
CLICK = "click"
REDEMPTION = "redemption"
OPT_OUT = "opt_out"
REPLY = "reply"
DELIVERY = "delivery"
EVENT_TYPES = (CLICK, REDEMPTION, OPT_OUT, REPLY, DELIVERY)

# Delivery states: pending (due at next_attempt_at) → delivered, or failed for good.
PENDING = "pending"
DELIVERED = "delivered"
GAVE_UP = "failed"


class Webhook(SQLModel, table=True):
    __tablename__ = "webhook"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_column=Column(Text, nullable=False))
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The signing key must be known to sign, so it cannot be hashed: it is shown once, at
    # creation, and never returned by the API again.
    secret: str = Field(sa_column=Column(String(64), nullable=False))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_due", "state", "next_attempt_at"),)

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    webhook_id: int = Field(
        sa_column=Column(Integer, ForeignKey("webhook.id", ondelete="CASCADE"), nullable=False)
    )
    event: str = Field(sa_column=Column(String(16), nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))  # the exact JSON signed
    state: str = Field(sa_column=Column(String(12), nullable=False))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


def encode(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=_iso)


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"{type(value).__name__} is not JSON")


# Asked for every batch of receipts: built once.
_ACTIVE_HOOKS = select(col(Webhook.id), col(Webhook.events)).where(col(Webhook.active).is_(True))


def _subscribers(session: Session | Connection, event: str) -> list[int]:
    hooks = session.execute(_ACTIVE_HOOKS).all()
    return [int(i) for i, events in hooks if i is not None and event in events]


def wanted(session: Session | Connection, event: str) -> bool:
    """Whether any active webhook takes `event` (so that a caller can skip gathering
    payloads nobody will receive)."""
    return bool(_subscribers(session, event))


def emit_events(
    *,
    session: Session | Connection,
    now: datetime,
    event: str,
    payloads: Sequence[Mapping[str, Any]],
) -> int:
    """Queue `payloads` of type `event` for every webhook that wants them, in the
    caller's transaction (a session, or a Core connection); returns how many deliveries
    were queued."""
    if event not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event!r}")
    if not payloads:
        return 0
    hooks = _subscribers(session, event)
    if not hooks:
        return 0
    rows = [
        {
            "webhook_id": hook,
            "event": event,
            "payload": encode({"type": event, **payload}),
            "state": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "last_error": None,
            "created_at": now,
            "delivered_at": None,
        }
        for payload in payloads
        for hook in hooks
    ]
    session.execute(insert(WebhookDelivery), rows)
    return len(rows)


def emit_event(
    *, session: Session, clock: Clock, event: str, payload: Mapping[str, Any]
) -> int:
    return emit_events(session=session, now=clock.now(), event=event, payloads=[payload])


def erase_replies(*, session: Session, contact_id: int) -> int:
    """Blank the text of `contact_id`'s replies in every webhook payload, queued or
    delivered (an erasure: the inbound messages themselves lose their text too); returns
    how many payloads changed. A queued delivery then goes out, signed, without it."""
    # Payloads are compact JSON (`encode`): the id is followed by "," or "}".
    spelled = f'"contact_id":{int(contact_id)}'
    rows = session.execute(
        select(col(WebhookDelivery.id), col(WebhookDelivery.payload)).where(
            col(WebhookDelivery.event) == REPLY,
            or_(
                col(WebhookDelivery.payload).contains(spelled + ",", autoescape=True),
                col(WebhookDelivery.payload).contains(spelled + "}", autoescape=True),
            ),
        )
    ).all()
    changed = []
    for delivery_id, payload in rows:
        event = json.loads(payload)
        if event.get("contact_id") == contact_id and event.get("text"):
            changed.append({"id": delivery_id, "payload": encode({**event, "text": ""})})
    if changed:
        session.execute(update(WebhookDelivery), changed)  # by primary key
    return len(changed)
