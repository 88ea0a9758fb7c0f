"""The coupon tables: pools of imported codes, and every code with its recipient and fate.

One table holds every code, generated or imported, so that one unique index makes each
code unique across the whole installation. An imported code waits in its pool as a row
with no recipient (`assigned_at` empty) until a recipient draws it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from richsms.types import UTCDateTime

CODE_MAX_LENGTH = 64


class CouponPool(SQLModel, table=True):
    """Codes a retailer imported (CSV); recipients draw them one each."""

    __tablename__ = "coupon_pool"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # When its import stored the last code: until then the pool is not shown anywhere
    # (its codes go in over many short transactions; see `coupons.pools`).
    filled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # When its import last stored a batch of codes: an unfilled pool whose import fell
    # silent (its process died) is abandoned, and removed (`coupons.pools`).
    import_seen_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class Coupon(SQLModel, table=True):
    """One code. Assigned once per (page, block, recipient); redeemed at most once."""

    __tablename__ = "coupon"
    __table_args__ = (
        # A recipient gets one coupon per coupon block of a page, however often the page
        # is opened or planned: the database, not the caller, keeps this true.
        UniqueConstraint("page_id", "block_id", "contact_id", name="uq_coupon_recipient"),
        # Drawing from a pool reads the first free code: only free codes are indexed.
        Index(
            "ix_coupon_pool_free",
            "pool_id",
            "id",
            sqlite_where=text("assigned_at IS NULL"),
            postgresql_where=text("assigned_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(CODE_MAX_LENGTH), nullable=False, unique=True))
    pool_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("coupon_pool.id"), nullable=True)
    )
    page_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    block_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    contact_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    campaign_id: int | None = Field(
        default=None, sa_column=Column(Integer, nullable=True, index=True)
    )
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    assigned_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    redeemed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    redeemed_by: str | None = Field(default=None, sa_column=Column(String(200)))
    redeemed_location: str | None = Field(default=None, sa_column=Column(String(200)))
