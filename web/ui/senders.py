"""Sender numbers in the browser: the list and a form to add one (kind, value, rate,
allowed message types, the country it sends to and its own opt-out mention per language),
through the same `create_sender` as `POST /api/senders`."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from richsms.errors import RichsmsError
from richsms.i18n import N_
from sender.audience.recipient_locale import LANGUAGES
from sender.delivery.models import MESSAGE_TYPES as TYPES
from sender.delivery.senders import MAX_RATE, create_sender, list_senders
from web.context import context
from web.ui.base import back_to
from web.ui.render import Viewer, page

KINDS = {
    "short_code": N_("Short code"),
    "long_code": N_("Long number"),
    "alphanumeric": N_("Name (alphanumeric)"),
}


def _page(view: Viewer, db: Session, form: dict[str, str], **context: Any) -> Response:
    return page(
        view,
        "senders.html",
        senders=list_senders(session=db),
        kinds=KINDS,
        types=TYPES,
        max_rate=MAX_RATE,
        languages=LANGUAGES,
        form=form,
        **context,
    )


def senders(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    return _page(view, db, {}, notice=request.query_params.get("notice", ""))


def add(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    try:
        rate = float(form.get("rate", "") or "0")
    except ValueError:
        rate = -1.0
    try:
        create_sender(
            session=db,
            clock=context(request).clock,
            kind=form.get("kind", ""),
            value=form.get("value", "")[:20],
            rate=rate,
            allowed_types=[t for t in TYPES if form.get("type-" + t) == "on"],
            country=form.get("country", "").strip()[:2] or None,
            opt_out={
                language: mention
                for language in LANGUAGES
                if (mention := form.get(f"opt_out-{language}", "").strip()[:200])
            },
        )
    except RichsmsError as exc:  # shown beside the form, what was typed kept
        db.rollback()
        return _page(view, db, form, problem=exc.told(view.gettext))
    return back_to("/ui/senders", N_("Sender number added."))
