"""The inbox: replies waiting for a person (they matched none of the choices their message
offered: sender.delivery.choice_replies), and inbound messages kept for review (a provider
handed them over from a number that could not be read); what they say and what was done."""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from richsms.accounts.roles import Permission
from richsms.i18n import N_
from sender.campaigns.inbox import answer_reply, close_reply, waiting_replies
from sender.delivery.inbound import review_queue
from web.bodies import path_id, query_int
from web.context import context
from web.ui.base import back_to
from web.ui.render import Viewer, page

PER_PAGE = 50
REVIEW = "/ui/inbound/review"


def review(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    found = review_queue(session=db, after=query_int(request, "after", 0), limit=PER_PAGE)
    next_after = found[-1].id if len(found) == PER_PAGE else None
    waiting = waiting_replies(
        session=db, after=query_int(request, "waiting_after", 0), limit=PER_PAGE
    )
    return page(
        view,
        "inbound_review.html",
        messages=found,
        next_after=next_after,
        waiting=waiting,
        waiting_after=waiting[-1].id if len(waiting) == PER_PAGE else None,
        can_answer=view.can(Permission.BUILD),
        notice=request.query_params.get("notice", ""),
    )


def answer(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    ctx = context(request)
    # one session for both: the page's own, which already holds the write lock
    answer_reply(
        db, db, inbound_id=path_id(request, "reply"), text=form.get("text", ""),
        by=view.actor, clock=ctx.clock, settings=ctx.settings, codes=ctx.codes,
    )  # fmt: skip
    return back_to(REVIEW, N_("Answer queued."))


def close(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    close_reply(session=db, inbound_id=path_id(request, "reply"), by=view.actor,
                clock=context(request).clock)  # fmt: skip
    return back_to(REVIEW, N_("Reply closed."))
