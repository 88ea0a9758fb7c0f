"""Rendering the UI: one autoescaped Jinja environment (gettext through `jinja2.ext.i18n`,
Babel's formats as filters), the signed-in user, the CSRF token, the language and a strict
Content-Security-Policy on every page.

Scripts are files from `/static` only (htmx, SortableJS and ours): no inline script, so
the policy needs no `unsafe-inline` for scripts; inline styles are not used either.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from richsms import i18n
from richsms.accounts import AdminUser
from richsms.accounts.roles import Permission, Role, allows
from richsms.accounts.sessions import session_open
from web.context import context
from web.languages import INTO, NAMES
from web.sessions import (
    CSRF_FIELD,
    CSRF_HEADER,
    SessionKind,
    SignedSession,
    csrf_ok,
    csrf_token,
    set_cookie,
)
from web.ui.i18n import LANG_COOKIE, choose_language

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "ui"
# The UI's signed session (web/sessions.py): it is worth something only while its row in
# the database is open (richsms/accounts/sessions.py), so signing out or changing the
# password ends it on the server, whatever a copy of the cookie says.
SESSION = SessionKind(cookie="richsms_session", purpose="ui-session", lifetime=8 * 3600)
ANON_COOKIE = "richsms_anon"  # binds the sign-in form's CSRF token before a session exists

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
i18n.install(_env)
_env.globals["language_names"] = NAMES  # a language's name: _(language_names[code])
_env.globals["translate_into"] = INTO  # "Translate into English": _(translate_into[code])


@dataclass
class Viewer:
    """The request as the UI sees it."""

    request: Request
    session: SignedSession | None
    user: AdminUser | None
    language: str
    anonymous_nonce: str
    now: int  # seconds since the epoch, on the app's clock
    fresh_nonce: bool = False  # the anonymous nonce was made for this request: set it

    @property
    def secret(self) -> str:
        secret: str = context(self.request).settings.secret_key.reveal()
        return secret

    @property
    def nonce(self) -> str:
        """What this viewer's CSRF tokens are bound to: the session's nonce, or before
        sign-in the anonymous cookie's."""
        return self.session.nonce if self.session is not None else self.anonymous_nonce

    @property
    def csrf(self) -> str:
        return csrf_token(self.secret, self.nonce, issued=self.now)

    @property
    def actor(self) -> int | None:
        """The id campaigns record as author and approver: API tokens are positive ids,
        UI users negative ones, so "not your own campaign" holds across both."""
        return None if self.user is None or self.user.id is None else -self.user.id

    @property
    def role(self) -> Role | None:
        return None if self.user is None else Role(self.user.role)

    def can(self, needs: Permission | str) -> bool:
        """May the signed-in user do what `needs` names (templates ask `view.can('build')`)?"""
        return self.role is not None and allows(self.role, Permission(needs))

    def gettext(self, text: str) -> str:
        return i18n.gettext(self.language, text)

    def csrf_ok(self, form: dict[str, str]) -> bool:
        sent = form.get(CSRF_FIELD) or self.request.headers.get(CSRF_HEADER, "")
        return csrf_ok(self.secret, self.nonce, sent, now=self.now, lifetime=SESSION.lifetime)


def viewer(request: Request, db: Session) -> Viewer:
    settings = context(request).settings
    secret = settings.secret_key.reveal()
    now = int(context(request).clock.now().timestamp())
    session = SESSION.read(secret, request, now)
    user = None
    if session is not None and session_open(
        session=db, user_id=session.subject, nonce=session.nonce
    ):
        user = db.get(AdminUser, session.subject)
    if user is None:
        session = None
    nonce = request.cookies.get(ANON_COOKIE, "")
    fresh = not (16 <= len(nonce) <= 64)
    if fresh:
        nonce = secrets.token_urlsafe(16)
    return Viewer(request, session, user, choose_language(request), nonce, now, fresh)


def security_headers() -> dict[str, str]:
    return {
        "Cache-Control": "no-store",
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; frame-src 'self'; form-action 'self'; "
            "frame-ancestors 'self'; base-uri 'none'"
        ),
        "Referrer-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "SAMEORIGIN",
        "Vary": "Cookie, Accept-Language",
    }


def _context(view: Viewer) -> dict[str, Any]:
    return {
        "view": view,
        "user": view.user,
        "lang": view.language,
        "zone": context(view.request).settings.time_zone,
        "csrf": view.csrf,
        **i18n.jinja_context(view.language),
    }


def page(view: Viewer, template: str, status: int | None = None, **context: Any) -> HTMLResponse:
    """`template` rendered for `view`; unless told, the status says whether the page shows
    a `problem` (422: what was typed is refused) or not (200)."""
    if status is None:
        status = 422 if context.get("problem") else 200
    if context.get("notice"):
        context["notice"] = our_notice(str(context["notice"]))
    html = _env.get_template(template).render(**_context(view), **context)
    response = HTMLResponse(html, status_code=status, headers=security_headers())
    if view.session is None and view.fresh_nonce:
        set_cookie(view.request, response, ANON_COOKIE, view.anonymous_nonce, age=4 * 3600)
    return response


def our_notice(text: str) -> str:
    """A notice from the query string (`?notice=`, set by `back_to` after a form) only when
    it is one of ours, a message of the catalogue: anyone can craft a link, and a page of
    the UI must never show words of theirs ("your account is locked: call ...")."""
    return text if text in i18n.known_messages() else ""


def fragment(view: Viewer, template: str, **context: Any) -> HTMLResponse:
    html = _env.get_template(template).render(**_context(view), **context)
    return HTMLResponse(html, headers=security_headers())


def sign_in_first(request: Request) -> Response:
    return RedirectResponse("/ui/signin", status_code=303)


CHART_STYLE = ' style="width:100%;height:auto;font:12px system-ui,sans-serif"'


def svg(markup: str) -> Markup:
    """An SVG we generated ourselves (web.charts escapes every label). Its inline style is
    dropped (the UI's CSP refuses inline styles): app.css gives `svg.chart` the same."""
    return Markup(markup.replace(CHART_STYLE, "", 1))


__all__ = ["LANG_COOKIE", "page", "fragment", "viewer", "Viewer", "svg", "sign_in_first"]
