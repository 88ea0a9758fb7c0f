"""`/r/{code}`: the staff redemption page a coupon's QR code opens on a staff phone; `/r/`
the same page with no code yet. Signed in, it tells the coupon's state, the offer it is
for and the campaign that gave it, and has a box for the next code: typed, or scanned with
the phone's camera where the browser has `BarcodeDetector` (`static/staff/scan.js`).

A cashier signs in through the UI (`/ui/signin?next=/r/{code}`): their UI session, whose
role must allow redeeming (richsms/accounts/roles.py), is theirs here too. Or a staff member
signs in once by typing an API token whose role allows it; the page keeps a signed
session naming that token (never the token itself) in a cookie (web/sessions.py, as the
UI's), checked against the token's revocation and role on every request. Every POST
carries a CSRF token bound to a random cookie, the coupon and the action, valid for
FORM_SECONDS; POSTs are rate-limited per client. GET only reads: opening, previewing or
scanning redeems nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Literal
from urllib.parse import quote

from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from landing_templates.coupons import redeem_coupon
from richsms.accounts import ApiToken, principal, principal_for
from richsms.accounts.roles import Permission
from richsms.errors import Conflict, InvalidInput, NotFound
from richsms.settings import Settings
from sender.results.coupon_card import CouponCard, coupon_card
from web.attempt_limits import Attempts, attempt_limiter
from web.bodies import parse_form, read_body
from web.context import client_of, context
from web.languages import preferred_language
from web.openapi import RouteTable
from web.sessions import (
    CSRF_FIELD,
    SessionKind,
    csrf_ok,
    csrf_token,
    set_cookie,
)
from web.staff.page_html import render
from web.ui.render import viewer

# A working day at the till.
SESSION = SessionKind(cookie="richsms_staff", purpose="staff-session", lifetime=12 * 3600)
CSRF_COOKIE = "richsms_csrf"
FORM_SECONDS = 2 * 3600
FORM_BYTES = 4096
FORM_TYPE = "application/x-www-form-urlencoded"


def post_limiter(settings: Settings, now: Callable[[], float]) -> Attempts:
    """A bucket per client address for this page's POSTs (sign-in guesses, bursts): 30,
    refilled at 30 a minute; shared through Redis when it is configured."""
    return attempt_limiter(settings, name="staff", capacity=30, per_second=30 / 60, now=now)


def language(request: Request) -> str:
    """fr or en, whichever the browser prefers (English when it names neither)."""
    return preferred_language(request.headers.get("accept-language", ""))


def _code(request: Request) -> str:
    """The page's coupon code; "" on `/r/`, the page with no code yet."""
    return str(request.path_params.get("code", ""))


