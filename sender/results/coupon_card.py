"""What the staff page shows of a code before it is redeemed: the coupon's state, the
offer it is for (`landing_templates.coupons.offer`) and the campaign that gave it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from landing_templates.coupons import CouponState, coupon_state
from landing_templates.coupons.offer import CouponOffer, coupon_offer
from sender.campaigns.models import Campaign


@dataclass(frozen=True, slots=True)
class CouponCard:
    coupon: CouponState
    offer: CouponOffer
    campaign_name: str | None  # None: not given by a campaign (a unitary message, the API)


def coupon_card(*, session: Session, code: str) -> CouponCard:
    """The card of the coupon `code` (a scanned EAN-13 names its 12-digit coupon);
    NotFound for a code nobody holds."""
    state = coupon_state(session=session, code=code)
    offer = coupon_offer(
        session=session, code=state.code, page_id=state.page_id, block_id=state.block_id
    )
    campaign = session.get(Campaign, state.campaign_id) if state.campaign_id else None
    return CouponCard(state, offer, campaign.name if campaign is not None else None)
