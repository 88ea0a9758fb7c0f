"""The landing pages' tables: pages, their versions, uploaded images and wheel outcomes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from richsms.types import UTCDateTime, json_column

DRAFT = "draft"
PUBLISHED = "published"
LANGUAGES = ("fr", "en")


class Page(SQLModel, table=True):
    """A page; its content lives in versions. `published_version` is what new links get."""

    __tablename__ = "page"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(200), nullable=False))
    language: str = Field(sa_column=Column(String(8), nullable=False))
    theme: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    status: str = Field(default=DRAFT, sa_column=Column(String(16), nullable=False))
    published_version: int | None = Field(default=None, sa_column=Column(Integer))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class PageVersion(SQLModel, table=True):
    """One version of a page's content; a draft until `published_at` is set, then frozen."""

    __tablename__ = "page_version"
    __table_args__ = (UniqueConstraint("page_id", "version", name="uq_page_version"),)

    id: int | None = Field(default=None, primary_key=True)
    page_id: int = Field(sa_column=Column(Integer, ForeignKey("page.id"), nullable=False))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    theme: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    blocks: list[dict[str, Any]] = Field(default_factory=list, sa_column=json_column())
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    published_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class PageImage(SQLModel, table=True):
    """An uploaded image; its resized renditions are `PageImageRendition` rows."""

    __tablename__ = "page_image"

    id: int | None = Field(default=None, primary_key=True)
    width: int = Field(sa_column=Column(Integer, nullable=False))
    height: int = Field(sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class PageImageRendition(SQLModel, table=True):
    """One width of an image, as WebP without metadata (stored in the database: every
    process serves it, no shared disk needed)."""

    __tablename__ = "page_image_rendition"
    __table_args__ = (UniqueConstraint("image_id", "width", name="uq_image_width"),)

    id: int | None = Field(default=None, primary_key=True)
    image_id: int = Field(sa_column=Column(Integer, ForeignKey("page_image.id"), nullable=False))
    width: int = Field(sa_column=Column(Integer, nullable=False))
    height: int = Field(sa_column=Column(Integer, nullable=False))
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class WheelSpin(SQLModel, table=True):
    """The outcome of a recipient's wheel: drawn once, then the same on every device."""

    __tablename__ = "wheel_spin"
    __table_args__ = (UniqueConstraint("page_id", "block_id", "contact_id", name="uq_wheel_spin"),)

    id: int | None = Field(default=None, primary_key=True)
    page_id: int = Field(sa_column=Column(Integer, ForeignKey("page.id"), nullable=False))
    block_id: str = Field(sa_column=Column(String(64), nullable=False))
    contact_id: int = Field(sa_column=Column(Integer, nullable=False))
    prize_index: int = Field(sa_column=Column(Integer, nullable=False))
    label: str = Field(sa_column=Column(String(200), nullable=False))
    coupon_code: str | None = Field(default=None, sa_column=Column(String(64)))
    spun_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
