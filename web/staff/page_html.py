"""The staff redemption page's HTML, in French or English: mobile first, one inline
stylesheet and one inline script (the camera scan, `static/staff/scan.js`: without it the
code is typed) allowed by a CSP nonce (`web/templates/staff/coupon.html`)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from richsms import i18n
from richsms.assets import STATIC
from richsms.i18n import N_
from sender.results.coupon_card import CouponCard

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "staff"

_ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, auto_reload=False)
i18n.install(_ENV)

# What `web.staff.redemption` says went wrong, as the page tells it.
MESSAGES = {
    "unknown": N_("Unknown coupon"),
    "bad_token": N_("This token is not valid (mistyped or revoked)."),
    "forged": N_("This form expired or did not come from this page. Try again."),
    "already": N_("Refused: this coupon was already redeemed."),
    "signed_out": N_("Your session has ended: sign in again."),
    "slow_down": N_("Too many attempts. Wait a minute, then try again."),
}


def render(
    *,
    lang: str,
    code: str,
    staff: str | None,
    card: CouponCard | None,
    message: str | None,
    redeemed_now: bool,
    action: str,
    form_token: str,
    nonce: str,
    zone: str = "UTC",
) -> str:
    """The staff page; its times in `zone`, the account's time zone."""
    return _ENV.get_template("coupon.html").render(
        lang=lang,
        zone=zone,
        **i18n.jinja_context(lang),
        code=code[:80],
        staff=staff,
        card=card,
        coupon=card.coupon if card is not None else None,
        scan=_scan_script(),
        message=MESSAGES[message] if message else None,
        redeemed_now=redeemed_now,
        action=action,
        form_token=form_token,
        nonce=nonce,
    )


@cache
def _scan_script() -> Markup:
    return Markup((STATIC / "staff" / "scan.js").read_text(encoding="utf-8").strip())
