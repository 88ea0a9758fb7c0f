"""`scratch` {prize: coupon | text, text}: a layer scratched away by finger or mouse (or a
button, for keyboards and screen readers) reveals a message or the recipient's coupon."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from landing_templates.blocks.base import BlockSettings, CouponSpec
from landing_templates.blocks.coupon import showing_coupon


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


BLOCK = showing_coupon("scratch", ScratchSettings, "text")
