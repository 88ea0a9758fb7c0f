"""The link service's tables: links, their clicks, and the change log caches follow."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
)
from sqlmodel import Field, SQLModel

from richsms.types import UTCDateTime


class Link(SQLModel, table=True):
    __tablename__ = "link"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(32), nullable=False, unique=True))
    target_url: str = Field(sa_column=Column(Text, nullable=False))
    page_id: int | None = Field(default=None, sa_column=Column(Integer, index=True))
    # A page link keeps the page version it was sent with; its token is /p/{token}.
    page_version: int | None = Field(default=None, sa_column=Column(Integer))
    page_token: str | None = Field(
        default=None, sa_column=Column(String(32), index=True, unique=True)
    )
    contact_id: int | None = Field(default=None, sa_column=Column(Integer, index=True))
    campaign_id: int | None = Field(default=None, sa_column=Column(Integer, index=True))
    # A campaign's test send: its clicks count in no figure (page, campaign, webhooks).
    is_test: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    disabled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Click(SQLModel, table=True):
    """One request to a short link, stored before its redirect is answered."""

    __tablename__ = "click"
    # One index: a click costs no other to write, and the results' aggregates read it alone.
    __table_args__ = (
        Index("ix_click_link_time", "link_id", "clicked_at", "is_bot", "contact_id"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    # No foreign key: clicks are an append-only log of links that are never deleted, and
    # the constraint's check on every insert cost a third of PostgreSQL's redirect rate.
    link_id: int = Field(sa_column=Column(Integer, nullable=False))
    contact_id: int | None = Field(default=None, sa_column=Column(Integer))
    clicked_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    method: str = Field(sa_column=Column(String(8), nullable=False))
    is_bot: bool = Field(sa_column=Column(Boolean, nullable=False))
    user_agent: str = Field(sa_column=Column(String(512), nullable=False))
    referrer: str = Field(sa_column=Column(String(1024), nullable=False))
    ip: str = Field(sa_column=Column(String(64), nullable=False))
    visitor: str = Field(sa_column=Column(String(32), nullable=False))


class LinkChange(SQLModel, table=True):
    """A link was changed (disabled, expiry moved): every process's cache drops it."""

    __tablename__ = "link_change"

    id: int | None = Field(default=None, primary_key=True)
    link_id: int = Field(sa_column=Column(Integer, ForeignKey("link.id"), nullable=False))
    changed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
