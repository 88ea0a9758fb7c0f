"""Coupons: one code per recipient and coupon block, generated or drawn from a pool, and
redeemed exactly once.

Every function takes the session keyword-only and only flushes; the edge commits. The
database keeps the promises (one code per recipient, each code once, one redemption), so
they hold across processes and under concurrent requests, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session

from landing_templates.coupon_codes import (
    MAX_SHARE,
    Pattern,
    check_code,
    validate_pattern,
)
from landing_templates.coupon_models import Coupon, CouponPool
from landing_templates.coupon_pools import PoolImportReport, import_pool
from landing_templates.coupon_svg import barcode_svg, ean13_check_digit, qr_svg
from richsms.clock import Clock
from richsms.errors import Conflict, InvalidInput, NotFound

__all__ = [
    "BulkAssignment",
    "Coupon",
    "CouponPool",
    "CouponState",
    "PoolCounts",
    "PoolExhausted",
    "PoolImportReport",
    "assign_coupon",
    "assign_coupons_bulk",
    "barcode_svg",
    "coupon_state",
    "get_pool",
    "import_pool",
    "pool_counts",
    "qr_svg",
    "redeem_coupon",
    "validate_pattern",
]

SOURCES = ("generate", "pool")
# A fresh random code collides with an existing one only when the pattern is filling up;
# a few more draws settle it, and many failures in a row mean the pattern is spent.
ATTEMPTS = 20
CHUNK = 1000
TEXT_MAX = 200
_T = Coupon.__table__  # type: ignore[attr-defined]


class PoolExhausted(Conflict):
    code = "pool_exhausted"


class BulkAssignment(dict[int, str]):
    """contact id → code for every contact served; `unserved` lists the contacts the pool
    ran out for (production errors for the campaign to report, never duplicates)."""

    def __init__(self) -> None:
        super().__init__()
        self.unserved: list[int] = []


@dataclass(frozen=True)
class CouponState:
    code: str
    state: str  # "valid" or "redeemed"
    pool_id: int | None
    page_id: int | None
    block_id: str | None
    contact_id: int | None
    campaign_id: int | None
    assigned_at: datetime | None
    redeemed_at: datetime | None
    redeemed_by: str | None
    redeemed_location: str | None


@dataclass(frozen=True)
class PoolCounts:
    size: int
    assigned: int
    redeemed: int

    @property
    def available(self) -> int:
        return self.size - self.assigned


def _source(source: str, pattern: str | None, pool_id: int | None) -> Pattern | None:
    """The parsed pattern for `generate`, None for `pool`; InvalidInput for anything else."""
    if source == "generate":
        return validate_pattern(pattern or "")
    if source == "pool":
        if pool_id is None:
            raise InvalidInput("a pool coupon needs a pool_id")
        return None
    raise InvalidInput(f"coupon source must be one of {', '.join(SOURCES)}, not {source!r}")


def _pool(session: Session, pool_id: int) -> CouponPool:
    pool = session.get(CouponPool, pool_id)
    if pool is None:
        raise NotFound(f"no coupon pool {pool_id}")
    return pool


def _existing(session: Session, page_id: int, block_id: str, contact_id: int) -> Coupon | None:
    return _one(
        session, _T.c.page_id == page_id, _T.c.block_id == block_id, _T.c.contact_id == contact_id
    )


def _one(session: Session, *conditions: ColumnElement[bool]) -> Coupon | None:
    """The coupon matching `conditions`, re-read from the database (never a stale copy)."""
    query = select(Coupon).where(*conditions).execution_options(populate_existing=True)
    found: Coupon | None = session.scalars(query).one_or_none()
    return found


def _free_codes(session: Session, pool_id: int, count: int, after: int = 0) -> list[int]:
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


def _assignment(
    clock: Clock, page_id: int, block_id: str, contact_id: int, campaign_id: int | None
) -> dict[str, Any]:
    return {
        "page_id": page_id,
        "block_id": block_id,
        "contact_id": contact_id,
        "campaign_id": campaign_id,
        "assigned_at": clock.now(),
    }


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
    existing = _existing(session, page_id, block_id, contact_id)
    if existing is not None:
        return existing
    parsed = _source(source, pattern, pool_id)
    if parsed is None:
        assert pool_id is not None
        _pool(session, pool_id)
    for _ in range(ATTEMPTS):
        try:
            with session.begin_nested():
                if parsed is not None:
                    coupon = Coupon(
                        code=parsed.make(),
                        created_at=clock.now(),
                        **_assignment(clock, page_id, block_id, contact_id, campaign_id),
                    )
                    session.add(coupon)
                    session.flush()
                    return coupon
                assert pool_id is not None
                drawn = _free_codes(session, pool_id, 1)
                if not drawn:
                    raise PoolExhausted(f"coupon pool {pool_id} has no code left")
                session.execute(
                    update(_T)
                    .where(_T.c.id == drawn[0], _T.c.assigned_at.is_(None))
                    .values(**_assignment(clock, page_id, block_id, contact_id, campaign_id))
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


def _by_id(session: Session, coupon_id: int) -> Coupon:
    found = _one(session, _T.c.id == coupon_id)
    assert found is not None
    return found


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def assign_coupons_bulk(
    *,
    session: Session,
    clock: Clock,
    page_id: int,
    block_id: str,
    contact_ids: Iterable[int],
    source: str,
    pattern: str | None,
    pool_id: int | None,
    campaign_id: int | None = None,
) -> BulkAssignment:
    """Coupons for many recipients at once (planning), in set-based batches: contacts who
    already have one keep it; when a pool runs out, the contacts left are listed in
    `unserved` rather than given anything."""
    # Ascending ids: concurrent planners lock recipients in the same order, never in a cycle.
    ids = sorted(set(contact_ids))
    parsed = _source(source, pattern, pool_id)
    if parsed is None:
        assert pool_id is not None
        _pool(session, pool_id)
    elif len(ids) > parsed.combinations * MAX_SHARE:
        raise InvalidInput(
            f"coupon pattern {parsed.text!r} allows {parsed.combinations:,} codes, too few "
            f"for {len(ids):,} recipients; use a longer pattern"
        )
    result = BulkAssignment()
    exhausted = False
    drawn_up_to = [0]  # the last pool code id this call drew
    for chunk in _chunks(ids, CHUNK):
        rows = session.execute(
            select(_T.c.contact_id, _T.c.code).where(
                _T.c.page_id == page_id,
                _T.c.block_id == block_id,
                # A range, not IN: PostgreSQL then always searches the index by contact,
                # even before the planning's first statistics (with IN it may scan every
                # coupon of the block for each batch, which grows quadratic).
                _T.c.contact_id.between(chunk[0], chunk[-1]),
            )
        ).all()
        wanted = set(chunk)
        result.update({contact: code for contact, code in rows if contact in wanted})
        todo = [c for c in chunk if c not in result]
        if not todo:
            continue
        if exhausted:
            result.unserved.extend(todo)
            continue
        values = _assignment(clock, page_id, block_id, 0, campaign_id)
        try:
            with session.begin_nested():
                if parsed is None:
                    assert pool_id is not None
                    served = _draw_many(session, pool_id, todo, values, drawn_up_to)
                else:
                    served = _generate_many(session, clock, parsed, todo, values)
        except IntegrityError:
            # A concurrent request assigned some of these meanwhile: settle them one by one
            # (the codes this batch drew went back to the pool with its savepoint).
            drawn_up_to[0] = 0
            served = _assign_each(
                session, clock, page_id, block_id, todo, source, pattern, pool_id, campaign_id
            )
        result.update(served)
        missing = [c for c in todo if c not in served]
        if missing:
            exhausted = True
            result.unserved.extend(missing)
    return result


def _draw_many(
    session: Session,
    pool_id: int,
    contacts: list[int],
    values: dict[str, Any],
    drawn_up_to: list[int],
) -> dict[int, str]:
    free = _free_codes(session, pool_id, len(contacts), after=drawn_up_to[0])
    pairs = list(zip(contacts, free, strict=False))
    if not pairs:
        return {}
    drawn_up_to[0] = free[-1]
    session.execute(
        update(_T)
        .where(_T.c.id == bindparam("b_id"), _T.c.assigned_at.is_(None))
        .values({**values, "contact_id": bindparam("b_c")}),
        [{"b_id": coupon_id, "b_c": contact} for contact, coupon_id in pairs],
    )
    codes = {
        coupon_id: code
        for coupon_id, code in session.execute(select(_T.c.id, _T.c.code).where(_T.c.id.in_(free)))
    }
    return {contact: codes[coupon_id] for contact, coupon_id in pairs}


def _generate_many(
    session: Session,
    clock: Clock,
    parsed: Pattern,
    contacts: list[int],
    values: dict[str, Any],
) -> dict[int, str]:
    codes: dict[int, str] = {}
    taken: set[str] = set()
    pending = list(contacts)
    for _ in range(ATTEMPTS):
        fresh = {}
        for contact in pending:
            code = parsed.make()
            if code not in taken:
                taken.add(code)
                fresh[contact] = code
        clashes = set(
            session.execute(select(_T.c.code).where(_T.c.code.in_(list(fresh.values()))))
            .scalars()
            .all()
        )
        codes.update({c: code for c, code in fresh.items() if code not in clashes})
        pending = [c for c in pending if c not in codes]
        if not pending:
            break
    else:
        raise Conflict(
            f"no free codes found for pattern {parsed.text!r}: the pattern is running out "
            "of codes; use a longer one",
            code="pattern_exhausted",
        )
    now = clock.now()
    session.execute(
        insert(_T),
        [{**values, "contact_id": c, "code": code, "created_at": now} for c, code in codes.items()],
    )
    return codes


def _assign_each(
    session: Session,
    clock: Clock,
    page_id: int,
    block_id: str,
    contacts: list[int],
    source: str,
    pattern: str | None,
    pool_id: int | None,
    campaign_id: int | None,
) -> dict[int, str]:
    served: dict[int, str] = {}
    for contact in contacts:
        try:
            coupon = assign_coupon(
                session=session,
                clock=clock,
                page_id=page_id,
                block_id=block_id,
                contact_id=contact,
                source=source,
                pattern=pattern,
                pool_id=pool_id,
                campaign_id=campaign_id,
            )
        except PoolExhausted:
            break
        served[contact] = coupon.code
    return served


def _clean(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > TEXT_MAX:
        raise InvalidInput(f"{what} has at most {TEXT_MAX} characters")
    return value or None


def _scanned(session: Session, code: str) -> str:
    """The stored code a scan stands for: an EAN-13 scanner reads a 12-digit code with the
    check digit the barcode added, which names the 12-digit coupon."""
    if (
        len(code) == 13
        and code.isascii()
        and code.isdigit()
        and int(code[12]) == ean13_check_digit(code[:12])
        and session.execute(select(_T.c.id).where(_T.c.code == code)).first() is None
        and session.execute(select(_T.c.id).where(_T.c.code == code[:12])).first() is not None
    ):
        return code[:12]
    return code


def _find(session: Session, code: str) -> Coupon | None:
    if check_code(code) is not None:
        return None
    found = _one(session, _T.c.code == _scanned(session, code))
    # A pool code nobody has drawn yet is not a coupon anyone holds.
    return found if found is not None and found.assigned_at is not None else None


def redeem_coupon(
    *, session: Session, clock: Clock, code: str, by: str | None, location: str | None
) -> Coupon:
    """Mark the coupon used, exactly once: NotFound for an unknown code, Conflict (code
    `already_redeemed`) for every attempt after the first."""
    by = _clean(by, "by")
    location = _clean(location, "location")
    changed = 0
    if check_code(code) is None:
        code = _scanned(session, code)
        # One conditional UPDATE: whichever transaction gets the row first redeems it;
        # every other sees `redeemed_at` set (PostgreSQL re-reads the row after the
        # winner commits; SQLite runs one writer at a time) and changes nothing.
        result = session.execute(
            update(_T)
            .where(
                _T.c.code == code,
                _T.c.assigned_at.is_not(None),
                _T.c.redeemed_at.is_(None),
            )
            .values(redeemed_at=clock.now(), redeemed_by=by, redeemed_location=location)
        )
        changed = result.rowcount  # type: ignore[attr-defined]
    coupon = _find(session, code)
    if coupon is None:
        raise NotFound(f"no coupon {code[:80]}")
    if changed != 1:
        assert coupon.redeemed_at is not None
        who = f" by {coupon.redeemed_by}" if coupon.redeemed_by else ""
        raise Conflict(
            f"coupon {code} was already redeemed on {coupon.redeemed_at.isoformat()}{who}",
            code="already_redeemed",
        )
    return coupon


def coupon_state(*, session: Session, code: str) -> CouponState:
    coupon = _find(session, code)
    if coupon is None:
        raise NotFound(f"no coupon {code[:80]}")
    return CouponState(
        code=coupon.code,
        state="redeemed" if coupon.redeemed_at is not None else "valid",
        pool_id=coupon.pool_id,
        page_id=coupon.page_id,
        block_id=coupon.block_id,
        contact_id=coupon.contact_id,
        campaign_id=coupon.campaign_id,
        assigned_at=coupon.assigned_at,
        redeemed_at=coupon.redeemed_at,
        redeemed_by=coupon.redeemed_by,
        redeemed_location=coupon.redeemed_location,
    )


def get_pool(*, session: Session, pool_id: int) -> CouponPool:
    return _pool(session, pool_id)


def pool_counts(*, session: Session, pool_id: int) -> PoolCounts:
    _pool(session, pool_id)
    size, assigned, redeemed = session.execute(
        select(
            func.count(),
            func.count(_T.c.assigned_at),
            func.count(_T.c.redeemed_at),
        ).where(_T.c.pool_id == pool_id)
    ).one()
    return PoolCounts(size=size, assigned=assigned, redeemed=redeemed)
