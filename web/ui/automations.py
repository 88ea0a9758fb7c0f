"""Automations in the browser: the list, and for an event automation where it is started
(its trigger URL, its shops' webhook URL and secret, a new secret); a form creates an
event automation through the same `create_automation` as `POST /api/automations`."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import Response

from richsms.errors import RichsmsError
from richsms.i18n import N_
from sender.campaigns.automations import create_automation
from sender.campaigns.models import Automation
from sender.campaigns.triggers import EVENT_KIND, hook_secret, rotate_secret
from web.api.automations import event_urls
from web.bodies import path_id
from web.context import context
from web.ui.base import back_to
from web.ui.campaigns.composer import TYPES
from web.ui.render import Viewer, page

KINDS = {
    "date_field": N_("On a date"),
    "group_join": N_("When joining a group"),
    EVENT_KIND: N_("On an outside event"),
}


def _page(
    request: Request, db: Session, view: Viewer, form: dict[str, str], **more: Any
) -> Response:
    settings = context(request).settings
    shown = []
    for automation in db.exec(select(Automation).order_by(col(Automation.id))).all():
        entry: dict[str, Any] = {"automation": automation}
        if automation.kind == EVENT_KIND:
            entry["trigger_url"], entry["webhook_url"] = event_urls(automation, settings)
            entry["secret"] = hook_secret(settings, automation)
        shown.append(entry)
    return page(
        view,
        "automations.html",
        automations=shown,
        kinds=KINDS,
        types=TYPES,
        form=form,
        notice=request.query_params.get("notice", ""),
        **more,
    )


def automations(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    return _page(request, db, view, {})


def create(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    ctx = context(request)
    rate = form.get("per_minute", "").strip()
    # Not a number counts as out of range: refused by the rule, which names the field.
    per_minute = None if not rate else int(rate) if rate.isdigit() and len(rate) < 7 else 0
    try:
        with db.begin_nested():
            create_automation(
                session=db,
                clock=ctx.clock,
                settings=ctx.settings,
                name=form.get("name", "")[:200],
                kind=EVENT_KIND,
                template=form.get("template", "")[:5_000],
                type=form.get("type", "promotional"),
                per_minute=per_minute,
            )
    except RichsmsError as exc:  # shown beside the form, what was typed kept
        return _page(request, db, view, form, problem=exc.told(view.gettext))
    return back_to("/ui/automations", N_("Automation created."))


def new_secret(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    automation_id = path_id(request, "automation")
    rotate_secret(session=db, automation_id=automation_id)
    return back_to("/ui/automations", N_("New webhook secret: the old one no longer works."))
