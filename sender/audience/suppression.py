"""The suppression list: numbers whose owner opted out and was then erased.

Erasure removes the number with everything else, so without a trace of it an import or
an API call could add the same person again, subscribed, and message them: what they
asked for twice (stop, then forget me) would be undone by a spreadsheet. What is kept
is a salted SHA-256 of the number, never the number: enough to recognise it when it
comes back, not to list anyone. The salt is drawn at random, once per database, and
lives beside the list.

A number on the list is created opted out (`opted_out_via` "suppression list"), by an
import or one at a time; only its owner can opt back in (START), which takes it off.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Column, String, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel, col

from richsms.types import UTCDateTime

VIA: Final = "suppression list"
CHUNK: Final = 500


class SuppressedPhone(SQLModel, table=True):
    __tablename__ = "suppressed_phone"

    digest: str = Field(sa_column=Column(String(64), primary_key=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class SuppressionSalt(SQLModel, table=True):
    __tablename__ = "suppression_salt"

    id: int = Field(default=1, primary_key=True)
    salt: str = Field(sa_column=Column(String(64), nullable=False))


def suppress(*, session: Session, phones: Iterable[str], now: datetime) -> int:
    """Put these E.164 numbers on the list (those on it already stay); flushes."""
    digests = _digests(session, phones, draw=True)
    if not digests:
        return 0
    session.execute(
        _insert(session)(SuppressedPhone).on_conflict_do_nothing(),
        [{"digest": d, "created_at": now} for d in digests.values()],
    )
    return len(digests)


def suppressed(*, session: Session, phones: Iterable[str]) -> set[str]:
    """Which of these E.164 numbers are on the list."""
    digests = _digests(session, phones)
    found: set[str] = set()
    by_digest = {d: phone for phone, d in digests.items()}
    keys = list(by_digest)
    for start in range(0, len(keys), CHUNK):
        rows = session.execute(
            select(col(SuppressedPhone.digest)).where(
                col(SuppressedPhone.digest).in_(keys[start : start + CHUNK])
            )
        ).scalars()
        found.update(by_digest[d] for d in rows)
    return found


def unsuppress(*, session: Session, phone: str) -> None:
    """Take a number off the list (its owner opted back in)."""
    digest = _digests(session, [phone]).get(phone)
    if digest is not None:
        session.execute(delete(SuppressedPhone).where(col(SuppressedPhone.digest) == digest))


def _digests(session: Session, phones: Iterable[str], *, draw: bool = False) -> dict[str, str]:
    """The digest of each number; none before the first `suppress` (`draw`) made a salt:
    until then nothing is on the list, and reading it writes nothing."""
    wanted = set(phones)
    if not wanted:
        return {}
    salt = _salt(session, draw)
    if salt is None:
        return {}
    return {p: hashlib.sha256(salt.encode() + p.encode()).hexdigest() for p in wanted}


def _salt(session: Session, draw: bool) -> str | None:
    """The database's salt, drawn by the first `suppress` (two processes drawing at
    once: the first insert wins and both read it)."""
    found = session.execute(select(col(SuppressionSalt.salt))).scalar_one_or_none()
    if found is not None or not draw:
        return None if found is None else str(found)
    session.execute(
        _insert(session)(SuppressionSalt)
        .values(id=1, salt=secrets.token_hex(32))
        .on_conflict_do_nothing()
    )
    return str(session.execute(select(col(SuppressionSalt.salt))).scalar_one())


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
