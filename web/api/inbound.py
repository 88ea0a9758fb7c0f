"""`POST /api/inbound`: an inbound SMS from any source (keywords act, replies are kept)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session
from starlette.requests import Request

from richsms.accounts.roles import Permission
from sender.campaigns.inbox import answer_reply, close_reply, waiting_replies
from sender.delivery.inbound import MAX_TEXT, handle_inbound, review_queue
from sender.delivery.models import InboundMessage
from web.api.campaign_bodies import MessageOut, message_out
from web.auth import actor_of
from web.bodies import query_int
from web.context import AppContext
from web.openapi import RouteTable

Page = TypeVar("Page", bound=BaseModel)


class InboundIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    phone: str = Field(
        alias="from",
        min_length=1,
        max_length=32,
        description="The sender's number: E.164 as networks give it, or national (read in "
        "the country of `to` when it is an E.164 number, else the default region; never "
        "as another country).",
    )
    to: str = Field("", max_length=20, description="Our number the message was sent to.")
    text: str = Field(max_length=MAX_TEXT)


class InboundOut(BaseModel):
    action: str = Field(
        description="opt_out, opt_in, help, clarify (an ambiguous opt-out: one question "
        "asked, nothing else sent until answered) or reply (kept, no answer)."
    )
    reply: str | None = Field(description="The answer queued to the sender, if any.")
    keyword: str | None
    inbound_id: int
    contact_id: int | None
    campaign_id: int | None = Field(
        description="The campaign of the message it answers (the last one received within "
        "RICHSMS_REPLY_WINDOW_DAYS), if any."
    )
    message_id: int | None = Field(description="The message it answers, if any.")
    choice: str | None = Field(
        None,
        description="The reply choice it matched, when the message it answers offered "
        "choices (its `reply` is then that choice's answer, or the `unmatched` text).",
    )


api = RouteTable(tags=("inbound",))


@api.post(
    "/inbound",
    "Receive an SMS: STOP/ARRET... (also in several words: 'stop please', 'je veux me "
    "désabonner') opt out, START/UNSTOP/YES opt back in, HELP/AIDE/INFO get help (each "
    "confirmed by SMS once); other text is kept as a reply to the campaign or message "
    "last received within RICHSMS_REPLY_WINDOW_DAYS.", needs=Permission.ADMINISTER,
)
def receive(ctx: AppContext, session: Session, body: InboundIn) -> InboundOut:
    result = handle_inbound(
        session=session, clock=ctx.clock, settings=ctx.settings, **body.model_dump()
    )
    return InboundOut.model_validate(result.as_dict())


class ReviewedOut(BaseModel):
    id: int
    phone: str = Field(description="The number as received (or the contact's it matched).")
    to: str
    text: str
    keyword: str | None
    action: str | None = Field(
        description="unreadable (kept, nothing done), or what it did for the contact whose "
        "number it matched (opt_out...)."
    )
    contact_id: int | None
    received_at: datetime
    review: str = Field(description="Why it is kept for review, with the number as sent.")


class ReviewPage(BaseModel):
    messages: list[ReviewedOut]
    next_after: int | None = Field(description="Pass as ?after= for the next page.")


@api.get(
    "/inbound/review",
    "Inbound messages from a number that could not be read, kept for review (never "
    "dropped), newest first; paged by ?after=&limit=.",
    errors=(422,),
    reads=True, needs=Permission.AUDIENCE,
)
def review(request: Request, session: Session) -> ReviewPage:
    return _paged(request, session, review_queue, ReviewedOut, ReviewPage)


class WaitingOut(BaseModel):
    id: int
    phone: str
    to: str
    text: str
    contact_id: int | None
    campaign_id: int | None
    message_id: int | None
    received_at: datetime
    reply_message_id: int | None = Field(
        description="The `unmatched` text sent back (the first unmatched reply only)."
    )


class WaitingPage(BaseModel):
    messages: list[WaitingOut]
    next_after: int | None = Field(description="Pass as ?after= for the next page.")


@api.get(
    "/inbound/waiting",
    "Replies waiting for a person: those that matched none of the choices their message "
    "offered (answered once with the `unmatched` text) and replies to a message that "
    "offered none; until answered or closed; newest first, paged by ?after=&limit=.",
    errors=(422,),
    reads=True, needs=Permission.AUDIENCE,
)
def waiting(request: Request, session: Session) -> WaitingPage:
    return _paged(request, session, waiting_replies, WaitingOut, WaitingPage)


def _paged(
    request: Request,
    session: Session,
    rows: Callable[..., Sequence[InboundMessage]],
    item: type[BaseModel],
    page: type[Page],
) -> Page:
    """One page of `rows(session=, after=, limit=)` (newest first, ?after=&limit=), each
    answered as `item`, with the ?after= of the next page when it is full."""
    after = query_int(request, "after", 0)
    limit = query_int(request, "limit", 100, minimum=1, maximum=1000)
    found = rows(session=session, after=after, limit=limit)
    return page.model_validate(
        {
            "messages": [item.model_validate(m, from_attributes=True) for m in found],
            "next_after": found[-1].id if len(found) == limit else None,
        }
    )


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=1_600, description="The answer, as sent.")


@api.post(
    "/inbound/{id:int}/answer",
    "Answer a reply: an informational SMS to its sender, from the number it was sent to "
    "(when it is one of ours), under the usual consent rules; the reply leaves the waiting "
    "list.",
    errors=(404, 409),
    status=202, needs=Permission.BUILD,
)
def answer(
    ctx: AppContext, request: Request, reading: Session, writing: Session, id: int,
    body: AnswerIn,
) -> MessageOut:
    message = answer_reply(
        reading, writing, inbound_id=id, text=body.text, by=actor_of(request.scope),
        clock=ctx.clock, settings=ctx.settings, codes=ctx.codes,
    )  # fmt: skip
    return message_out(message)


class ClosedOut(BaseModel):
    id: int
    handled_at: datetime
    handled_by: int | None = Field(
        description="Who closed it (an actor id, as campaigns record their authors)."
    )


@api.post(
    "/inbound/{id:int}/close",
    "Take a reply off the waiting list without answering it (closing it again keeps the "
    "first closing).",
    errors=(404,),
    needs=Permission.AUDIENCE,
)
def close(ctx: AppContext, request: Request, session: Session, id: int) -> ClosedOut:
    reply = close_reply(session=session, inbound_id=id, by=actor_of(request.scope), clock=ctx.clock)
    return ClosedOut.model_validate(reply, from_attributes=True)
