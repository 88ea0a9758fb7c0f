"""What every UI route does: open a session, know who asks, refuse what their role may
not do and a forged POST, turn a domain error into a page that says what went wrong.

Each UI route declares the permission it needs where it is declared (`UiRoute`, in
web/ui/__init__.py), from the one matrix of richsms/accounts/roles.py; `signed_in` refuses (403) a
user whose role lacks it, and a route declared public that would still need a user."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from richsms.accounts.roles import Permission
from richsms.errors import RichsmsError
from web.bodies import parse_form, read_body
from web.context import context
from web.errors import status_of
from web.ui.render import Viewer, page, viewer

FORM_BYTES = 64 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"

Work = Callable[[Session, Viewer], Response]
NEEDS = "richsms.needs"


class UiRoute(Route):
    """A UI route with the permission it needs (None: open to anyone, signed in or not)."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[[Request], Awaitable[Response]] | Callable[[Request], Response],
        method: str,
        needs: Permission | None,
    ) -> None:
        super().__init__(path, endpoint, methods=[method])
        self.needs = needs

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[NEEDS] = self.needs
        await super().handle(scope, receive, send)


def refused(view: Viewer) -> Response | None:
    """The 403 page for a signed-in user whose role lacks what this route needs, or None
    when they may go on."""
    needs = view.request.scope.get(NEEDS)
    if isinstance(needs, Permission) and view.can(needs):
        return None
    problem = view.gettext("Your role ({role}) may not do this.").format(role=view.role)
    return page(view, "problem.html", status=403, problem=problem)


async def read_form(request: Request) -> dict[str, str]:
    """A small urlencoded form (the UI posts nothing else), or {} for anything else."""
    if request.headers.get("content-type", "").split(";")[0].strip() != FORM_TYPE:
        return {}
    return parse_form(await read_body(request), max_bytes=FORM_BYTES, max_fields=200)


Handler = Callable[[Request, Session, Viewer, dict[str, str]], Response]
"""A signed-in page's handler: the request, its session, the viewer, the posted form."""


def signed_in(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A route for signed-in users: others are sent to the sign-in page; a POST without
    the session's CSRF token is refused (403) and changes nothing."""

    async def endpoint(request: Request) -> Response:
        form = await read_form(request) if request.method == "POST" else {}

        def work(db: Session) -> Response:
            view = viewer(request, db)
            if view.user is None:
                if request.headers.get("hx-request"):
                    return Response(status_code=401, headers={"HX-Redirect": "/ui/signin"})
                return RedirectResponse("/ui/signin", status_code=303)
            if (refusal := refused(view)) is not None:
                return refusal
            if request.method == "POST" and not view.csrf_ok(form):
                return Response(
                    "The form expired or did not come from this site: reload and try again.",
                    status_code=403,
                    media_type="text/plain; charset=utf-8",
                )
            try:
                return handler(request, db, view, form)
            except RichsmsError as exc:
                db.rollback()  # nothing half-done is committed
                status = status_of(exc)
                return page(view, "problem.html", status=status, problem=exc.told(view.gettext))

        return await context(request).in_session(work)

    return endpoint


def back_to(path: str, notice: str = "") -> RedirectResponse:
    suffix = f"?notice={notice}" if notice else ""
    return RedirectResponse(path + suffix, status_code=303)
