"""What every block type provides: a settings schema, its text settings, its assets, and
the per-recipient data its template needs beyond the settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from richsms.errors import InvalidInput


class BlockSettings(BaseModel):
    """Base of every block's settings. `id` is stable across versions (assigned on save)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field("", max_length=64, pattern=r"^[A-Za-z0-9_-]*$")
    type: str


class CouponSpec(BaseModel):
    """Where a recipient's code comes from and how it is drawn."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    source: Literal["generate", "pool"]
    pattern: str | None = Field(None, max_length=64)
    pool_id: int | None = None
    symbology: Literal["code128", "ean13", "qr"] = "code128"

    @model_validator(mode="after")
    def _source_settings(self) -> CouponSpec:
        if self.source == "generate":
            if not self.pattern:
                raise ValueError("source generate needs a pattern, e.g. NOEL-######")
            from landing_templates.coupons.codes import validate_pattern

            try:
                validate_pattern(self.pattern)
            except InvalidInput as exc:
                raise ValueError(exc.message) from None
        elif self.pool_id is None:
            raise ValueError("source pool needs a pool_id")
        return self


@dataclass(frozen=True, slots=True)
class CouponView:
    """A recipient's code as a block shows it: the text and its symbol. A barcode carries
    the bare code for checkout scanners, a QR `qr_data` (the staff redemption address).
    The SVG is drawn only when a block renders it (a block's output is cached per code)."""

    code: str
    symbology: str
    redeemed: bool = False
    qr_data: str = ""

    @property
    def svg(self) -> str:
        from landing_templates.coupons.svg import barcode_svg, qr_svg

        if self.symbology == "qr":
            return qr_svg(self.qr_data or self.code)
        return barcode_svg(self.code, self.symbology)


@dataclass(frozen=True, slots=True)
class SpinView:
    prize_index: int
    label: str
    coupon: CouponView | None = None


@dataclass(frozen=True, slots=True)
class Recipient:
    """Everything personal a page render may use, resolved before rendering."""

    contact: Mapping[str, Any]
    now: datetime
    link: str = ""
    token: str | None = None  # the page's /p/{token}; None in previews (nothing to post to)
    coupons: Mapping[str, CouponView] = field(default_factory=dict)
    spins: Mapping[str, SpinView] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BlockType:
    """One block type: `texts` are its settings that take merge fields."""

    name: str
    settings: type[BlockSettings]
    texts: tuple[str, ...] = ()
    script: bool = False  # static/blocks/{name}.js is sent with pages that use it
    style: bool = True  # static/blocks/{name}.css is inlined in pages that use it
    personal: bool = False  # its output depends on the recipient beyond its texts
    data: Any = None  # (settings, recipient) -> dict for the template
    # (settings, recipient) -> what of the recipient the output depends on besides its
    # texts (hashable): the rendered block is then cached under it. None: never cached.
    key: Any = None
