"""Campaigns API: create, approve, send, test, follow."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse

from richsms.errors import InvalidInput
from sender.campaigns.campaign import (
    CampaignSpec,
    approve_campaign,
    campaign_messages,
    cancel_campaign,
    create_campaign,
    get_campaign,
    list_campaigns,
    request_send,
)
from sender.campaigns.unitary import send_test
from sender.delivery.senders import create_sender
from web.api.campaign_bodies import (
    CampaignIn,
    CampaignList,
    CampaignOut,
    CancelOut,
    MessagePage,
    SenderIn,
    TestIn,
    campaign_out,
)

# Other API modules take these from here.
from web.api.campaign_bodies import MessageOut as MessageOut
from web.api.campaign_bodies import SenderOut as SenderOut
from web.api.campaign_bodies import message_out as message_out
from web.bodies import path_id, read_model
from web.context import AppContext, context
from web.openapi import RouteTable


def _token(request: Request) -> int | None:
    token: int | None = request.scope.get("state", {}).get("token_id")
    return token


_E = (400, 401, 404, 409, 413, 415, 422)
_T = ("campaigns",)
api = RouteTable(tags=_T)


@api.post(
    "/campaigns",
    "Create a campaign (draft, or awaiting approval).",
    request=CampaignIn,
    response=CampaignOut,
    errors=_E,
    status=201,
)
def create(request: Request, ctx: AppContext, session: Session, body: BaseModel) -> dict[str, Any]:
    # The route table reads and validates the body as the declared `request=CampaignIn`,
    # which is derived from the campaign's shape at import (campaign_bodies.py): a type
    # checker knows it only as a model.
    spec = CampaignSpec(**body.model_dump())
    campaign = create_campaign(
        session=session,
        clock=ctx.clock,
        spec=spec,
        created_by=_token(request),
        settings=ctx.settings,
    )
    return campaign_out(campaign)


@api.get(
    "/campaigns",
    "Campaigns, newest first; filter with ?status= (one of the campaign statuses).",
    response=CampaignList,
    errors=(401, 422),
    reads=True,
)
def index(request: Request, ctx: AppContext, session: Session) -> dict[str, Any]:
    status = request.query_params.get("status")
    found = list_campaigns(session=session, status=status)
    return {"campaigns": [campaign_out(c) for c in found]}


@api.get(
    "/campaigns/{id}",
    "One campaign, with its planning progress.",
    response=CampaignOut,
    errors=(401, 404),
    reads=True,
)
def show(request: Request, ctx: AppContext, session: Session) -> dict[str, Any]:
    campaign_id = path_id(request, "campaign")
    return campaign_out(get_campaign(session=session, campaign_id=campaign_id))


@api.post(
    "/campaigns/{id}/approve",
    "Approval by a second marketer.",
    response=CampaignOut,
    errors=(401, 403, 404, 409),
)
def approve(request: Request, ctx: AppContext, session: Session) -> dict[str, Any]:
    campaign_id = path_id(request, "campaign")
    campaign = approve_campaign(
        session=session,
        clock=ctx.clock,
        campaign_id=campaign_id,
        approver=_token(request),
    )
    return campaign_out(campaign)


@api.post(
    "/campaigns/{id}/send",
    "Send the campaign: answers at once (202) with its planning progress; a worker "
    "plans it now, or just before it sends when its audience is to be refreshed then.",
    response=CampaignOut,
    errors=(401, 404, 409),
    status=202,
)
def send(request: Request, ctx: AppContext, session: Session) -> dict[str, Any]:
    """Records the decision and answers at once: a worker's chore loop plans the campaign
    (now, or just before it sends when its audience is to be refreshed then)."""
    campaign_id = path_id(request, "campaign")
    campaign = request_send(session=session, clock=ctx.clock, campaign_id=campaign_id)
    return campaign_out(campaign)


@api.post(
    "/campaigns/{id}/cancel",
    "Stop the campaign: planning stops; messages not yet handed over are cancelled.",
    response=CancelOut,
    errors=(401, 404, 409),
)
def cancel(request: Request, ctx: AppContext, session: Session) -> dict[str, Any]:
    campaign_id = path_id(request, "campaign")
    campaign, count = cancel_campaign(
        session=session, clock=ctx.clock, campaign_id=campaign_id
    )
    return {"campaign": campaign_out(campaign), "cancelled_messages": count}


@api.post(
    "/campaigns/{id}/test",
    "Send the message to one test number: personalized for a sample person made up for "
    "tests, or for `contact_id`; marked as a test (message and link), counted nowhere.",
    request=TestIn,
    response=MessageOut,
    errors=_E,
    status=202,
)
async def test(request: Request) -> JSONResponse:
    campaign_id = path_id(request, "campaign")
    body = await read_model(request, TestIn)
    ctx = context(request)

    def work(reading: Session, writing: Session) -> dict[str, Any]:
        message = send_test(
            reading=reading,
            writing=writing,
            clock=ctx.clock,
            settings=ctx.settings,
            codes=ctx.codes,
            campaign_id=campaign_id,
            phone=body.phone,
            contact_id=body.contact_id,
        )
        return message_out(message)

    return JSONResponse(await ctx.in_read_then_write(work), status_code=202)


@api.get(
    "/campaigns/{id}/messages",
    "Messages, paged by ?after=&limit=.",
    response=MessagePage,
    errors=(401, 404, 422),
    reads=True,
)
def messages(request: Request, ctx: AppContext, session: Session) -> dict[str, Any]:
    campaign_id = path_id(request, "campaign")
    try:
        after = int(request.query_params.get("after", "0"))
        limit = int(request.query_params.get("limit", "100"))
    except ValueError:
        raise InvalidInput("after and limit must be integers") from None
    page = campaign_messages(
        session=session, campaign_id=campaign_id, after=after, limit=limit
    )
    return {
        "messages": [message_out(m) for m in page],
        "next_after": page[-1].id if len(page) == limit else None,
    }


@api.post(
    "/senders",
    "Register a sender number or alphanumeric id.",
    request=SenderIn,
    response=SenderOut,
    errors=_E,
    tags=("senders",),
    status=201,
)
def create_sender_number(
    request: Request, ctx: AppContext, session: Session, body: SenderIn
) -> dict[str, Any]:
    sender = create_sender(
        session=session,
        clock=ctx.clock,
        kind=body.kind,
        value=body.value,
        rate=body.rate,
        allowed_types=list(body.allowed_types),
    )
    return SenderOut.model_validate(sender, from_attributes=True).model_dump()
