"""Who is signed in to the marketers' UI, and the CSRF token of their forms.

The session is a signed cookie (`HttpOnly`, `SameSite=Lax`, `Secure` outside
development) naming the user, when it was issued and a random nonce; nothing secret is
in it, and it is checked against the user on every request, so deleting a user signs
them out everywhere. Every form and every htmx request carries a CSRF token derived from
the session's nonce (HMAC with the secret key): a page of another site cannot read it,
so it cannot forge a POST even if the browser sends the cookie.

Sign-in attempts are rate-limited per client address and per email address.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from web.context import context

SESSION_COOKIE = "richsms_session"
SESSION_SECONDS = 8 * 3600
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True, slots=True)
class UiSession:
    user_id: int
    issued: int
    nonce: str


def _sign(secret: str, *parts: str) -> str:
    return hmac.new(secret.encode(), "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def encode_session(secret: str, user_id: int, issued: int, nonce: str | None = None) -> str:
    nonce = nonce or secrets.token_urlsafe(16)
    body = f"{user_id}.{issued}.{nonce}"
    return f"{body}.{_sign(secret, 'ui-session', body)}"


def decode_session(secret: str, value: str, now: int) -> UiSession | None:
    parts = value.split(".")
    if len(parts) != 4 or len(value) > 200:
        return None
    user_id, issued, nonce, signature = parts
    if not (user_id.isascii() and user_id.isdigit() and issued.isascii() and issued.isdigit()):
        return None
    expected = _sign(secret, "ui-session", f"{user_id}.{issued}.{nonce}")
    if not hmac.compare_digest(expected, signature):
        return None
    if not 0 <= now - int(issued) < SESSION_SECONDS:
        return None
    return UiSession(int(user_id), int(issued), nonce)


def csrf_token(secret: str, session: UiSession | None, anonymous_nonce: str = "") -> str:
    """The token forms of this session carry (before sign-in: bound to a cookie nonce)."""
    nonce = session.nonce if session is not None else anonymous_nonce
    return _sign(secret, "ui-csrf", nonce)


def csrf_ok(secret: str, session: UiSession | None, sent: str, anonymous_nonce: str = "") -> bool:
    nonce = session.nonce if session is not None else anonymous_nonce
    if not nonce or not sent:
        return False
    return hmac.compare_digest(_sign(secret, "ui-csrf", nonce), sent)


def set_cookie(request: Request, response: Response, name: str, value: str, age: int) -> None:
    settings = context(request).settings
    response.set_cookie(
        name,
        value,
        max_age=age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.env != "development" or request.url.scheme == "https",
    )
