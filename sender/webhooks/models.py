"""Webhooks' tables: the subscriptions, their own outbox of deliveries, and the cursors
that turn what happened (clicks, opt-outs, replies, redemptions, receipts) into events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Column, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

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


class EventCursor(SQLModel, table=True):
    """How far each source of events has been read (the last row id turned into events)."""

    __tablename__ = "event_cursor"

    source: str = Field(sa_column=Column(String(32), primary_key=True))
    last_id: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
