"""The staff redemption page's HTML, in French or English: mobile first, no script, one
inline stylesheet allowed by a CSP nonce."""

from __future__ import annotations

from datetime import datetime

from jinja2 import Environment

from landing_templates.coupons import CouponState

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Coupon",
        "valid": "Valid — not redeemed yet",
        "redeemed": "Already redeemed",
        "redeemed_now": "Redeemed — give the customer their offer",
        "unknown": "Unknown coupon",
        "unknown_help": "No coupon has this code. Check the code the customer shows.",
        "when": "on",
        "by": "by",
        "at": "at",
        "redeem": "Redeem this coupon",
        "location": "Store or till (optional)",
        "signin": "Staff sign-in",
        "signin_help": "Type your staff token once; this phone keeps you signed in today.",
        "token": "Staff token",
        "signin_button": "Sign in",
        "signed_in_as": "Signed in as",
        "bad_token": "This token is not valid (mistyped or revoked).",
        "forged": "This form expired or did not come from this page. Try again.",
        "already": "Refused: this coupon was already redeemed.",
        "signed_out": "Your session has ended: sign in again.",
        "slow_down": "Too many attempts. Wait a minute, then try again.",
    },
    "fr": {
        "title": "Coupon",
        "valid": "Valide — pas encore utilisé",
        "redeemed": "Déjà utilisé",
        "redeemed_now": "Validé — remettez l’offre au client",
        "unknown": "Coupon inconnu",
        "unknown_help": "Aucun coupon ne porte ce code. Vérifiez le code présenté.",
        "when": "le",
        "by": "par",
        "at": "à",
        "redeem": "Valider ce coupon",
        "location": "Magasin ou caisse (facultatif)",
        "signin": "Connexion du personnel",
        "signin_help": "Saisissez votre jeton une fois ; ce téléphone reste connecté aujourd’hui.",
        "token": "Jeton du personnel",
        "signin_button": "Se connecter",
        "signed_in_as": "Connecté en tant que",
        "bad_token": "Ce jeton n’est pas valide (mal saisi ou révoqué).",
        "forged": "Ce formulaire a expiré ou ne vient pas de cette page. Réessayez.",
        "already": "Refusé : ce coupon a déjà été utilisé.",
        "signed_out": "Votre session a pris fin : reconnectez-vous.",
        "slow_down": "Trop de tentatives. Attendez une minute puis réessayez.",
    },
}

PAGE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex">
<title>{{ t.title }} {{ code }}</title>
<style nonce="{{ nonce }}">
*{box-sizing:border-box}body{margin:0;font:18px/1.4 system-ui,sans-serif;color:#111;background:#f4f4f5}
main{max-width:32rem;margin:0 auto;padding:1rem}
.code{font:700 1.6rem ui-monospace,monospace;letter-spacing:.05em;word-break:break-all;margin:.2rem 0 1rem}
.state{padding:1rem;border-radius:.6rem;margin:0 0 1rem;font-weight:600}
.valid{background:#dcfce7;color:#14532d}.redeemed{background:#fee2e2;color:#7f1d1d}
.unknown{background:#e4e4e7;color:#27272a}.note{background:#fef9c3;color:#713f12}
.state p{margin:.3rem 0 0;font-weight:400}
label{display:block;margin:.8rem 0 .3rem}
input{width:100%;font:inherit;padding:.7rem;border:1px solid #71717a;border-radius:.4rem}
button{width:100%;min-height:3.2rem;margin-top:1rem;font:inherit;font-weight:700;color:#fff;
background:#1d4ed8;border:0;border-radius:.6rem}
button:focus-visible,input:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
small{color:#52525b}
</style></head>
<body><main>
<h1>{{ t.title }}</h1>
<p class="code">{{ code }}</p>
{% if message %}<p class="state note" role="alert">{{ t[message] }}</p>{% endif %}
{% if action == "signin" %}
<h2>{{ t.signin }}</h2><p><small>{{ t.signin_help }}</small></p>
<form method="post">
<input type="hidden" name="action" value="signin"><input type="hidden" name="csrf" value="{{ form_token }}">
<label for="token">{{ t.token }}</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
<button type="submit">{{ t.signin_button }}</button>
</form>
{% elif coupon is none %}
<div class="state unknown" role="status">{{ t.unknown }}<p>{{ t.unknown_help }}</p></div>
{% elif coupon.state == "redeemed" %}
<div class="state {{ 'valid' if redeemed_now else 'redeemed' }}" role="status" id="state">
{{ t.redeemed_now if redeemed_now else t.redeemed }}
<p>{{ t.when }} {{ when(coupon.redeemed_at) }}{% if coupon.redeemed_by %} {{ t.by }} {{ coupon.redeemed_by }}{% endif %}{% if coupon.redeemed_location %} {{ t.at }} {{ coupon.redeemed_location }}{% endif %}</p>
</div>
{% else %}
<div class="state valid" role="status" id="state">{{ t.valid }}</div>
<form method="post">
<input type="hidden" name="action" value="redeem"><input type="hidden" name="csrf" value="{{ form_token }}">
<label for="location">{{ t.location }}</label>
<input id="location" name="location" maxlength="200" autocomplete="organization">
<button type="submit">{{ t.redeem }}</button>
</form>
{% endif %}
{% if staff %}<p><small>{{ t.signed_in_as }} {{ staff }}</small></p>{% endif %}
</main></body></html>
"""  # noqa: E501  (markup reads better unwrapped)

_ENV = Environment(autoescape=True)
_TEMPLATE = _ENV.from_string(PAGE)


def when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def render(
    *,
    lang: str,
    code: str,
    staff: str | None,
    coupon: CouponState | None,
    message: str | None,
    redeemed_now: bool,
    action: str,
    form_token: str,
    nonce: str,
) -> str:
    return _TEMPLATE.render(
        lang=lang,
        t=TEXTS[lang],
        code=code[:80],
        staff=staff,
        coupon=coupon,
        message=message,
        redeemed_now=redeemed_now,
        action=action,
        form_token=form_token,
        nonce=nonce,
        when=when,
    )
