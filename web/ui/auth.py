"""Sign-in, sign-out and the language switch. Sign-in attempts are rate-limited per client
address and per email address; the session is web/sessions.py's signed cookie."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from richsms.accounts import AdminUser, check_password
from richsms.i18n import LANGUAGES
from richsms.settings import Settings
from web.attempt_limits import Attempts, attempt_limiter
from web.context import client_of, context
from web.sessions import set_cookie
from web.ui.base import read_form
from web.ui.i18n import LANG_COOKIE
from web.ui.render import SESSION, page, viewer


def signin_limiter(settings: Settings, now: Callable[[], float]) -> Attempts:
    """Ten attempts per address and per email, one more a minute: shared by every
    process through Redis when it is configured."""
    return attempt_limiter(settings, name="signin", capacity=10, per_second=10 / 600, now=now)


async def signin_form(request: Request) -> Response:
    def work(db: Session) -> Response:
        view = viewer(request, db)
        if view.user is not None:
            return RedirectResponse("/ui/", status_code=303)
        return page(view, "signin.html")

    return await context(request).in_session(work)


async def signin(request: Request) -> Response:
    form = await read_form(request)
    ctx = context(request)
    client = client_of(request)

    def work(db: Session) -> Response:
        view = viewer(request, db)
        email = form.get("email", "").strip().lower()[:320]
        if not view.csrf_ok(form):
            problem = view.gettext("The form expired: try again.")
            return page(view, "signin.html", 403, problem=problem)
        if not ctx.limits.signin.allow(f"ip:{client}", f"email:{email}"):
            problem = view.gettext("Too many attempts: wait a few minutes.")
            return page(view, "signin.html", 429, problem=problem, email=email)
        user = db.exec(select(AdminUser).where(AdminUser.email == email)).first()
        password = form.get("password", "")
        if user is None or user.id is None or not check_password(user, password):
            problem = view.gettext("Wrong email or password.")
            return page(view, "signin.html", 401, problem=problem, email=email)
        now = int(ctx.clock.now().timestamp())
        response = RedirectResponse("/ui/", status_code=303)
        session = SESSION.issue(ctx.settings.secret_key.reveal(), user.id, now)
        set_cookie(request, response, SESSION.cookie, session, age=SESSION.lifetime)
        return response

    return await ctx.in_session(work)


async def signout(request: Request) -> Response:
    form = await read_form(request)

    def work(db: Session) -> Response:
        view = viewer(request, db)
        if view.user is not None and not view.csrf_ok(form):
            return Response("The form expired: reload and try again.", status_code=403)
        response = RedirectResponse("/ui/signin", status_code=303)
        response.delete_cookie(SESSION.cookie, path="/")
        return response

    return await context(request).in_session(work)


async def switch_language(request: Request) -> Response:
    form = await read_form(request)
    language = form.get("lang", "")
    target = form.get("next", "/ui/")
    if not target.startswith("/ui/") or "//" in target or "\\" in target:
        target = "/ui/"
    response = RedirectResponse(target, status_code=303)
    if language in LANGUAGES:
        # A preference, not an action on data: no CSRF check needed for a language.
        set_cookie(request, response, LANG_COOKIE, language, age=365 * 24 * 3600)
    return response


def root(_request: Request) -> Response:
    return RedirectResponse("/ui/", status_code=307)
