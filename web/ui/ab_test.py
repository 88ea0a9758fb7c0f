"""A campaign's A/B test on its results screen: the marketer's choice of the variant the
rest of the audience gets (the figures and the decision are in the campaign's report)."""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from richsms.errors import InvalidInput
from richsms.i18n import N_
from sender.campaigns.ab_decision import choose_variant
from web.bodies import path_id
from web.context import context
from web.ui.base import back_to
from web.ui.render import Viewer


def choose(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    campaign_id = path_id(request, "campaign")
    raw = form.get("variant", "").strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) == 1):
        raise InvalidInput("choose a variant")
    choose_variant(
        session=db,
        clock=context(request).clock,
        campaign_id=campaign_id,
        variant=int(raw),
        chooser=view.actor,
    )
    return back_to(
        f"/ui/campaigns/{campaign_id}", N_("Variant chosen: the rest of the audience gets it.")
    )
