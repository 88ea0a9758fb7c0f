"""Coupon SVGs decode back to what they carry: rasterized (cairosvg) and read by a real
barcode decoder (zxing-cpp), as a checkout scanner or a phone camera would."""

from __future__ import annotations

import io
import re

import cairosvg
import pytest
import zxingcpp
from PIL import Image

from landing_templates.coupons.svg import barcode_svg, ean13_check_digit, qr_svg
from richsms.errors import InvalidInput


def decode(svg: str, width: int = 600) -> list[tuple[str, str]]:
    png = cairosvg.svg2png(bytestring=svg.encode(), output_width=width, background_color="white")
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return [(r.format.name, r.text) for r in found]


def test_ean13_gets_its_check_digit_and_decodes() -> None:
    assert ean13_check_digit("400638133393") == 1
    assert decode(barcode_svg("400638133393", "ean13")) == [("EAN13", "4006381333931")]
    assert decode(barcode_svg("4006381333931", "ean13")) == [("EAN13", "4006381333931")]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("4006381333932", "check digit should be 1, not 2"),
        ("40063813339", "12 or 13 digits"),
        ("NOEL-123456", "12 or 13 digits"),
        ("４００６３８１３３３９３", "12 or 13 digits"),  # full-width digits are not digits here
    ],
)
def test_ean13_refuses_what_it_cannot_carry(code: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        barcode_svg(code, "ean13")


def test_code128_carries_the_bare_code() -> None:
    assert decode(barcode_svg("NOEL-048213", "code128")) == [("Code128", "NOEL-048213")]
    with pytest.raises(InvalidInput, match="printable ASCII"):
        barcode_svg("NOËL", "code128")
    with pytest.raises(InvalidInput, match="symbology must be one of"):
        barcode_svg("NOEL", "upca")


def test_qr_carries_the_staff_redemption_address() -> None:
    url = "https://pages.ex.co/r/NOEL-048213"
    assert decode(qr_svg(url), width=400) == [("QRCode", url)]


def test_svgs_are_small_accessible_and_cached() -> None:
    bar = barcode_svg("CACHE-1", "code128")
    qr = qr_svg("https://pages.ex.co/r/CACHE-1")
    for svg, label in ((bar, "Code 128 barcode: CACHE-1"), (qr, "QR code: https://")):
        assert svg.startswith("<svg ") and "<?xml" not in svg and "DOCTYPE" not in svg
        assert 'role="img"' in svg and re.search(f'aria-label="{re.escape(label)}', svg)
        assert "viewBox=" in svg
    assert len(bar) < 1500 and len(qr) < 2500
    hits = barcode_svg.cache_info().hits
    assert barcode_svg("CACHE-1", "code128") is bar  # the same string, not a new render
    assert barcode_svg.cache_info().hits == hits + 1
    assert qr_svg("https://pages.ex.co/r/CACHE-1") is qr


def test_markup_in_a_code_is_escaped_in_the_label() -> None:
    svg = qr_svg('https://pages.ex.co/r/"><script>')
    assert "<script>" not in svg and "&lt;script&gt;" in svg
