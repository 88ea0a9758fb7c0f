"""Campaigns API: create, approve, send, test, follow."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from richsms.db import read_session, session_scope
from richsms.errors import InvalidInput
from sender.campaigns import (
    MESSAGE_TIMES,
    CampaignSpec,
    approve_campaign,
    campaign_messages,
    campaign_stats,
    cancel_campaign,
    create_campaign,
    get_campaign,
    list_campaigns,
    request_send,
)
from sender.models import Campaign, Message
from sender.planner import Progress
from sender.senders import create_sender
from sender.unitary import prepare_test, write_send
from web.bodies import path_id, read_model
from web.openapi import Operation

MessageType = Literal["promotional", "informational", "administrative"]


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200)
    type: MessageType
    template: str = Field(max_length=5_000)
    target_url: str | None = Field(None, max_length=4096)
    group_ids: list[int] = Field(default_factory=list, max_length=1000)
    segment_ids: list[int] = Field(default_factory=list, max_length=1000)
    one_per_phone: bool = True
    schedule: Literal["now", "at", "local"] = "now"
    send_at: datetime | None = None
    local_date: str | None = None
    local_time: str | None = None
    window_start: str = "08:00"
    window_end: str = "21:00"
    rate: float = Field(10.0, gt=0, le=10_000)
    sender_id: int | None = None
    refresh_audience: bool = True
    requires_approval: bool = False
    custom_fields: list[str] = Field(default_factory=list, max_length=500)
    page_id: int | None = Field(None, ge=1, le=2_147_483_647)


class ProgressOut(BaseModel):
    """The planning job's counters: recipients planned, left out (opted out or no
    consent), failed to render; `total` is the audience, null until counted."""

    planned: int
    excluded: int
    errors: int
    total: int | None


class CampaignOut(BaseModel):
    id: int
    name: str
    type: str
    status: str
    template: str
    target_url: str | None
    page_id: int | None
    group_ids: list[int]
    segment_ids: list[int]
    schedule: str
    send_at: datetime | None
    local_date: str | None
    local_time: str | None
    window_start: str
    window_end: str
    rate: float
    sender_id: int | None
    requires_approval: bool
    approved_at: datetime | None
    plan_at: datetime | None
    planned_at: datetime | None
    done_at: datetime | None
    cancelled_at: datetime | None
    failure: str | None
    progress: ProgressOut
    created_at: datetime


class CancelOut(BaseModel):
    campaign: CampaignOut
    cancelled_messages: int


class CampaignList(BaseModel):
    campaigns: list[CampaignOut]


class TestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(max_length=40)


class MessageOut(BaseModel):
    id: int
    campaign_id: int | None
    contact_id: int | None
    phone: str
    text: str
    type: str
    state: str
    encoding: str
    segments: int
    is_test: bool
    due_at: datetime
    error: str | None
    times: dict[str, datetime | None]


class MessagePage(BaseModel):
    messages: list[MessageOut]
    next_after: int | None


class SenderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["short_code", "long_code", "alphanumeric"]
    value: str = Field(max_length=20)
    rate: float = Field(gt=0, le=10_000)
    allowed_types: list[MessageType] = Field(min_length=1)


class SenderOut(BaseModel):
    id: int
    kind: str
    value: str
    rate: float
    allowed_types: list[str]


def campaign_out(campaign: Campaign) -> dict[str, Any]:
    names = [name for name in CampaignOut.model_fields if name != "progress"]
    data = {name: getattr(campaign, name) for name in names}
    data["progress"] = Progress.of(campaign).as_dict()
    return CampaignOut.model_validate(data).model_dump(mode="json")


def message_out(message: Message) -> dict[str, Any]:
    data = {name: getattr(message, name) for name in MessageOut.model_fields if name != "times"}
    data["times"] = {name: getattr(message, name) for name in MESSAGE_TIMES}
    return MessageOut.model_validate(data).model_dump(mode="json")


def _token(request: Request) -> int | None:
    token: int | None = request.scope.get("state", {}).get("token_id")
    return token


async def create(request: Request) -> JSONResponse:
    body = await read_model(request, CampaignIn)
    state = request.app.state
    spec = CampaignSpec(**body.model_dump())

    def work() -> dict[str, Any]:
        with session_scope(state.engine) as session:
            campaign = create_campaign(
                session=session,
                clock=state.clock,
                spec=spec,
                created_by=_token(request),
                settings=state.settings,
            )
            return campaign_out(campaign)

    return JSONResponse(await run_in_threadpool(work), status_code=201)


async def index(request: Request) -> JSONResponse:
    status = request.query_params.get("status")
    engine = request.app.state.engine

    def work() -> dict[str, Any]:
        with Session(engine) as session:
            found = list_campaigns(session=session, status=status)
            return {"campaigns": [campaign_out(c) for c in found]}

    return JSONResponse(await run_in_threadpool(work))


async def show(request: Request) -> JSONResponse:
    campaign_id = path_id(request, "campaign")
    engine = request.app.state.engine

    def work() -> dict[str, Any]:
        with Session(engine) as session:
            return campaign_out(get_campaign(session=session, campaign_id=campaign_id))

    return JSONResponse(await run_in_threadpool(work))


async def approve(request: Request) -> JSONResponse:
    campaign_id = path_id(request, "campaign")
    state = request.app.state

    def work() -> dict[str, Any]:
        with session_scope(state.engine) as session:
            campaign = approve_campaign(
                session=session,
                clock=state.clock,
                campaign_id=campaign_id,
                approver=_token(request),
            )
            return campaign_out(campaign)

    return JSONResponse(await run_in_threadpool(work))


async def send(request: Request) -> JSONResponse:
    """Records the decision and answers at once: a worker's chore loop plans the campaign
    (now, or just before it sends when its audience is to be refreshed then)."""
    campaign_id = path_id(request, "campaign")
    state = request.app.state

    def work() -> dict[str, Any]:
        with session_scope(state.engine) as session:
            campaign = request_send(session=session, clock=state.clock, campaign_id=campaign_id)
            return campaign_out(campaign)

    return JSONResponse(await run_in_threadpool(work), status_code=202)


async def cancel(request: Request) -> JSONResponse:
    campaign_id = path_id(request, "campaign")
    state = request.app.state

    def work() -> dict[str, Any]:
        with session_scope(state.engine) as session:
            campaign, count = cancel_campaign(
                session=session, clock=state.clock, campaign_id=campaign_id
            )
            return {"campaign": campaign_out(campaign), "cancelled_messages": count}

    return JSONResponse(await run_in_threadpool(work))


async def test(request: Request) -> JSONResponse:
    campaign_id = path_id(request, "campaign")
    body = await read_model(request, TestIn)
    state = request.app.state

    def work() -> dict[str, Any]:
        # Rendered with no write lock held; then written in one short unit.
        with read_session(state.engine) as session:
            send = prepare_test(
                session=session,
                settings=state.settings,
                campaign_id=campaign_id,
                phone=body.phone,
            )
        with session_scope(state.engine) as session:
            message = write_send(
                session=session,
                clock=state.clock,
                settings=state.settings,
                codes=state.codes,
                send=send,
            )
            return message_out(message)

    return JSONResponse(await run_in_threadpool(work), status_code=202)


async def messages(request: Request) -> JSONResponse:
    campaign_id = path_id(request, "campaign")
    try:
        after = int(request.query_params.get("after", "0"))
        limit = int(request.query_params.get("limit", "100"))
    except ValueError:
        raise InvalidInput("after and limit must be integers") from None
    engine = request.app.state.engine

    def work() -> dict[str, Any]:
        with Session(engine) as session:
            page = campaign_messages(
                session=session, campaign_id=campaign_id, after=after, limit=limit
            )
            return {
                "messages": [message_out(m) for m in page],
                "next_after": page[-1].id if len(page) == limit else None,
            }

    return JSONResponse(await run_in_threadpool(work))


async def stats(request: Request) -> JSONResponse:
    campaign_id = path_id(request, "campaign")
    engine = request.app.state.engine

    def work() -> dict[str, Any]:
        with Session(engine) as session:
            return campaign_stats(session=session, campaign_id=campaign_id)

    return JSONResponse(await run_in_threadpool(work))


async def create_sender_number(request: Request) -> JSONResponse:
    body = await read_model(request, SenderIn)
    state = request.app.state

    def work() -> dict[str, Any]:
        with session_scope(state.engine) as session:
            sender = create_sender(
                session=session,
                clock=state.clock,
                kind=body.kind,
                value=body.value,
                rate=body.rate,
                allowed_types=list(body.allowed_types),
            )
            return SenderOut.model_validate(sender, from_attributes=True).model_dump()

    return JSONResponse(await run_in_threadpool(work), status_code=201)


ROUTES = [
    Route("/campaigns", create, methods=["POST"]),
    Route("/campaigns", index, methods=["GET"]),
    Route("/campaigns/{id}", show, methods=["GET"]),
    Route("/campaigns/{id}/approve", approve, methods=["POST"]),
    Route("/campaigns/{id}/send", send, methods=["POST"]),
    Route("/campaigns/{id}/cancel", cancel, methods=["POST"]),
    Route("/campaigns/{id}/test", test, methods=["POST"]),
    Route("/campaigns/{id}/messages", messages, methods=["GET"]),
    Route("/campaigns/{id}/stats", stats, methods=["GET"]),
    Route("/senders", create_sender_number, methods=["POST"]),
]
_E = (400, 401, 404, 409, 413, 415, 422)
_T = ("campaigns",)
OPERATIONS = [
    Operation(
        "POST",
        "/api/campaigns",
        "Create a campaign (draft, or awaiting approval).",
        request=CampaignIn,
        response=CampaignOut,
        errors=_E,
        tags=_T,
        status=201,
    ),
    Operation(
        "GET",
        "/api/campaigns",
        "Campaigns, newest first; filter with ?status= (one of the campaign statuses).",
        response=CampaignList,
        errors=(401, 422),
        tags=_T,
    ),
    Operation(
        "GET",
        "/api/campaigns/{id}",
        "One campaign, with its planning progress.",
        response=CampaignOut,
        errors=(401, 404),
        tags=_T,
    ),
    Operation(
        "POST",
        "/api/campaigns/{id}/approve",
        "Approval by a second marketer.",
        response=CampaignOut,
        errors=(401, 403, 404, 409),
        tags=_T,
    ),
    Operation(
        "POST",
        "/api/campaigns/{id}/send",
        "Send the campaign: answers at once (202) with its planning progress; a worker "
        "plans it now, or just before it sends when its audience is to be refreshed then.",
        response=CampaignOut,
        errors=(401, 404, 409),
        tags=_T,
        status=202,
    ),
    Operation(
        "POST",
        "/api/campaigns/{id}/cancel",
        "Stop the campaign: planning stops; messages not yet handed over are cancelled.",
        response=CancelOut,
        errors=(401, 404, 409),
        tags=_T,
    ),
    Operation(
        "POST",
        "/api/campaigns/{id}/test",
        "Send the message to one test number.",
        request=TestIn,
        response=MessageOut,
        errors=_E,
        tags=_T,
        status=202,
    ),
    Operation(
        "GET",
        "/api/campaigns/{id}/messages",
        "Messages, paged by ?after=&limit=.",
        response=MessagePage,
        errors=(401, 404, 422),
        tags=_T,
    ),
    Operation(
        "GET",
        "/api/campaigns/{id}/stats",
        "Production and delivery counts.",
        errors=(401, 404),
        tags=_T,
    ),
    Operation(
        "POST",
        "/api/senders",
        "Register a sender number or alphanumeric id.",
        request=SenderIn,
        response=SenderOut,
        errors=_E,
        tags=("senders",),
        status=201,
    ),
]
