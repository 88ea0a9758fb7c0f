"""The library of saved messages: save one (checked like a campaign's text), list, delete,
and start a new campaign from one (`/ui/campaigns/new?from=<id>`)."""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from richsms.errors import RichsmsError
from richsms.i18n import N_
from sender.compose.library import (
    delete_message_template,
    list_message_templates,
    save_message_template,
)
from web.bodies import path_id
from web.context import context
from web.ui.base import back_to
from web.ui.campaigns.composer import TYPES
from web.ui.render import Viewer, page


def library(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    return page(
        view,
        "library.html",
        saved=list_message_templates(session=db),
        types=TYPES,
        form={},
        notice=request.query_params.get("notice", ""),
    )


def save(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    ctx = context(request)
    try:
        with db.begin_nested():
            save_message_template(
                session=db,
                clock=ctx.clock,
                settings=ctx.settings,
                name=form.get("name", ""),
                type=form.get("type", "promotional"),
                text=form.get("text", ""),
            )
    except RichsmsError as exc:  # shown beside the form, the text kept
        saved = list_message_templates(session=db)
        return page(
            view,
            "library.html",
            422,
            saved=saved,
            types=TYPES,
            form=form,
            problem=exc.told(view.gettext),
        )
    return back_to("/ui/messages", N_("Message saved."))


def delete(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    delete_message_template(session=db, template_id=path_id(request, "saved message"))
    return back_to("/ui/messages", N_("Message deleted."))
