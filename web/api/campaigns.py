"""Campaigns API: create, approve, send, test, follow."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel
from sqlmodel import Session
from starlette.requests import Request

from richsms.accounts.roles import Permission
from richsms.errors import Forbidden, InvalidInput
from sender.campaigns.ab.decision import choose_variant
from sender.campaigns.campaign import (
    CampaignSpec,
    approve_campaign,
    campaign_messages,
    cancel_campaign,
    create_campaign,
    duplicate_campaign,
    edit_campaign,
    get_campaign,
    list_campaigns,
    request_send,
    set_frequency_cap,
    sets_frequency_cap,
)
from sender.campaigns.send_summary import send_summary
from sender.campaigns.unitary import CampaignTestSend, UnitaryMessage, send_unitary
from sender.delivery.senders import create_sender
from web.api.campaign_bodies import (
    CampaignIn,
    CampaignList,
    CampaignOut,
    CampaignPatch,
    CancelOut,
    DecisionIn,
    DecisionOut,
    FrequencyCapSet,
    MessagePage,
    SenderIn,
    SummaryOut,
    TestIn,
    campaign_out,
)

# Other API modules take these from here.
from web.api.campaign_bodies import MessageOut as MessageOut
from web.api.campaign_bodies import SenderOut as SenderOut
from web.api.campaign_bodies import message_out as message_out
from web.auth import actor_of, principal_of
from web.bodies import DuplicateIn
from web.context import AppContext
from web.openapi import RouteTable

api = RouteTable(tags=("campaigns",))


@api.post(
    "/campaigns",
    "Create a campaign (draft, or awaiting approval).",
    request=CampaignIn,
    errors=(404, 409),
    status=201, needs=Permission.BUILD,
)
def create(request: Request, ctx: AppContext, session: Session, body: BaseModel) -> CampaignOut:
    # The route table reads and validates the body as the declared `request=CampaignIn`,
    # which is derived from the campaign's shape at import (campaign_bodies.py): a type
    # checker knows it only as a model.
    fields = body.model_dump()
    _may_set_frequency_cap(request, fields)
    spec = CampaignSpec(**fields)
    campaign = create_campaign(
        session=session,
        clock=ctx.clock,
        spec=spec,
        created_by=actor_of(request.scope),
        settings=ctx.settings,
    )
    return campaign_out(campaign)


@api.get(
    "/campaigns",
    "Campaigns, newest first; filter with ?status= (one of the campaign statuses).",
    errors=(422,),
    reads=True, needs=Permission.RESULTS,
)
def index(request: Request, session: Session) -> CampaignList:
    found = list_campaigns(session=session, status=request.query_params.get("status"))
    return CampaignList(campaigns=[campaign_out(c) for c in found])


@api.get(
    "/campaigns/{id}", "One campaign, with its planning progress.", reads=True,
    needs=Permission.RESULTS,
)
def show(session: Session, id: int) -> CampaignOut:
    return campaign_out(get_campaign(session=session, campaign_id=id))


@api.patch(
    "/campaigns/{id}",
    "Edit a draft campaign: the fields sent change, the others stay, checked as at "
    "creation; 409 once it is no longer a draft (duplicate it instead).",
    request=CampaignPatch,
    errors=(409,), needs=Permission.BUILD,
)
def edit(
    request: Request, ctx: AppContext, session: Session, body: BaseModel, id: int
) -> CampaignOut:
    # Validated as the declared `request=CampaignPatch` (campaign_bodies.py).
    changes = body.model_dump(exclude_unset=True)
    _may_set_frequency_cap(request, changes)
    campaign = edit_campaign(
        session=session, clock=ctx.clock, campaign_id=id, changes=changes, settings=ctx.settings
    )
    return campaign_out(campaign)


@api.post(
    "/campaigns/{id}/duplicate",
    "A new draft with the campaign's fields, whatever its status.",
    errors=(409,),
    status=201, needs=Permission.BUILD,
)
def duplicate(
    request: Request, ctx: AppContext, session: Session, body: DuplicateIn, id: int
) -> CampaignOut:
    campaign = duplicate_campaign(
        session=session,
        clock=ctx.clock,
        campaign_id=id,
        created_by=actor_of(request.scope),
        name=body.name,
        settings=ctx.settings,
    )
    return campaign_out(campaign)


@api.post(
    "/campaigns/{id}/approve", "Approval by a second marketer.", errors=(403, 409),
    needs=Permission.APPROVE,
)
def approve(request: Request, ctx: AppContext, session: Session, id: int) -> CampaignOut:
    approver = actor_of(request.scope)
    campaign = approve_campaign(session=session, clock=ctx.clock, campaign_id=id, approver=approver)
    return campaign_out(campaign)


@api.put(
    "/campaigns/{id}/frequency-cap",
    "An approver sets the campaign's frequency cap before it is planned: "
    '{"max", "days", "gap_hours"} of its own, null for none, or "account" for the '
    "account's (RICHSMS_FREQUENCY_CAP, RICHSMS_FREQUENCY_GAP_HOURS).",
    errors=(409,),
    needs=Permission.APPROVE,
)
def frequency_cap(
    ctx: AppContext, session: Session, body: FrequencyCapSet, id: int
) -> CampaignOut:
    value = body.model_dump()["frequency_cap"]
    campaign = set_frequency_cap(
        session=session, clock=ctx.clock, campaign_id=id, frequency_cap=value
    )
    return campaign_out(campaign)


def _may_set_frequency_cap(request: Request, fields: Mapping[str, object]) -> None:
    """A campaign's own frequency cap (or none) is an approver's decision: Forbidden,
    naming the field, to whoever may not approve."""
    who = principal_of(request.scope)
    if sets_frequency_cap(fields) and (who is None or not who.can(Permission.APPROVE)):
        role = who.role if who is not None else "anonymous"
        raise Forbidden(
            f"frequency_cap: only an approver may set a campaign's frequency cap "
            f"(the {role} role may not); leave it out to follow the account's"
        )


@api.get(
    "/campaigns/{id}/summary",
    "What sending the campaign will do, before anything leaves (the summary the UI asks "
    "the marketer to confirm); for a campaign sent, what its messages still wait for.",
    reads=True, needs=Permission.RESULTS,
)
def summary(ctx: AppContext, session: Session, id: int) -> SummaryOut:
    now = ctx.clock.now()
    found = send_summary(session=session, settings=ctx.settings, campaign_id=id, now=now)
    return SummaryOut.model_validate(found.as_dict())


@api.post(
    "/campaigns/{id}/send",
    "Send the campaign: answers at once (202) with its planning progress; a worker "
    "plans it now, or just before it sends when its audience is to be refreshed then.",
    errors=(409,),
    status=202, needs=Permission.BUILD,
)
def send(ctx: AppContext, session: Session, id: int) -> CampaignOut:
    """Records the decision and answers at once: a worker's chore loop plans the campaign
    (now, or just before it sends when its audience is to be refreshed then)."""
    return campaign_out(request_send(session=session, clock=ctx.clock, campaign_id=id))


@api.post(
    "/campaigns/{id}/cancel",
    "Stop the campaign: planning stops; messages not yet handed over are cancelled.",
    errors=(409,), needs=Permission.BUILD,
)
def cancel(ctx: AppContext, session: Session, id: int) -> CancelOut:
    campaign, count = cancel_campaign(session=session, clock=ctx.clock, campaign_id=id)
    return CancelOut(campaign=campaign_out(campaign), cancelled_messages=count)


@api.post(
    "/campaigns/{id}/ab_test/decision",
    "Choose the A/B test's variant the rest of the audience gets (while the test runs, "
    "or when it found no winner and waits for a decision); the rest is planned at once.",
    errors=(409,), needs=Permission.BUILD,
)
def decide(
    request: Request, ctx: AppContext, session: Session, body: DecisionIn, id: int
) -> DecisionOut:
    outcome = choose_variant(
        session=session, clock=ctx.clock, campaign_id=id, variant=body.variant,
        chooser=actor_of(request.scope),
    )
    return DecisionOut(
        campaign=campaign_out(get_campaign(session=session, campaign_id=id)),
        decision=outcome.decision or "",
        winner=outcome.winner,
        p_value=outcome.p_value,
        interval=[outcome.ci_low, outcome.ci_high],
    )


@api.post(
    "/campaigns/{id}/test",
    "Send the message to one test number: personalized for a sample person made up for "
    "tests, or for `contact_id`; marked as a test (message and link), counted nowhere.",
    errors=(409,),
    status=202, needs=Permission.BUILD,
)
def test(ctx: AppContext, reading: Session, writing: Session, body: TestIn, id: int) -> MessageOut:
    request = CampaignTestSend(
        campaign_id=id, phone=body.phone, contact_id=body.contact_id, variant=body.variant
    )
    return sent(ctx, reading, writing, request)


def sent(
    ctx: AppContext, reading: Session, writing: Session, request: UnitaryMessage | CampaignTestSend
) -> MessageOut:
    """A unitary send or a campaign's test send (`POST /messages`, `POST /campaigns/{id}/
    test`), answered as the message it queued."""
    message = send_unitary(
        reading, writing, request, clock=ctx.clock, settings=ctx.settings, codes=ctx.codes
    )
    return message_out(message)


@api.get(
    "/campaigns/{id}/messages", "Messages, paged by ?after=&limit=.", reads=True,
    needs=Permission.RESULTS,
)
def messages(request: Request, session: Session, id: int) -> MessagePage:
    try:
        after = int(request.query_params.get("after", "0"))
        limit = int(request.query_params.get("limit", "100"))
    except ValueError:
        raise InvalidInput("after and limit must be integers") from None
    page = campaign_messages(session=session, campaign_id=id, after=after, limit=limit)
    next_after = page[-1].id if len(page) == limit else None
    return MessagePage(messages=[message_out(m) for m in page], next_after=next_after)


@api.post(
    "/senders",
    "Register a sender number or alphanumeric id.",
    errors=(404, 409),
    tags=("senders",),
    status=201, needs=Permission.ADMINISTER,
)
def create_sender_number(ctx: AppContext, session: Session, body: SenderIn) -> SenderOut:
    sender = create_sender(session=session, clock=ctx.clock, **body.model_dump())
    return SenderOut.model_validate(sender, from_attributes=True)
