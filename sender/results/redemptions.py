"""Redeeming a coupon, as staff or a checkout do it: once only (the coupon module's
conditional update), and told to the webhooks registered for redemptions, in the same
transaction, so that a redemption and its event exist together or not at all."""

from __future__ import annotations

from sqlmodel import Session

from landing_templates.coupon_models import Coupon
from landing_templates.coupons import redeem_coupon
from richsms.clock import Clock
from sender.webhooks.events import emit_event


def redeem(
    *, session: Session, clock: Clock, code: str, by: str | None, location: str | None
) -> Coupon:
    """`redeem_coupon`, then the `redemption` event; flushes, the caller commits."""
    coupon = redeem_coupon(session=session, clock=clock, code=code, by=by, location=location)
    emit_event(
        session=session,
        clock=clock,
        event="redemption",
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
