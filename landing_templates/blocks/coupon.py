"""`coupon` {source, pattern | pool_id, symbology}: the recipient's own code, as a barcode
for checkout scanners or a QR of the staff redemption address, with the code in text."""

from __future__ import annotations

from typing import Any, Literal

from landing_templates.blocks.base import (
    BlockSettings,
    BlockType,
    CouponSpec,
    CouponView,
    Recipient,
)


class CouponSettings(BlockSettings, CouponSpec):
    type: Literal["coupon"] = "coupon"
    label: str = ""


def coupon_of(settings: BlockSettings, recipient: Recipient) -> CouponView | None:
    """The block shows the same for the same code (its symbol is drawn once per code).
    The scratch card reveals its coupon the same way, so it uses this and `data` too."""
    return recipient.coupons.get(settings.id)


def data(settings: BlockSettings, recipient: Recipient) -> dict[str, Any]:
    return {"coupon": coupon_of(settings, recipient)}


def showing_coupon(
    name: str, settings: type[BlockSettings], text: str, *, data: Any = data, key: Any = coupon_of
) -> BlockType:
    """A block type that shows the recipient's coupon (the coupon block, the scratch card):
    personal, with its script, rendered once per code (and per what else `key` says)."""
    return BlockType(name, settings, texts=(text,), script=True, personal=True, data=data, key=key)


BLOCK = showing_coupon("coupon", CouponSettings, "label")
