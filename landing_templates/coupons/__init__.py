"""Coupons: one code per recipient and coupon block, generated or drawn from a pool, and
redeemed exactly once. The public face of the coupon modules: pages, planning and the API
import from here.

Every function takes the session keyword-only and only flushes; the edge commits.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Final

from sqlalchemy import func, select, update
from sqlmodel import Session

from landing_templates.coupons.assign import (
    CouponSlot,
    PoolExhausted,
    assign_coupon,
    assign_to,
    existing_pool,
    find_one,
    release_coupons,
)
from landing_templates.coupons.bulk import BulkAssignment, assign_coupons_bulk
from landing_templates.coupons.codes import check_code, validate_pattern
from landing_templates.coupons.models import Coupon, CouponPool
from landing_templates.coupons.pools import PoolImportReport, import_pool
from landing_templates.coupons.svg import barcode_svg, ean13_check_digit, qr_svg
from richsms.clock import Clock
from richsms.errors import Conflict, InvalidInput, NotFound
from richsms.events import REDEMPTION, emit_event

__all__ = [
    "BulkAssignment",
    "Coupon",
    "CouponPool",
    "CouponSlot",
    "CouponState",
    "PoolCounts",
    "PoolExhausted",
    "PoolImportReport",
    "assign_coupon",
    "assign_coupons_bulk",
    "assign_to",
    "barcode_svg",
    "coupon_state",
    "get_pool",
    "import_pool",
    "pool_counts",
    "qr_svg",
    "redeem_coupon",
    "release_coupons",
    "validate_pattern",
]

TEXT_MAX = 200
_T = Coupon.__table__  # type: ignore[attr-defined]


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


# What a CouponState shows as the coupon's row has it (all but the derived `state`).
_STORED: Final = {f.name for f in fields(CouponState)} - {"state"}


@dataclass(frozen=True)
class PoolCounts:
    size: int
    assigned: int
    redeemed: int

    @property
    def available(self) -> int:
        return self.size - self.assigned


def _clean(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > TEXT_MAX:
        raise InvalidInput(f"{what} has at most {TEXT_MAX} characters")
    if not value.isprintable():
        raise InvalidInput(f"{what} must be plain text (no control characters)")
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
    found = find_one(session, _T.c.code == _scanned(session, code))
    # A pool code nobody has drawn yet is not a coupon anyone holds.
    return found if found is not None and found.assigned_at is not None else None


def redeem_coupon(
    *, session: Session, clock: Clock, code: str, by: str | None, location: str | None
) -> Coupon:
    """Mark the coupon used, exactly once: NotFound for an unknown code, Conflict (code
    `already_redeemed`) for every attempt after the first. The `redemption` event goes to
    the webhooks' outbox in the same transaction, whoever redeems (the API, the staff
    page, the demo): a redemption and its event exist together or not at all."""
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
    emit_event(
        session=session,
        clock=clock,
        event=REDEMPTION,
        payload={
            "id": f"redemption_{coupon.id}",
            "at": coupon.redeemed_at,
            "code": coupon.code,
            "contact_id": coupon.contact_id,
            "campaign_id": coupon.campaign_id,
            "page_id": coupon.page_id,
            "by": coupon.redeemed_by,
            "location": coupon.redeemed_location,
        },
    )
    return coupon


def coupon_state(*, session: Session, code: str) -> CouponState:
    coupon = _find(session, code)
    if coupon is None:
        raise NotFound(f"no coupon {code[:80]}")
    state = "redeemed" if coupon.redeemed_at is not None else "valid"
    return CouponState(state=state, **coupon.model_dump(include=_STORED))


def get_pool(*, session: Session, pool_id: int) -> CouponPool:
    return existing_pool(session, pool_id)


def pool_counts(*, session: Session, pool_id: int) -> PoolCounts:
    existing_pool(session, pool_id)
    size, assigned, redeemed = session.execute(
        select(
            func.count(),
            func.count(_T.c.assigned_at),
            func.count(_T.c.redeemed_at),
        ).where(_T.c.pool_id == pool_id)
    ).one()
    return PoolCounts(size=size, assigned=assigned, redeemed=redeemed)
