"""The account's profile: how its messages name the sender. One row; today its brand name,
which every promotional message must contain (Canada's anti-spam law requires the sender
to be identified in each commercial message), and which the SMS analysis checks for
(`sender/compose/identification.py`).

Functions take the session keyword-only and only flush; the edge commits."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import Column, Integer, String
from sqlmodel import Field, Session, SQLModel

from richsms.clock import Clock
from richsms.errors import InvalidInput
from richsms.types import UTCDateTime

MAX_BRAND_NAME: Final = 60
PROFILE_ID: Final = 1  # the account's one profile row


class AccountProfile(SQLModel, table=True):
    """The account's profile (one row, id 1; none until something is set)."""

    __tablename__ = "account_profile"

    id: int = Field(default=PROFILE_ID, sa_column=Column(Integer, primary_key=True))
    brand_name: str | None = Field(default=None, sa_column=Column(String(MAX_BRAND_NAME)))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


def brand_name(session: Session) -> str | None:
    """The brand name set for the account, or None."""
    profile = session.get(AccountProfile, PROFILE_ID)
    return profile.brand_name if profile is not None else None


def set_brand_name(*, session: Session, clock: Clock, brand_name: str | None) -> str | None:
    """Set (or, empty, clear) the brand name; the name as stored. Flushes."""
    name = " ".join((brand_name or "").split()) or None
    if name is not None and len(name) > MAX_BRAND_NAME:
        raise InvalidInput(
            "brand_name: at most {limit} characters", params={"limit": MAX_BRAND_NAME}
        )
    profile = session.get(AccountProfile, PROFILE_ID) or AccountProfile(
        updated_at=clock.now()
    )
    profile.brand_name, profile.updated_at = name, clock.now()
    session.add(profile)
    session.flush()
    return name
