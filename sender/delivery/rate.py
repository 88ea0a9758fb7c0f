"""Sending rates held across every worker: token buckets kept in the database.

Each bucket is a `rate_bucket` row: the tokens left and when they were counted. A worker
locks the buckets a batch needs (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE
already makes the transaction exclusive), refills them for the time elapsed, claims at
most as many messages as every bucket has whole tokens, and spends what it claimed, all
in its claim transaction. Several workers therefore share one budget.

A campaign message takes from its campaign's bucket and from its sender number's, so it
goes at min(campaign rate, sender rate) and the sender's rate also holds across campaigns
and unitary sends; a message with neither takes from the default bucket.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col

from sender.campaigns.models import Campaign
from sender.delivery.models import RateBucket, SenderNumber

DEFAULT_KEY = "default"
MAX_RATE = 1e9  # messages per second; anything above is "as fast as possible"


@dataclass(frozen=True, slots=True)
class Limit:
    """A bucket and its rate in tokens (messages) per second."""

    key: str
    rate: float


def campaign_key(campaign_id: int) -> str:
    return f"campaign:{campaign_id}"


def sender_key(sender: str) -> str:
    return f"sender:{sender}"


@dataclass(frozen=True)
class Route:
    """How a group of messages (one campaign, or none, and one sender) goes out: the
    buckets it takes from, and the sender number it goes from with the types it carries
    (none listed: any)."""

    limits: list[Limit]
    sender: str
    allowed_types: list[str] = field(default_factory=list)
    # The sender number's row and kind (short_code, long_code, alphanumeric), when the
    # sender is one we know; recorded on each message it carries.
    number_id: int | None = None
    kind: str = ""

    @property
    def paused(self) -> bool:
        return any(limit.rate <= 0 for limit in self.limits)


def route_for(
    conn: Connection, campaign_id: int | None, sender: str, *, default_rate: float
) -> Route:
    """The buckets of a group: its campaign's, and its sender number's (the message's own
    `sender`, else the campaign's number); the default bucket if it has neither."""
    limits: list[Limit] = []
    sender_id: int | None = None
    if campaign_id is not None:
        found = conn.execute(
            select(col(Campaign.rate), col(Campaign.sender_id)).where(
                col(Campaign.id) == campaign_id
            )
        ).first()
        if found is not None:
            limits.append(Limit(campaign_key(campaign_id), min(found[0], MAX_RATE)))
            sender_id = found[1]
    numbers = select(
        col(SenderNumber.value),
        col(SenderNumber.rate),
        col(SenderNumber.allowed_types),
        col(SenderNumber.id),
        col(SenderNumber.kind),
    )
    number = None
    if sender:
        number = conn.execute(numbers.where(col(SenderNumber.value) == sender)).first()
    elif sender_id is not None:
        number = conn.execute(numbers.where(col(SenderNumber.id) == sender_id)).first()
    if number is None:
        if not limits:
            limits.append(Limit(DEFAULT_KEY, min(default_rate, MAX_RATE)))
        return Route(limits, sender)
    value, rate, allowed, number_id, kind = number
    limits.append(Limit(sender_key(value), min(rate, MAX_RATE)))
    return Route(limits, value, list(allowed or []), number_id, kind)


def capacity(rate: float, burst: float) -> float:
    """The most tokens a bucket holds: `burst` seconds of its rate, at least one message."""
    return max(1.0, rate * burst)


def refill(
    tokens: float, counted_at: datetime, now: datetime, rate: float, cap: float
) -> tuple[float, datetime]:
    """Tokens after refilling from `counted_at` to `now`, and the new count time.

    A clock behind `counted_at` (another worker's host runs ahead) adds nothing and does
    not move the count time back.
    """
    elapsed = (now - counted_at).total_seconds()
    if elapsed <= 0:
        return min(tokens, cap), counted_at
    return min(cap, tokens + elapsed * rate), now


@dataclass
class Budget:
    """Buckets locked for one claim transaction: spend what was claimed, then commit."""

    limits: Sequence[Limit]
    tokens: dict[str, float]
    counted_at: dict[str, datetime]

    @property
    def available(self) -> int:
        """Whole messages every bucket allows now."""
        if not self.limits:
            return 0
        return max(0, math.floor(min(self.tokens[limit.key] for limit in self.limits)))

    def wait(self) -> float:
        """Seconds until every bucket holds a whole token again."""
        waits = [
            (1.0 - self.tokens[limit.key]) / limit.rate
            for limit in self.limits
            if self.tokens[limit.key] < 1.0 and limit.rate > 0
        ]
        return max(waits, default=0.0)

    def spend(self, conn: Connection, count: int) -> None:
        if count <= 0:
            return
        if count > self.available:
            raise ValueError(f"spending {count} tokens, {self.available} available")
        stmt = (
            update(RateBucket)
            .where(col(RateBucket.key) == bindparam("b_key"))
            .values(tokens=bindparam("b_tokens"), updated_at=bindparam("b_at"))
        )
        rows = []
        for limit in self.limits:
            self.tokens[limit.key] -= count
            rows.append(
                {
                    "b_key": limit.key,
                    "b_tokens": self.tokens[limit.key],
                    "b_at": self.counted_at[limit.key],
                }
            )
        conn.execute(stmt, rows)


def lock_budget(conn: Connection, limits: Sequence[Limit], now: datetime, burst: float) -> Budget:
    """Lock and refill the buckets of `limits`; a new bucket starts full.

    Locks are taken in key order, so that two workers needing overlapping buckets never
    deadlock.
    """
    ordered = sorted({limit.key: limit for limit in limits}.values(), key=lambda lim: lim.key)
    keys = [limit.key for limit in ordered]
    rows = _locked(conn, keys)
    missing = [key for key in keys if key not in rows]
    if missing:
        _create(conn, [lim for lim in ordered if lim.key in missing], now, burst)
        rows = _locked(conn, keys)
    tokens: dict[str, float] = {}
    counted_at: dict[str, datetime] = {}
    for limit in ordered:
        stored, at = rows[limit.key]
        tokens[limit.key], counted_at[limit.key] = refill(
            stored, at, now, limit.rate, capacity(limit.rate, burst)
        )
    return Budget(ordered, tokens, counted_at)


def _locked(conn: Connection, keys: list[str]) -> dict[str, tuple[float, datetime]]:
    found = conn.execute(
        select(col(RateBucket.key), col(RateBucket.tokens), col(RateBucket.updated_at))
        .where(col(RateBucket.key).in_(keys))
        .order_by(col(RateBucket.key))
        .with_for_update()
    ).all()
    return {key: (float(tokens), at) for key, tokens, at in found}


def _create(conn: Connection, limits: list[Limit], now: datetime, burst: float) -> None:
    values = [
        {"key": lim.key, "tokens": capacity(lim.rate, burst), "updated_at": now} for lim in limits
    ]
    if conn.dialect.name == "postgresql":
        conn.execute(
            postgresql.insert(RateBucket)
            .values(values)
            .on_conflict_do_nothing(index_elements=["key"])
        )
    else:
        conn.execute(sqlite.insert(RateBucket).values(values).on_conflict_do_nothing())
