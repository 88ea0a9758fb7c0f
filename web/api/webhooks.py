"""Webhooks API: register a URL for events, list them, delete one."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from richsms.events import Webhook
from sender.webhooks.events import create_webhook, delete_webhook, list_webhooks
from web.bodies import path_id
from web.context import AppContext, context
from web.openapi import RouteTable

EventType = Literal["click", "redemption", "opt_out", "reply", "delivery"]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(max_length=2048)
    events: list[EventType] = Field(min_length=1, max_length=5)


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    active: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="Signs every delivery (Richsms-Signature); shown only in this answer."
    )


class WebhookList(BaseModel):
    webhooks: list[WebhookOut]


def _out(webhook: Webhook, model: type[WebhookOut] = WebhookOut) -> dict[str, Any]:
    return model.model_validate(webhook, from_attributes=True).model_dump(mode="json")


_T = ("webhooks",)
api = RouteTable(tags=_T)


@api.post(
    "/webhooks",
    "Register a URL for click, redemption, opt_out, reply or delivery events.",
    request=WebhookIn,
    response=WebhookCreated,
    errors=(400, 401, 413, 415, 422),
    status=201,
)
def create(request: Request, ctx: AppContext, session: Session, body: WebhookIn) -> dict[str, Any]:
    webhook = create_webhook(
        session=session,
        clock=ctx.clock,
        url=body.url,
        events=body.events,
        allow_private=ctx.settings.webhooks_allow_private,
    )
    return _out(webhook, WebhookCreated)


@api.get("/webhooks", "Registered webhooks.", response=WebhookList, reads=True)
def index(request: Request, ctx: AppContext, session: Session) -> dict[str, Any]:
    return {"webhooks": [_out(w) for w in list_webhooks(session=session)]}


@api.delete("/webhooks/{id}", "Delete a webhook.", errors=(401, 404, 422))
async def delete(request: Request) -> Response:
    webhook_id = path_id(request, "webhook")
    ctx = context(request)

    def work(session: Session) -> None:
        delete_webhook(session=session, webhook_id=webhook_id)

    await ctx.in_session(work)
    return Response(status_code=204)
