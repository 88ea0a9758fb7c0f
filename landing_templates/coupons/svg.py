"""A coupon's code as a small, accessible SVG: Code128 or EAN-13 for checkout scanners
(python-barcode), QR for a staff phone's camera (segno).

python-barcode's own SVG writer emits an XML declaration, a DOCTYPE and one `<rect>` per
bar in millimetres (3-8 KB); the writer here plugs into the same `BaseWriter` callbacks
and draws every bar into one path on a module grid (under 1 KB), which scales to any width
without blurring. Renders are cached per input: a page shows the same code on every visit.
"""

from __future__ import annotations

import io
from functools import lru_cache
from html import escape
from typing import Any

import barcode
import segno
from barcode.errors import BarcodeError
from barcode.writer import BaseWriter

from richsms.errors import InvalidInput

SYMBOLOGIES = ("code128", "ean13")
BAR_HEIGHT = 50  # in modules: about a quarter of a Code128's width, enough for any scanner
QUIET_ZONE = 11  # modules each side; EAN-13 needs 11 on the left, Code128 10
CACHE_SIZE = 4096


class _PathWriter(BaseWriter):  # type: ignore[misc]
    """Collects bars as (x, width, height) in modules and draws them as one SVG path."""

    def __init__(self) -> None:
        super().__init__(None, self._paint, None, self._finish)
        self._bars: list[tuple[float, float, float]] = []

    def _paint(self, xpos: float, ypos: float, width: float, color: Any) -> None:
        if color == self.foreground:
            self._bars.append((xpos, width, self.module_height))

    def _finish(self) -> list[tuple[float, float, float]]:
        return self._bars


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


@lru_cache(maxsize=CACHE_SIZE)
def barcode_svg(code: str, symbology: str) -> str:
    """`code` as a Code128 or EAN-13 barcode. EAN-13 takes 12 digits (the check digit is
    added) or 13 (the check digit must be right); anything else is InvalidInput."""
    if symbology not in SYMBOLOGIES:
        raise InvalidInput(f"barcode symbology must be one of {', '.join(SYMBOLOGIES)}")
    if symbology == "ean13":
        _check_ean13(code)
    elif not code or len(code) > 80 or not code.isascii() or not code.isprintable():
        raise InvalidInput("a Code128 barcode carries 1 to 80 printable ASCII characters")
    try:
        symbol = barcode.get_barcode_class(symbology)(code)
        writer = _PathWriter()
        writer.set_options(
            {
                "module_width": 1,
                "module_height": BAR_HEIGHT,
                "quiet_zone": QUIET_ZONE,
                "margin_top": 0,
                "margin_bottom": 0,
                "text": "",
                "guard_height_factor": 1.1,
            }
        )
        bars: list[tuple[float, float, float]] = writer.render(symbol.build())
    except BarcodeError as exc:
        raise InvalidInput(f"cannot draw {code!r} as {symbology}: {exc}") from None
    width = _number(max(x + w for x, w, _ in bars) + QUIET_ZONE)
    height = _number(max(h for _, _, h in bars))
    path = "".join(f"M{_number(x)} 0h{_number(w)}v{_number(h)}h-{_number(w)}z" for x, w, h in bars)
    label = escape(f"{'EAN-13' if symbology == 'ean13' else 'Code 128'} barcode: {code}")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{label}" shape-rendering="crispEdges">'
        f"<title>{label}</title>"
        f'<rect width="100%" height="100%" fill="#fff"/><path d="{path}"/></svg>'
    )


def _check_ean13(code: str) -> None:
    if not (code.isascii() and code.isdigit() and len(code) in (12, 13)):
        raise InvalidInput(f"an EAN-13 code is 12 or 13 digits, not {code[:40]!r}")
    expected = ean13_check_digit(code[:12])
    if len(code) == 13 and int(code[12]) != expected:
        raise InvalidInput(
            f"EAN-13 {code}: the check digit should be {expected}, not {code[12]}"
        )


def ean13_check_digit(first_twelve: str) -> int:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first_twelve))
    return (10 - total % 10) % 10


@lru_cache(maxsize=CACHE_SIZE)
def qr_svg(data: str) -> str:
    """`data` (the staff redemption address) as a QR code."""
    if not data or len(data) > 1000:
        raise InvalidInput("a QR code carries 1 to 1000 characters")
    out = io.BytesIO()
    qr = segno.make(data, error="m", micro=False)
    # unit-less, scale 1: the viewBox is the module grid and CSS sizes it.
    qr.save(out, kind="svg", xmldecl=False, svgns=True, scale=1, border=4, nl=False)
    svg = out.getvalue().decode("ascii")
    size = qr.symbol_size(scale=1, border=4)[0]
    label = escape(f"QR code: {data}")
    return svg.replace(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" class="segno">',
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" role="img" '
        f'aria-label="{label}" shape-rendering="crispEdges"><title>{label}</title>'
        f'<rect width="100%" height="100%" fill="#fff"/>',
        1,
    )
