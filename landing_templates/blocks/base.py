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


Symbology = Literal["code128", "ean13", "qr"]
BARCODES = ("code128", "ean13")


class CouponSpec(BaseModel):
    """Where a recipient's code comes from, how it is drawn and how it is shown: one
    symbology, `both` (a Code 128 barcode and a QR code), or a list of them (at most one
    barcode): every symbol shows the same code."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    source: Literal["generate", "pool"]
    pattern: str | None = Field(None, max_length=64)
    pool_id: int | None = None
    symbology: Symbology | Literal["both"] | tuple[Symbology, ...] = "code128"

    @property
    def symbols(self) -> tuple[str, ...]:
        """The symbols a code is shown as, barcode first."""
        if self.symbology == "both":
            return ("code128", "qr")
        if isinstance(self.symbology, str):
            return (self.symbology,)
        return tuple(sorted(set(self.symbology), key=("code128", "ean13", "qr").index))

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
        if isinstance(self.symbology, tuple):
            if not self.symbology:
                raise ValueError("symbology lists at least one of code128, ean13, qr")
            if sum(1 for s in set(self.symbology) if s in BARCODES) > 1:
                raise ValueError("symbology shows at most one barcode (code128 or ean13)")
        return self


@dataclass(frozen=True, slots=True)
class CouponView:
    """A recipient's code as a block shows it: the text and its symbols (one code, drawn
    once per symbology). A barcode carries the bare code for checkout scanners, a QR
    `qr_data` (the staff redemption address). The SVGs are drawn only when a block renders
    them (a block's output is cached per code)."""

    code: str
    symbols: tuple[str, ...]
    redeemed: bool = False
    qr_data: str = ""

    @property
    def svgs(self) -> list[tuple[str, str]]:
        """(symbology, SVG) of each symbol, in the order shown."""
        from landing_templates.coupons.svg import barcode_svg, qr_svg

        return [
            (symbol, qr_svg(self.qr_data or self.code) if symbol == "qr"
             else barcode_svg(self.code, symbol))
            for symbol in self.symbols
        ]


@dataclass(frozen=True, slots=True)
class SpinView:
    prize_index: int
    label: str
    coupon: CouponView | None = None
    text: str = ""  # what the slice says instead of "You won: {label}" (a losing slice)


@dataclass(frozen=True, slots=True)
class Recipient:
    """Everything personal a page render may use, resolved before rendering."""

    contact: Mapping[str, Any]
    now: datetime
    link: str = ""
    token: str | None = None  # the page's /p/{token}; None in previews (nothing to post to)
    coupons: Mapping[str, CouponView] = field(default_factory=dict)
    spins: Mapping[str, SpinView] = field(default_factory=dict)
    revealed: frozenset[str] = frozenset()  # the scratch cards they revealed, by block id


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
