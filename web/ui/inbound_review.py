"""The inbox: replies waiting for a person (they matched none of the choices their message
offered: sender.delivery.choice_replies), and inbound messages kept for review (a provider
handed them over from a number that could not be read); what they say and what was done."""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from sender.delivery.choice_replies import waiting_replies
from sender.delivery.inbound import review_queue
from web.bodies import query_int
from web.ui.render import Viewer, page

PER_PAGE = 50


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
    )
