"""What a page view or a spin writes, in the caller's transaction: the recipient's coupons
assigned on their first view (when planning did not assign them), the wheel's outcome
drawn at the first spin. Either then reads what the page shows through the view's own
reader (`view_state`), so that a first view and every later one show the same thing.
"""

from __future__ import annotations

import secrets

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from landing_templates.blocks.base import CouponSpec, SpinView
from landing_templates.blocks.wheel import WheelSettings
from landing_templates.coupons import Coupon, CouponSlot, assign_to
from landing_templates.models import WheelSpin
from landing_templates.render import CompiledPage
from landing_templates.serving import MissingCoupons, coupon_blocks
from landing_templates.view_state import CoreReader, ViewState, read_view_state, spin_view
from richsms.clock import Clock
from richsms.errors import InvalidInput, NotFound
from shortener.resolver import Target

_random = secrets.SystemRandom()


def assigned_view_state(
    *, session: Session, clock: Clock, page: CompiledPage, link: Target, base_url: str
) -> ViewState | None:
    """The view's state (`read_view_state`) for the page link's recipient and token, the
    recipient's missing coupons assigned first, counted for the link's campaign. Flushes;
    the caller commits."""
    contact_id = link.contact_id

    def read() -> ViewState | None:
        return read_view_state(
            CoreReader(session.connection()),
            page=page,
            contact_id=contact_id,
            token=link.page_token,
            base_url=base_url,
            now=clock.now(),
        )

    try:
        return read()
    except MissingCoupons:  # raised only for a contact that exists
        assert contact_id is not None
        assign_coupons(
            session=session,
            clock=clock,
            page=page,
            contact_id=contact_id,
            campaign_id=link.campaign_id,
        )
    return read()


def assign_coupons(
    *, session: Session, clock: Clock, page: CompiledPage, contact_id: int, campaign_id: int | None
) -> None:
    """The recipient's coupon for every block showing one on sight (those held are kept)."""
    for block_id, spec in coupon_blocks(page):
        _assign(session, clock, page, block_id, spec, contact_id, campaign_id)


def _assign(
    session: Session,
    clock: Clock,
    page: CompiledPage,
    block_id: str,
    spec: CouponSpec,
    contact_id: int,
    campaign_id: int | None,
) -> Coupon:
    slot = CouponSlot(
        page.page_id, block_id, spec.source, spec.pattern, spec.pool_id, campaign_id
    )
    return assign_to(session=session, clock=clock, slot=slot, contact_id=contact_id)


def spin_wheel(
    *,
    session: Session,
    clock: Clock,
    page: CompiledPage,
    block_id: str,
    link: Target,
    base_url: str,
) -> SpinView:
    """The page link's recipient's wheel outcome: drawn by weight at the first spin, then
    the same; its coupon counted for the link's campaign."""
    contact_id, campaign_id = link.contact_id, link.campaign_id
    assert contact_id is not None  # the caller refuses a link with no recipient
    block = next((b for b in page.blocks_of("wheel") if b.settings.id == block_id), None)
    if block is None:
        raise NotFound(f"no wheel {block_id!r} on this page")
    settings = block.settings
    assert isinstance(settings, WheelSettings)
    existing = _spin_of(session, page.page_id, block_id, contact_id)
    if existing is None:
        weights = [p.weight for p in settings.prizes]
        index = _random.choices(range(len(weights)), weights=weights)[0]
        prize = settings.prizes[index]
        code = None
        spec = settings.prize_coupon(index)
        if spec is not None:
            code = _assign(session, clock, page, block_id, spec, contact_id, campaign_id).code
        try:
            with session.begin_nested():
                existing = WheelSpin(
                    page_id=page.page_id,
                    block_id=block_id,
                    contact_id=contact_id,
                    prize_index=index,
                    label=prize.label,
                    coupon_code=code,
                    spun_at=clock.now(),
                )
                session.add(existing)
                session.flush()
        except IntegrityError:  # the same recipient spun on another device meanwhile
            existing = _spin_of(session, page.page_id, block_id, contact_id)
            if existing is None:
                raise InvalidInput("the wheel could not be spun; try again") from None
    # The wheel's coupon as a view reads it (redeemed since?), through the view's reader.
    rows = CoreReader(session.connection()).state(page.page_id, contact_id, [block_id])
    held = next(((r.code, r.redeemed_at is not None) for r in rows if r.code), None)
    return spin_view(existing, settings, held, base_url)


def _spin_of(session: Session, page_id: int, block_id: str, contact_id: int) -> WheelSpin | None:
    return session.exec(
        select(WheelSpin).where(
            col(WheelSpin.page_id) == page_id,
            col(WheelSpin.block_id) == block_id,
            col(WheelSpin.contact_id) == contact_id,
        )
    ).first()
