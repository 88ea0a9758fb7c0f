"""The account's settings in the browser: the brand name that identifies the sender in
each promotional message (the composer shows it and its analysis warns of a text without
it), through the same `set_brand_name` as `PUT /api/account`."""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from richsms.accounts.profile import MAX_BRAND_NAME, brand_name, set_brand_name
from richsms.errors import RichsmsError
from richsms.i18n import N_
from web.context import context
from web.ui.base import back_to
from web.ui.render import Viewer, page


def settings(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    return page(
        view,
        "settings.html",
        brand=brand_name(db) or "",
        limit=MAX_BRAND_NAME,
        notice=request.query_params.get("notice", ""),
    )


def save(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    typed = form.get("brand_name", "")[: MAX_BRAND_NAME * 4]
    try:
        set_brand_name(session=db, clock=context(request).clock, brand_name=typed)
    except RichsmsError as exc:  # shown beside the form, what was typed kept
        db.rollback()
        problem = exc.told(view.gettext)
        return page(view, "settings.html", brand=typed, limit=MAX_BRAND_NAME, problem=problem)
    return back_to("/ui/settings", N_("Settings saved."))
