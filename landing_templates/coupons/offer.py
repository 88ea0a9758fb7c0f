"""What a coupon is for, in the marketer's words: the page it was shown on and the offer
its block states (a coupon block's label, a scratch card's text, the wheel's prize the
recipient won), as the staff page tells the cashier before they redeem it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from landing_templates.models import Page, PageVersion, WheelSpin

OFFER_MAX = 200


@dataclass(frozen=True, slots=True)
class CouponOffer:
    page_name: str | None
    offer: str | None  # None: the block says nothing of it (a coupon without a label)


def coupon_offer(
    *, session: Session, code: str, page_id: int | None, block_id: str | None
) -> CouponOffer:
    """The offer of the coupon `code` shown by block `block_id` of page `page_id`, as the
    page's published version words it (its newest when it is not published)."""
    if page_id is None:
        return CouponOffer(None, None)  # a pool code handed out by the API
    page = session.get(Page, page_id)
    if page is None:
        return CouponOffer(None, None)
    query = select(PageVersion).where(col(PageVersion.page_id) == page_id)
    if page.published_version is not None:
        query = query.where(col(PageVersion.version) == page.published_version)
    version = session.exec(query.order_by(col(PageVersion.version).desc()).limit(1)).first()
    block = next(
        (b for b in (version.blocks if version else []) if b.get("id") == block_id), {}
    )
    offer: str | None = None
    if block.get("type") == "wheel":
        offer = session.exec(
            select(WheelSpin.label).where(
                col(WheelSpin.page_id) == page_id,
                col(WheelSpin.block_id) == block_id,
                col(WheelSpin.coupon_code) == code,
            )
        ).first()
    elif block.get("type") == "scratch":
        offer = str(block.get("text") or "") or None
    elif block.get("type") == "coupon":
        offer = str(block.get("label") or "") or None
    return CouponOffer(page.name, offer[:OFFER_MAX] if offer else None)
