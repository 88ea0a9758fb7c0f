"""Signed sessions and CSRF tokens, for the marketers' UI and the staff page alike.

A session is a cookie naming who is signed in (a user, or a staff member's API token),
when it was issued and a random nonce, signed with the secret key (HMAC-SHA256) for one
purpose, so that a UI session is never taken for a staff one; nothing secret is in it,
and each caller checks the subject still exists on every request. It expires after the
caller's lifetime.

A CSRF token is derived from a nonce a page of another site cannot read (the session's,
or a random cookie's before sign-in), the issue time and whatever the caller binds it to
(the staff page: the coupon and the action): `issued.signature`. A forged POST carries
no valid token, even when the browser sends the cookies along.

Cookies are HttpOnly and SameSite=Lax, and Secure except in development over plain http:
behind a proxy that terminates TLS the request we see is http, yet the browser's is not.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from web.context import context

CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


def sign(secret: str, purpose: str, *parts: str) -> str:
    message = "\x1f".join((purpose, *parts)).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class SignedSession:
    subject: int
    issued: int
    nonce: str


def encode_session(
    secret: str, purpose: str, subject: int, issued: int, nonce: str | None = None
) -> str:
    nonce = nonce or secrets.token_urlsafe(16)
    body = f"{subject}.{issued}.{nonce}"
    return f"{body}.{sign(secret, purpose, body)}"


def decode_session(
    secret: str, purpose: str, value: str, *, now: int, lifetime: int
) -> SignedSession | None:
    """The session `value` carries, if signed for `purpose` and issued less than
    `lifetime` seconds ago; None otherwise."""
    parts = value.split(".")
    if len(parts) != 4 or len(value) > 200:
        return None
    subject, issued, nonce, signature = parts
    if not (subject.isascii() and subject.isdigit() and issued.isascii() and issued.isdigit()):
        return None
    if not hmac.compare_digest(sign(secret, purpose, f"{subject}.{issued}.{nonce}"), signature):
        return None
    if not 0 <= now - int(issued) < lifetime:
        return None
    return SignedSession(int(subject), int(issued), nonce)


@dataclass(frozen=True, slots=True)
class SessionKind:
    """One kind of signed session: the cookie it travels in, the purpose it is signed for
    and how long it lasts."""

    cookie: str
    purpose: str
    lifetime: int

    def issue(self, secret: str, subject: int, now: int, nonce: str | None = None) -> str:
        return encode_session(secret, self.purpose, subject, now, nonce)

    def read(self, secret: str, request: HTTPConnection, now: int) -> SignedSession | None:
        """The session of this kind the request carries, if it is valid at `now`."""
        value = request.cookies.get(self.cookie, "")
        return decode_session(secret, self.purpose, value, now=now, lifetime=self.lifetime)


def csrf_token(secret: str, nonce: str, *bound: str, issued: int) -> str:
    return f"{issued}.{sign(secret, 'csrf', nonce, *bound, str(issued))}"


def csrf_ok(secret: str, nonce: str, sent: str, *bound: str, now: int, lifetime: int) -> bool:
    """Did this page issue `sent`, for this nonce and `bound`, less than `lifetime` ago?"""
    issued, _, _ = sent.partition(".")
    if not nonce or not (issued.isascii() and issued.isdigit()) or len(issued) > 12:
        return False
    expected = csrf_token(secret, nonce, *bound, issued=int(issued))
    return hmac.compare_digest(expected, sent) and 0 <= now - int(issued) < lifetime


def secure(request: Request) -> bool:
    """Cookies are Secure everywhere but in development over plain http."""
    return context(request).settings.env != "development" or request.url.scheme == "https"


def set_cookie(
    request: Request, response: Response, name: str, value: str, *, age: int, path: str = "/"
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=age,
        path=path,
        httponly=True,
        samesite="lax",  # sent when a link or a scanned QR opens a page; never on a cross-site POST
        secure=secure(request),
    )


def delete_cookie(request: Request, response: Response, name: str, *, path: str = "/") -> None:
    """Forget a cookie, with the attributes it was set with (Secure included)."""
    response.delete_cookie(name, path=path, httponly=True, samesite="lax", secure=secure(request))
