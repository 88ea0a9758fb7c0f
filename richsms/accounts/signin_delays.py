"""Growing delays after wrong passwords, per account and address, in the database (every
process sees them, Redis or not).

After PAIR_FREE wrong passwords for one account from one address (typos cost nothing),
each further one makes that address wait longer before its next try for that account:
1 s, 2 s, 4 s ... at most a minute. The account itself waits the same way once
ACCOUNT_FREE wrong passwords came from anywhere: many addresses guessing together get
one try a minute, and the owner, from an address that never failed, waits a minute at
most. A right password clears both
counts; counts older than FORGET_AFTER start again from zero. A try refused for waiting
is not a failure: hammering does not lengthen the wait.

Keys are digests: the table names neither an email nor an address.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Column, Integer, String, case, delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, Session, SQLModel, col, select

from richsms.types import UTCDateTime

MAX_DELAY: Final = 60
PAIR_FREE: Final = 3
ACCOUNT_FREE: Final = 10
FORGET_AFTER: Final = timedelta(hours=1)


class SigninFailure(SQLModel, table=True):
    __tablename__ = "signin_failure"

    key: str = Field(sa_column=Column(String(64), primary_key=True))
    failures: int = Field(sa_column=Column(Integer, nullable=False))
    last_failed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


def _keys(email: str, address: str) -> tuple[str, str]:
    """(the account-and-address key, the account key)."""
    pair = hashlib.sha256(f"pair\x1f{email}\x1f{address}".encode()).hexdigest()
    account = hashlib.sha256(f"account\x1f{email}".encode()).hexdigest()
    return pair, account


def delay(failures: int, free: int = 0) -> int:
    """Seconds to wait after `failures` wrong passwords, the first `free` costing none."""
    if failures <= free:
        return 0
    return min(MAX_DELAY, int(2 ** min(failures - free - 1, 16)))


def wait_seconds(*, session: Session, email: str, address: str, now: datetime) -> int:
    """How long `address` must wait before trying a password for `email` (0: now)."""
    pair, account = _keys(email, address)
    rows = session.exec(
        select(SigninFailure).where(col(SigninFailure.key).in_((pair, account)))
    ).all()
    wait = 0.0
    for row in rows:
        if now - row.last_failed_at > FORGET_AFTER:
            continue
        free = PAIR_FREE if row.key == pair else ACCOUNT_FREE
        until = row.last_failed_at + timedelta(seconds=delay(row.failures, free))
        wait = max(wait, (until - now).total_seconds())
    return math.ceil(wait)


def record_failure(*, session: Session, email: str, address: str, now: datetime) -> None:
    """Count a wrong password for `email` from `address` (flushes only)."""
    table = SigninFailure.__table__  # type: ignore[attr-defined]
    stale = now - FORGET_AFTER
    rows = [{"key": key, "failures": 1, "last_failed_at": now} for key in _keys(email, address)]
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(table).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "failures": case(
                (table.c.last_failed_at < stale, 1), else_=table.c.failures + 1
            ),
            "last_failed_at": now,
        },
    )
    session.execute(statement)
    session.execute(delete(SigninFailure).where(col(SigninFailure.last_failed_at) < stale))
    session.flush()


def record_success(*, session: Session, email: str, address: str) -> None:
    """The right password: both counts start again (flushes only)."""
    session.execute(
        delete(SigninFailure).where(col(SigninFailure.key).in_(_keys(email, address)))
    )
    session.flush()
