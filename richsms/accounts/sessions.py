"""Signed-in sessions, kept in the database so that signing out and changing a password
end them on the server, in every process, whatever a copied cookie says.

A session is a row naming its user and the digest of the random nonce the signed cookie
carries (web/sessions.py); the cookie is worth something only while its row is open.
Checking one only reads; rows are written when someone signs in, signs out or changes
their password. A user's rows older than the longest session are deleted when they sign
in again, so the table stays as small as the number of people signed in.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import Column, ForeignKey, Integer, String, delete, update
from sqlmodel import Field, Session, SQLModel, col, select

from richsms.types import UTCDateTime


class UserSession(SQLModel, table=True):
    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("admin_user.id"), nullable=False, index=True)
    )
    nonce_digest: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


def _digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def start_session(
    *, session: Session, user_id: int, nonce: str, now: datetime, lifetime: timedelta
) -> None:
    """Open a session for the cookie carrying `nonce` (flushes only); the user's expired
    or ended ones go."""
    session.execute(
        delete(UserSession).where(
            col(UserSession.user_id) == user_id,
            (col(UserSession.ended_at).is_not(None))
            | (col(UserSession.started_at) <= now - lifetime),
        )
    )
    session.add(UserSession(user_id=user_id, nonce_digest=_digest(nonce), started_at=now))
    session.flush()


def session_open(*, session: Session, user_id: int, nonce: str) -> bool:
    """Is the session of this cookie still open (read only)?"""
    found = session.exec(
        select(col(UserSession.user_id), col(UserSession.ended_at)).where(
            col(UserSession.nonce_digest) == _digest(nonce)
        )
    ).first()
    return found is not None and found[0] == user_id and found[1] is None


def end_session(*, session: Session, nonce: str, now: datetime) -> None:
    """Sign out the cookie carrying `nonce` (flushes only)."""
    session.execute(
        update(UserSession)
        .where(col(UserSession.nonce_digest) == _digest(nonce), col(UserSession.ended_at).is_(None))
        .values(ended_at=now)
    )
    session.flush()


def end_all_sessions(*, session: Session, user_id: int, now: datetime) -> int:
    """Sign the user out everywhere (a password change, a role change); flushes only.
    How many sessions ended."""
    result = session.execute(
        update(UserSession)
        .where(col(UserSession.user_id) == user_id, col(UserSession.ended_at).is_(None))
        .values(ended_at=now)
    )
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)
