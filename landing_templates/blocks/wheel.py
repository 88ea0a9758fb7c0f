"""`wheel` {prizes: [{label, weight, coupon, text}], coupon}: spun once per recipient; the
server draws the outcome at the first spin and every later view shows that same prize.

Each slice says what it wins: `coupon` is false (nothing), true (the wheel's own `coupon`
settings) or the slice's own coupon settings (its pattern or pool, its symbology); `text`
is what the page says when the wheel stops there instead of "You won: {label}" (what a
losing slice says)."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from landing_templates.blocks.base import BlockSettings, BlockType, CouponSpec, Recipient

COLOURS = ("#e4572e", "#29335c", "#f3a712", "#669bbc", "#a8c686", "#8e5572")


class Prize(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    label: str = Field(min_length=1, max_length=40)
    weight: float = Field(gt=0, le=1_000_000)
    coupon: bool | CouponSpec = False
    text: str = Field("", max_length=200)


class WheelSettings(BlockSettings):
    type: Literal["wheel"] = "wheel"
    prizes: tuple[Prize, ...] = Field(min_length=2, max_length=12)
    coupon_settings: CouponSpec | None = Field(None, alias="coupon")

    model_config = ConfigDict(populate_by_name=True)

    @model_validator(mode="after")
    def _coupon(self) -> WheelSettings:
        if any(p.coupon is True for p in self.prizes) and self.coupon_settings is None:
            raise ValueError("a prize with coupon: true needs coupon settings on the wheel")
        return self

    def prize_coupon(self, index: int) -> CouponSpec | None:
        """What slice `index` wins: its own coupon settings, the wheel's, or None."""
        coupon = self.prizes[index].coupon
        if isinstance(coupon, CouponSpec):
            return coupon
        return self.coupon_settings if coupon else None


def sectors(settings: WheelSettings) -> list[dict[str, Any]]:
    """SVG paths of equal sectors (weights decide odds, not sizes), label angles."""
    count = len(settings.prizes)
    step = 360 / count
    out = []
    for index, prize in enumerate(settings.prizes):
        start, end = math.radians(index * step - 90), math.radians((index + 1) * step - 90)
        x1, y1 = 100 + 98 * math.cos(start), 100 + 98 * math.sin(start)
        x2, y2 = 100 + 98 * math.cos(end), 100 + 98 * math.sin(end)
        large = 1 if step > 180 else 0
        out.append(
            {
                "path": f"M100 100L{x1:.2f} {y1:.2f}A98 98 0 {large} 1 {x2:.2f} {y2:.2f}Z",
                "colour": COLOURS[index % len(COLOURS)],
                "angle": index * step + step / 2,
                "label": prize.label,
            }
        )
    return out


def landing_angle(settings: WheelSettings, index: int) -> float:
    """The wheel's final rotation so that sector `index` sits under the top pointer."""
    step = 360 / len(settings.prizes)
    return 360 * 5 - (index * step + step / 2)


def data(settings: BlockSettings, recipient: Recipient) -> dict[str, Any]:
    assert isinstance(settings, WheelSettings)
    spin = recipient.spins.get(settings.id)
    return {
        "sectors": sectors(settings),
        "spin": spin,
        "angle": landing_angle(settings, spin.prize_index) if spin else 0,
        "token": recipient.token,
    }


BLOCK = BlockType("wheel", WheelSettings, script=True, personal=True, data=data)
