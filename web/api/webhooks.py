"""Webhooks API: register a URL for events, list them, delete one."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session
from starlette.responses import Response

from richsms.accounts.roles import Permission
from sender.webhooks.events import create_webhook, delete_webhook, list_webhooks
from web.context import AppContext
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


api = RouteTable(tags=("webhooks",))


@api.post(
    "/webhooks",
    "Register a URL for click, redemption, opt_out, reply or delivery events.",
    status=201, needs=Permission.ADMINISTER,
)
def create(ctx: AppContext, session: Session, body: WebhookIn) -> WebhookCreated:
    webhook = create_webhook(
        session=session,
        clock=ctx.clock,
        url=body.url,
        events=body.events,
        allow_private=ctx.settings.webhooks_allow_private,
    )
    return WebhookCreated.model_validate(webhook, from_attributes=True)


@api.get("/webhooks", "Registered webhooks.", reads=True, needs=Permission.ADMINISTER)
def index(session: Session) -> WebhookList:
    webhooks = list_webhooks(session=session)
    return WebhookList.model_validate({"webhooks": webhooks}, from_attributes=True)


@api.delete("/webhooks/{id}", "Delete a webhook.", needs=Permission.ADMINISTER)
def delete(session: Session, id: int) -> Response:
    delete_webhook(session=session, webhook_id=id)
    return Response(status_code=204)
