"""Giving a recipient their coupon for one block of a page: the one they have, or a new
code generated from the block's pattern or drawn from its pool.

The database keeps the promises (one code per recipient and block, each code once), so
they hold across processes and concurrent requests, on SQLite and PostgreSQL. Functions
take the session keyword-only and only flush; the edge commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session

from landing_templates.coupons.codes import Pattern, validate_pattern
from landing_templates.coupons.models import Coupon, CouponPool
from richsms.clock import Clock
from richsms.db import get_or_not_found
from richsms.errors import Conflict, InvalidInput, NotFound

SOURCES = ("generate", "pool")
# A fresh random code collides with an existing one only when the pattern is filling up;
# a few more draws settle it, and many failures in a row mean the pattern is spent.
ATTEMPTS = 20
_T = Coupon.__table__  # type: ignore[attr-defined]


class PoolExhausted(Conflict):
    code = "pool_exhausted"


def parse_source(source: str, pattern: str | None, pool_id: int | None) -> Pattern | None:
    """The parsed pattern for `generate`, None for `pool`; InvalidInput for anything else."""
    if source == "generate":
        return validate_pattern(pattern or "")
    if source == "pool":
        if pool_id is None:
            raise InvalidInput("a pool coupon needs a pool_id")
        return None
    raise InvalidInput(f"coupon source must be one of {', '.join(SOURCES)}, not {source!r}")


def existing_pool(session: Session, pool_id: int) -> CouponPool:
    pool = get_or_not_found(session, CouponPool, pool_id, f"no coupon pool {pool_id}")
    if pool.filled_at is None:  # a pool still being imported is not one yet
        raise NotFound(f"no coupon pool {pool_id}")
    return pool


def _existing(session: Session, page_id: int, block_id: str, contact_id: int) -> Coupon | None:
    return find_one(
        session, _T.c.page_id == page_id, _T.c.block_id == block_id, _T.c.contact_id == contact_id
    )


def find_one(session: Session, *conditions: ColumnElement[bool]) -> Coupon | None:
    """The coupon matching `conditions`, re-read from the database (never a stale copy)."""
    query = select(Coupon).where(*conditions).execution_options(populate_existing=True)
    found: Coupon | None = session.scalars(query).one_or_none()
    return found


def free_codes(session: Session, pool_id: int, count: int, after: int = 0) -> list[int]:
    """Ids (past `after`) of up to `count` unassigned codes of the pool, locked for this
    transaction.

    PostgreSQL skips codes another transaction is drawing, so concurrent draws never
    wait for each other nor take the same code; SQLite runs one writer at a time. A bulk
    draw passes the last id it took: the codes it drew earlier in the same transaction
    are still in the index, and starting past them keeps each batch's scan short."""
    query = (
        select(_T.c.id)
        .where(_T.c.pool_id == pool_id, _T.c.assigned_at.is_(None), _T.c.id > after)
        .order_by(_T.c.id)
        .limit(count)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.execute(query).scalars())


def assignment_values(
    clock: Clock, page_id: int, block_id: str, contact_id: int, campaign_id: int | None
) -> dict[str, Any]:
    return {
        "page_id": page_id,
        "block_id": block_id,
        "contact_id": contact_id,
        "campaign_id": campaign_id,
        "assigned_at": clock.now(),
    }


@dataclass(frozen=True, slots=True)
class CouponSlot:
    """A page's coupon block as assigning sees it: where its codes come from (`source`,
    `pattern` or `pool_id`) and the campaign its coupons count for."""

    page_id: int
    block_id: str
    source: str
    pattern: str | None
    pool_id: int | None
    campaign_id: int | None = None


def assign_coupon(
    *,
    session: Session,
    clock: Clock,
    page_id: int,
    block_id: str,
    contact_id: int,
    source: str,
    pattern: str | None,
    pool_id: int | None,
    campaign_id: int | None = None,
) -> Coupon:
    """The recipient's coupon for this block of this page: the one they already have, or
    a new one. Raises PoolExhausted when the pool has no code left."""
    slot = CouponSlot(page_id, block_id, source, pattern, pool_id, campaign_id)
    return assign_to(session=session, clock=clock, slot=slot, contact_id=contact_id)


def assign_to(*, session: Session, clock: Clock, slot: CouponSlot, contact_id: int) -> Coupon:
    """`assign_coupon` for a caller holding the block's `CouponSlot`."""
    page_id, block_id, campaign_id = slot.page_id, slot.block_id, slot.campaign_id
    pattern, pool_id = slot.pattern, slot.pool_id
    existing = _existing(session, page_id, block_id, contact_id)
    if existing is not None:
        return existing
    parsed = parse_source(slot.source, pattern, pool_id)
    if parsed is None:
        assert pool_id is not None
        existing_pool(session, pool_id)
    for _ in range(ATTEMPTS):
        try:
            with session.begin_nested():
                if parsed is not None:
                    coupon = Coupon(
                        code=parsed.make(),
                        created_at=clock.now(),
                        **assignment_values(clock, page_id, block_id, contact_id, campaign_id),
                    )
                    session.add(coupon)
                    session.flush()
                    return coupon
                assert pool_id is not None
                drawn = free_codes(session, pool_id, 1)
                if not drawn:
                    raise PoolExhausted(f"coupon pool {pool_id} has no code left")
                session.execute(
                    update(_T)
                    .where(_T.c.id == drawn[0], _T.c.assigned_at.is_(None))
                    .values(**assignment_values(clock, page_id, block_id, contact_id, campaign_id))
                )
            return _by_id(session, drawn[0])
        except IntegrityError:
            # Either this recipient got their coupon from a concurrent request (keep that
            # one), or the random code was taken (draw another).
            existing = _existing(session, page_id, block_id, contact_id)
            if existing is not None:
                return existing
    raise Conflict(
        f"no free code found for pattern {pattern!r} after {ATTEMPTS} attempts: "
        "the pattern is running out of codes; use a longer one",
        code="pattern_exhausted",
    )


def release_coupons(
    *, session: Session, campaign_id: int, contacts: Select[Any]
) -> int:
    """The campaign's coupons of `contacts` (a query of contact ids) that nobody redeemed
    go back: a generated code is deleted, a pool's code is free again. A cancelled
    campaign's recipients who never got their message then get a coupon of their own from
    the next campaign with the page, never this one's. Returns how many; flushes."""
    mine = and_(
        _T.c.campaign_id == campaign_id,
        _T.c.redeemed_at.is_(None),
        _T.c.contact_id.in_(contacts.scalar_subquery()),
    )
    deleted = session.execute(delete(_T).where(mine, _T.c.pool_id.is_(None)))
    freed = session.execute(
        update(_T)
        .where(mine, _T.c.pool_id.is_not(None))
        .values(page_id=None, block_id=None, contact_id=None, campaign_id=None, assigned_at=None)
    )
    session.flush()
    return sum(int(getattr(r, "rowcount", 0) or 0) for r in (deleted, freed))


def _by_id(session: Session, coupon_id: int) -> Coupon:
    found = find_one(session, _T.c.id == coupon_id)
    assert found is not None
    return found
