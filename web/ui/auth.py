"""Sign-in, sign-out and the language switch.

Sign-in: a bucket of attempts per client address (shared through Redis when configured,
web/attempt_limits.py) against one address trying many accounts, and growing delays per
account and address after wrong passwords, in the database (richsms/accounts/signin_delays.py):
the owner, from an address that never failed, waits a minute at most. The password is
checked outside any transaction; the database is written only to count a failure or to
open the session. The session is web/sessions.py's signed cookie, worth something only
while its row is open (richsms/accounts/sessions.py): signing out ends it on the server.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta

from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from richsms.accounts import AdminUser, check_password
from richsms.accounts.roles import Permission
from richsms.accounts.sessions import end_session, start_session
from richsms.accounts.signin_delays import record_failure, record_success, wait_seconds
from richsms.i18n import LANGUAGES
from richsms.settings import Settings
from web.attempt_limits import Attempts, attempt_limiter
from web.context import client_of, context
from web.sessions import delete_cookie, set_cookie
from web.ui.base import read_form
from web.ui.i18n import LANG_COOKIE
from web.ui.render import SESSION, Viewer, page, viewer

LIFETIME = timedelta(seconds=SESSION.lifetime)


def signin_limiter(settings: Settings, now: Callable[[], float]) -> Attempts:
    """Thirty attempts per address, whatever the accounts, one more every twenty seconds:
    shared by every process through Redis when it is configured."""
    return attempt_limiter(settings, name="signin", capacity=30, per_second=30 / 600, now=now)


def local_target(target: str | None, default: str) -> str:
    """`target` if it is a page of ours a browser may be sent back to (the UI, a staff
    page), else `default`: never another site."""
    if (
        target
        and target.startswith(("/ui/", "/r/"))
        and "//" not in target
        and "\\" not in target
    ):
        return target
    return default


def home(view: Viewer) -> str:
    """Where a signed-in user starts: the campaigns, or for a cashier the staff page's code box."""
    return "/ui/" if view.can(Permission.RESULTS) else "/r/"


async def signin_form(request: Request) -> Response:
    def work(db: Session) -> Response:
        view = viewer(request, db)
        target = request.query_params.get("next")
        if view.user is not None:
            return RedirectResponse(local_target(target, home(view)), status_code=303)
        return page(view, "signin.html", next=local_target(target, ""))

    return await context(request).in_read_session(work)


async def signin(request: Request) -> Response:
    form = await read_form(request)
    ctx = context(request)
    client = client_of(request)
    email = form.get("email", "").strip().lower()[:320]
    target = local_target(form.get("next"), "")
    now = ctx.clock.now()

    def read(db: Session) -> tuple[Viewer, AdminUser | None, int]:
        view = viewer(request, db)
        wait = wait_seconds(session=db, email=email, address=client, now=now)
        user = db.exec(select(AdminUser).where(AdminUser.email == email)).first()
        return view, user, wait

    view, user, wait = await ctx.in_read_session(read)
    if not view.csrf_ok(form):
        problem = view.gettext("The form expired: try again.")
        return page(view, "signin.html", 403, problem=problem, next=target)
    if not ctx.limits.signin.allow(f"ip:{client}"):
        problem = view.gettext("Too many attempts: wait a few minutes.")
        return page(view, "signin.html", 429, problem=problem, email=email, next=target)
    if wait > 0:
        problem = view.gettext("Too many wrong passwords: try again in {seconds} s.").format(
            seconds=wait
        )
        response = page(view, "signin.html", 429, problem=problem, email=email, next=target)
        response.headers["Retry-After"] = str(wait)
        return response
    password = form.get("password", "")
    right = user is not None and await run_in_threadpool(check_password, user, password)
    if user is None or user.id is None or not right:
        await ctx.in_session(
            lambda db: record_failure(session=db, email=email, address=client, now=now)
        )
        problem = view.gettext("Wrong email or password.")
        return page(view, "signin.html", 401, problem=problem, email=email, next=target)
    user_id, nonce = user.id, secrets.token_urlsafe(16)

    def open_session(db: Session) -> None:
        record_success(session=db, email=email, address=client)
        start_session(session=db, user_id=user_id, nonce=nonce, now=now, lifetime=LIFETIME)

    await ctx.in_session(open_session)
    view.user = user
    redirect = RedirectResponse(local_target(target, home(view)), status_code=303)
    secret = ctx.settings.secret_key.reveal()
    cookie = SESSION.issue(secret, user_id, int(now.timestamp()), nonce)
    set_cookie(request, redirect, SESSION.cookie, cookie, age=SESSION.lifetime)
    return redirect


async def signout(request: Request) -> Response:
    form = await read_form(request)
    ctx = context(request)
    view = await ctx.in_read_session(lambda db: viewer(request, db))
    if view.session is not None:
        if not view.csrf_ok(form):
            return Response("The form expired: reload and try again.", status_code=403)
        nonce = view.session.nonce
        await ctx.in_session(
            lambda db: end_session(session=db, nonce=nonce, now=ctx.clock.now())
        )
    response = RedirectResponse("/ui/signin", status_code=303)
    delete_cookie(request, response, SESSION.cookie)
    return response


async def switch_language(request: Request) -> Response:
    form = await read_form(request)
    language = form.get("lang", "")
    target = local_target(form.get("next", "/ui/"), "/ui/")
    if not target.startswith("/ui/"):
        target = "/ui/"
    response = RedirectResponse(target, status_code=303)
    if language in LANGUAGES:
        # A preference, not an action on data: no CSRF check needed for a language.
        set_cookie(request, response, LANG_COOKIE, language, age=365 * 24 * 3600)
    return response


def root(_request: Request) -> Response:
    return RedirectResponse("/ui/", status_code=307)
