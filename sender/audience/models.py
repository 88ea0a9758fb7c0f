"""The audience's tables: contacts and their consent events, groups and their members,
segments, custom fields."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    String,
)
from sqlmodel import Field, SQLModel

from richsms.types import UTCDateTime, json_column


class Contact(SQLModel, table=True):
    __tablename__ = "contact"

    id: int | None = Field(default=None, primary_key=True)
    phone: str = Field(sa_column=Column(String(20), nullable=False, unique=True))
    first_name: str = Field(default="", sa_column=Column(String(200), nullable=False))
    last_name: str = Field(default="", sa_column=Column(String(200), nullable=False))
    email: str = Field(default="", sa_column=Column(String(320), nullable=False))
    # fr or en; None: not said, read from the number when needed
    # (sender/audience/recipient_locale.py).
    language: str | None = Field(default=None, sa_column=Column(String(8)))
    # IANA zones, space-separated: a number may map to several; quiet hours use them all.
    timezones: str = Field(default="", sa_column=Column(String(500), nullable=False))
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    status: str = Field(default="subscribed", sa_column=Column(String(16), nullable=False))
    consent_type: str | None = Field(default=None, sa_column=Column(String(16)))
    consent_source: str | None = Field(default=None, sa_column=Column(String(200)))
    consent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    opted_out_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    opted_out_via: str | None = Field(default=None, sa_column=Column(String(64)))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ConsentEvent(SQLModel, table=True):
    """Consent history: appended to, never overwritten."""

    __tablename__ = "consent_event"

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(
        sa_column=Column(Integer, ForeignKey("contact.id"), nullable=False, index=True)
    )
    kind: str = Field(
        sa_column=Column(String(16), nullable=False)
    )  # express implied opt_out opt_in
    source: str = Field(default="", sa_column=Column(String(200), nullable=False))
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ContactGroup(SQLModel, table=True):
    __tablename__ = "contact_group"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class GroupMember(SQLModel, table=True):
    __tablename__ = "group_member"

    group_id: int = Field(
        sa_column=Column(Integer, ForeignKey("contact_group.id"), primary_key=True)
    )
    contact_id: int = Field(
        sa_column=Column(Integer, ForeignKey("contact.id"), primary_key=True, index=True)
    )
    added_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Segment(SQLModel, table=True):
    """A dynamic audience: filters evaluated when a campaign sends."""

    __tablename__ = "segment"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    filters: list[dict[str, Any]] = Field(default_factory=list, sa_column=json_column())
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class CustomField(SQLModel, table=True):
    """A custom field some contact has: what templates may name, kept current by imports
    and contact edits (reading it never scans the contacts)."""

    __tablename__ = "custom_field"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
