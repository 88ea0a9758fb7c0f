"""Coupons for a whole audience at once (campaign planning), in set-based batches.

Recipients who already have a coupon keep it (a resumed planning job changes nothing);
when a pool runs out, the recipients left are reported, never given a duplicate.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from landing_templates.coupons.assign import (
    ATTEMPTS,
    CouponSlot,
    PoolExhausted,
    assign_to,
    assignment_values,
    existing_pool,
    free_codes,
    parse_source,
)
from landing_templates.coupons.codes import MAX_SHARE, Pattern
from landing_templates.coupons.models import Coupon
from richsms.clock import Clock
from richsms.errors import Conflict, InvalidInput

CHUNK = 1000
_T = Coupon.__table__  # type: ignore[attr-defined]


class BulkAssignment(dict[int, str]):
    """contact id → code for every contact served; `unserved` lists the contacts the pool
    ran out for (production errors for the campaign to report, never duplicates)."""

    def __init__(self) -> None:
        super().__init__()
        self.unserved: list[int] = []



def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def assign_coupons_bulk(
    *,
    session: Session,
    clock: Clock,
    slot: CouponSlot,
    contact_ids: Iterable[int],
) -> BulkAssignment:
    """Coupons for many recipients at once (planning), in set-based batches: contacts who
    already have one keep it; when a pool runs out, the contacts left are listed in
    `unserved` rather than given anything."""
    # Ascending ids: concurrent planners lock recipients in the same order, never in a cycle.
    ids = sorted(set(contact_ids))
    page_id, block_id, pool_id = slot.page_id, slot.block_id, slot.pool_id
    parsed = parse_source(slot.source, slot.pattern, pool_id)
    if parsed is None:
        assert pool_id is not None
        existing_pool(session, pool_id)
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
        values = assignment_values(clock, page_id, block_id, 0, slot.campaign_id)
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
            served = _assign_each(session, clock, slot, todo)
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
    free = free_codes(session, pool_id, len(contacts), after=drawn_up_to[0])
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
        for contact, code in zip(pending, parsed.many(len(pending)), strict=True):
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
    session: Session, clock: Clock, slot: CouponSlot, contacts: list[int]
) -> dict[int, str]:
    served: dict[int, str] = {}
    for contact in contacts:
        try:
            coupon = assign_to(session=session, clock=clock, slot=slot, contact_id=contact)
        except PoolExhausted:
            break
        served[contact] = coupon.code
    return served
