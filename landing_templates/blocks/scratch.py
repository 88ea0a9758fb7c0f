"""`scratch` {prize: coupon | text, text}: a layer scratched away by finger or mouse (or a
button, for keyboards and screen readers) reveals a message or the recipient's coupon.
A card its recipient revealed stays revealed (the reveal is a page event)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Literal

from pydantic import Field, model_validator

from landing_templates.blocks.base import BlockSettings, CouponSpec, Recipient
from landing_templates.blocks.coupon import coupon_of, showing_coupon


class ScratchSettings(BlockSettings):
    type: Literal["scratch"] = "scratch"
    prize: Literal["coupon", "text"]
    text: str = Field("", max_length=1000)
    coupon: CouponSpec | None = None

    @model_validator(mode="after")
    def _prize(self) -> ScratchSettings:
        if self.prize == "coupon" and self.coupon is None:
            raise ValueError("prize coupon needs coupon settings {source, pattern | pool_id}")
        if self.prize == "text" and not self.text:
            raise ValueError("prize text needs a text")
        return self


def key(settings: BlockSettings, recipient: Recipient) -> Hashable:
    """The card shows the same for the same coupon, scratched or not."""
    return coupon_of(settings, recipient), settings.id in recipient.revealed


def data(settings: BlockSettings, recipient: Recipient) -> dict[str, Any]:
    return {
        "coupon": coupon_of(settings, recipient),
        "revealed": settings.id in recipient.revealed,
    }


BLOCK = showing_coupon("scratch", ScratchSettings, "text", data=data, key=key)