class StaffPage:
    async def handle(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._post(request)
        typed = request.query_params.get("code")
        if typed is not None and typed.strip() and not _code(request):  # the code box
            return RedirectResponse(f"/r/{quote(typed.strip()[:80], safe='')}", status_code=303)
        return await self._page(request)

    async def _page(
        self,
        request: Request,
        *,
        status: int = 200,
        message: str | None = None,
        redeemed_now: bool = False,
    ) -> Response:
        code = _code(request)
        ctx = context(request)
        nonce = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(18)
        secret: str = ctx.settings.secret_key.reveal()
        now = int(ctx.clock.now().timestamp())

        def read(session: Session) -> tuple[str | None, CouponCard | None]:
            staff = _staff_name(session, request, secret, now)
            if staff is None or not code:
                return staff, None
            try:
                return staff, coupon_card(session=session, code=code)
            except NotFound:
                return staff, None

        staff, card = await ctx.in_read_session(read)
        if staff is not None and card is None and code and status == 200:
            status = 404
        action = "redeem" if staff is not None else "signin"
        html = render(
            lang=language(request),
            code=code,
            staff=staff,
            card=card,
            message=message,
            redeemed_now=redeemed_now,
            action=action,
            form_token=csrf_token(secret, nonce, action, code, issued=now),
            nonce=(style_nonce := secrets.token_urlsafe(12)),
            zone=ctx.settings.time_zone,
        )
        response = HTMLResponse(html, status_code=status, headers=_headers(style_nonce))
        if request.cookies.get(CSRF_COOKIE) != nonce:
            _set_cookie(request, response, CSRF_COOKIE, nonce, age=FORM_SECONDS * 6)
        return response

    async def _post(self, request: Request) -> Response:
        code = _code(request)
        ctx = context(request)
        if not ctx.limits.staff.allow(client_of(request)):
            return await self._page(request, status=429, message="slow_down")
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != FORM_TYPE:
            return await self._page(request, status=415, message="forged")
        form = parse_form(await read_body(request), max_bytes=FORM_BYTES, max_fields=10)
        secret: str = ctx.settings.secret_key.reveal()
        now = int(ctx.clock.now().timestamp())
        action = form.get("action", "")
        nonce = request.cookies.get(CSRF_COOKIE, "")
        sent = form.get(CSRF_FIELD, "")
        if action not in ("signin", "redeem") or (action == "redeem" and not code) or not csrf_ok(
            secret, nonce, sent, action, code, now=now, lifetime=FORM_SECONDS
        ):
            return await self._page(request, status=403, message="forged")
        if action == "signin":
            return await self._sign_in(request, form.get("token", ""), secret, now)
        return await self._redeem(request, form.get("location"), secret, now)

    async def _sign_in(self, request: Request, token: str, secret: str, now: int) -> Response:
        who = await context(request).in_read_session(
            lambda session: principal(session=session, token=token.strip())
        )
        if who is None or not who.can(Permission.REDEEM):
            return await self._page(request, status=401, message="bad_token")
        response = RedirectResponse(f"/r/{quote(_code(request), safe='')}", status_code=303)
        session = SESSION.issue(secret, who.token_id, now)
        _set_cookie(request, response, SESSION.cookie, session, age=SESSION.lifetime)
        return response

    async def _redeem(
        self, request: Request, location: str | None, secret: str, now: int
    ) -> Response:
        code = _code(request)
        ctx = context(request)

        def work(session: Session) -> str:
            staff = _staff_name(session, request, secret, now)
            if staff is None:
                return "signed_out"
            try:
                redeem_coupon(
                    session=session,
                    clock=ctx.clock,
                    code=code,
                    by=staff,
                    location=(location or "")[:200] or None,
                )
            except Conflict:
                return "already"
            except NotFound:
                return "unknown"
            except InvalidInput:
                return "forged"
            return "redeemed"

        outcome = await ctx.in_session(work)
        if outcome == "redeemed":
            return await self._page(request, redeemed_now=True)
        status = {"signed_out": 401, "already": 409, "unknown": 404, "forged": 422}[outcome]
        return await self._page(request, status=status, message=outcome)


def _staff_name(session: Session, request: Request, secret: str, now: int) -> str | None:
    """Who is signed in on this browser and may redeem: a UI user (their email), or the
    name of a token that still works."""
    view = viewer(request, session)
    if view.user is not None and view.can(Permission.REDEEM):
        return view.user.email
    signed = SESSION.read(secret, request, now)
    if signed is None:
        return None
    token = session.get(ApiToken, signed.subject)
    if token is None or token.revoked_at is not None:
        return None
    who = principal_for(session, token)
    return token.name if who is not None and who.can(Permission.REDEEM) else None


def _set_cookie(request: Request, response: Response, name: str, value: str, *, age: int) -> None:
    """The page's cookies are sent to the page only."""
    set_cookie(request, response, name, value, age=age, path="/r/")


def _headers(nonce: str) -> dict[str, str]:
    """Its one stylesheet and its one script (the camera scan) by nonce."""
    return {
        "Cache-Control": "no-store",
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
            "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'"
        ),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Vary": "Accept-Language, Cookie",
    }


class StaffForm(BaseModel):
    """What the page posts: a sign-in (`token`) or a redemption (`location`), each with
    the form's CSRF token."""

    action: Literal["signin", "redeem"]
    csrf: str
    token: str | None = Field(None, description="An API token, to sign in.")
    location: str | None = Field(None, max_length=200, description="Where it is redeemed.")


_PAGE = "text/html"
_STAFF_PAGE = StaffPage()
staff = RouteTable(public=True, tags=("coupons",))
staff.get(
    "/r/",
    "The staff page with no code yet: once signed in, a box to type or scan a coupon's "
    "code (`?code=` answers a 303 to that code's page), else the sign-in form.",
    response_media=_PAGE,
    error_media=_PAGE,
    redirect=303,
)(_STAFF_PAGE.handle)
staff.post(
    "/r/",
    "Sign in from the staff page with no code yet (a 303 back to it), with the form's "
    "CSRF token; limited per client.",
    request=StaffForm,
    request_media="application/x-www-form-urlencoded",
    response_media=_PAGE,
    error_media=_PAGE,
    redirect=303,
    errors=(401, 403, 415, 422, 429),
)(_STAFF_PAGE.handle)
staff.get(
    "/r/{code}",
    "The staff redemption page a coupon's QR code opens: the coupon's state, the offer it "
    "is for and its campaign once signed in with an API token, else the sign-in form; a "
    "box for the next code. Redeems nothing.",
    response_media=_PAGE,
    error_media=_PAGE,
    errors=(404,),
)(_STAFF_PAGE.handle)
staff.post(
    "/r/{code}",
    "Sign in (a 303 back to the page) or redeem the coupon, with the form's CSRF token; "
    "limited per client.",
    request=StaffForm,
    request_media="application/x-www-form-urlencoded",
    response_media=_PAGE,
    error_media=_PAGE,
    redirect=303,
    errors=(401, 403, 404, 409, 415, 422, 429),
)(_STAFF_PAGE.handle)
