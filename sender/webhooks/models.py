"""Webhooks' own table: the cursors that turn the append-only logs (clicks, opt-outs,
replies) into events. The subscriptions and the outbox of deliveries are the core's
(`richsms.events`), where any package can queue an event."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String
from sqlmodel import Field, SQLModel


class EventCursor(SQLModel, table=True):
    """How far each source of events has been read (the last row id turned into events)."""

    __tablename__ = "event_cursor"

    source: str = Field(sa_column=Column(String(32), primary_key=True))
    last_id: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
