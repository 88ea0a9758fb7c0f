"""Automations API: birthday-style date triggers, group welcome messages, and automations
started by outside events (`POST /automations/{id}/trigger`, and the shops' signed
webhook in web/hooks/shops.py)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete as sql_delete
from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from richsms.accounts.roles import Permission
from richsms.errors import NotFound
from richsms.settings import Settings
from richsms.types import Id
from sender.campaigns.automations import create_automation, run_automations
from sender.campaigns.choices import MAX_CHOICES, MAX_REPLY
from sender.campaigns.models import Automation, AutomationRun, AutomationTrigger
from sender.campaigns.triggers import (
    EVENT_KIND,
    MAX_DATA_FIELDS,
    MAX_KEY_LENGTH,
    TriggerRequest,
    find_trigger,
    hook_secret,
    rotate_secret,
)
from web.api.campaign_bodies import Choices
from web.bodies import model_of, read_body
from web.context import AppContext, context
from web.errors import BadRequest
from web.openapi import RouteTable


class AutomationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200)
    kind: Literal["date_field", "group_join", "event"]
    template: str = Field(max_length=5_000)
    type: Literal["promotional", "informational", "administrative"]
    date_field: str | None = Field(None, max_length=100)
    group_id: Id | None = None
    target_url: str | None = Field(None, max_length=4096)
    local_time: str = "10:00"
    custom_fields: list[str] = Field(default_factory=list, max_length=500)
    per_minute: int | None = Field(
        None, ge=1, le=60_000, description="An event automation's rate: messages per minute."
    )
    choices: Choices = Field(default_factory=dict, max_length=MAX_CHOICES)
    unmatched: str | None = Field(None, max_length=MAX_REPLY)


class AutomationOut(BaseModel):
    id: int
    name: str
    kind: str
    type: str
    date_field: str | None
    group_id: int | None
    local_time: str
    active: bool
    choices: dict[str, dict[str, Any]]
    unmatched: str | None
    per_minute: int | None = None
    trigger_url: str | None = Field(
        None, description="An event automation's: POST a contact and its data here."
    )
    webhook_url: str | None = Field(
        None, description="An event automation's signed webhook, for shops."
    )

    @classmethod
    def of(cls, automation: Automation, settings: Settings) -> AutomationOut:
        shown = cls.model_validate(automation, from_attributes=True)
        if automation.kind == EVENT_KIND:
            shown.trigger_url, shown.webhook_url = event_urls(automation, settings)
        return shown


def event_urls(automation: Automation, settings: Settings) -> tuple[str, str]:
    """Where an event automation is started: its trigger (API token) and its webhook."""
    base = settings.base_url.rstrip("/")
    return (
        f"{base}/api/automations/{automation.id}/trigger",
        f"{base}/hooks/automations/{automation.id}",
    )


class CreatedAutomation(AutomationOut):
    webhook_secret: str | None = Field(
        None,
        description="An event automation's webhook secret: the shop signs each body with "
        "it (X-Richsms-Hmac-Sha256 or X-Shopify-Hmac-Sha256: base64 HMAC-SHA256).",
    )


api = RouteTable(tags=("automations",))
# A trigger's body: a contact and at most MAX_DATA_FIELDS short values.
MAX_TRIGGER_BYTES = 64 * 1024


@api.post(
    "/automations", "Create a date-field or group-join automation.", errors=(404,), status=201,
    needs=Permission.BUILD,
)
def create(ctx: AppContext, session: Session, body: AutomationIn) -> CreatedAutomation:
    automation = create_automation(
        session=session, clock=ctx.clock, settings=ctx.settings, **body.model_dump()
    )
    return _with_secret(automation, ctx.settings)


def _with_secret(automation: Automation, settings: Settings) -> CreatedAutomation:
    shown = CreatedAutomation(**AutomationOut.of(automation, settings).model_dump())
    if automation.kind == EVENT_KIND:
        shown.webhook_secret = hook_secret(settings, automation)
    return shown


@api.post("/automations/run", "Enqueue what automations owe today, now.", needs=Permission.BUILD)
def run(ctx: AppContext) -> dict[str, Any]:
    sent = run_automations(
        engine=ctx.engine, clock=ctx.clock, settings=ctx.settings, codes=ctx.codes
    )
    return {"enqueued": sent}


class AutomationList(BaseModel):
    automations: list[AutomationOut]


@api.get("/automations", "Every automation, in the order created.", needs=Permission.BUILD)
def list_all(ctx: AppContext, session: Session) -> AutomationList:
    rows = session.exec(select(Automation).order_by(col(Automation.id))).all()
    found = [AutomationOut.of(a, ctx.settings) for a in rows]
    return AutomationList(automations=found)


@api.get(
    "/automations/{automation_id:int}/webhook",
    "An event automation's webhook: its URL and its secret.",
    needs=Permission.BUILD,
    errors=(404,),
    reads=True,
)
def webhook(ctx: AppContext, session: Session, automation_id: int) -> CreatedAutomation:
    automation = session.get(Automation, automation_id)
    if automation is None:
        raise NotFound(f"no automation with id {automation_id}")
    hook_secret(ctx.settings, automation)  # an event automation's only
    return _with_secret(automation, ctx.settings)


@api.post(
    "/automations/{automation_id:int}/webhook/secret",
    "A new webhook secret for an event automation; the old one stops working at once.",
    needs=Permission.BUILD,
    errors=(404,),
)
def new_secret(ctx: AppContext, session: Session, automation_id: int) -> CreatedAutomation:
    automation = rotate_secret(session=session, automation_id=automation_id)
    return _with_secret(automation, ctx.settings)


class TriggerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contact_id: Id | None = None
    phone: str | None = Field(None, max_length=40)
    create: bool = Field(
        False, description="Create a contact for an unknown phone (else the trigger is a 404)."
    )
    data: dict[str, str | int | float | bool | None] = Field(
        default_factory=dict,
        max_length=MAX_DATA_FIELDS,
        description="The event's values, read by the message as {{ event.<name> }}.",
    )


class TriggerAccepted(BaseModel):
    """A stored trigger: its message is sent by the worker at the automation's rate."""

    trigger_id: int
    automation_id: int
    accepted_at: str
    status: Literal["accepted"] = "accepted"


@api.post(
    "/automations/{automation_id:int}/trigger",
    "Start an event automation for one contact with the event's data (202: stored, sent "
    "at the automation's rate). An Idempotency-Key header is honoured for 24 hours.",
    needs=Permission.BUILD,
    status=202,
    errors=(404, 409),
    request=TriggerIn,
    response=TriggerAccepted,
)
async def trigger(request: Request) -> Response:
    ctx = context(request)
    raw = await read_body(request, MAX_TRIGGER_BYTES)
    if not raw.strip():
        raise BadRequest(400, "a JSON body is required")
    content_type = request.headers.get("content-type", "application/json")
    if not content_type.split(";")[0].strip().lower().endswith(("/json", "+json")):
        raise BadRequest(415, "send the body as application/json")
    # Small enough to read here: no trip to the threadpool for it.
    body = model_of(raw, TriggerIn)
    key = request.headers.get("idempotency-key")
    accepted = await ctx.triggers(
        TriggerRequest(
            automation_id=int(request.path_params["automation_id"]),
            contact_id=body.contact_id,
            phone=body.phone,
            create=body.create,
            data=body.data,
            idempotency_key=key[: MAX_KEY_LENGTH + 1] if key is not None else None,
        )
    )
    stored = accepted.trigger
    assert stored.id is not None
    answer = TriggerAccepted(
        trigger_id=stored.id,
        automation_id=stored.automation_id,
        accepted_at=stored.received_at.isoformat(),
    )
    headers = {"Idempotent-Replayed": "true"} if accepted.replayed else None
    return JSONResponse(answer.model_dump(mode="json"), status_code=202, headers=headers)


class TriggerOut(BaseModel):
    id: int
    automation_id: int
    contact_id: int | None
    data: dict[str, Any]
    state: str = Field(description="pending, enqueued, skipped or failed")
    reason: str | None
    message_id: int | None
    received_at: str
    processed_at: str | None


@api.get(
    "/automations/{automation_id:int}/triggers/{trigger_id:int}",
    "What became of a trigger: pending, its message enqueued, skipped (and why) or failed.",
    needs=Permission.BUILD,
    errors=(404,),
    reads=True,
)
def show_trigger(session: Session, automation_id: int, trigger_id: int) -> TriggerOut:
    found: AutomationTrigger = find_trigger(
        session=session, automation_id=automation_id, trigger_id=trigger_id
    )
    assert found.id is not None
    return TriggerOut(
        id=found.id,
        automation_id=found.automation_id,
        contact_id=found.contact_id,
        data=dict(found.data),
        state=found.state,
        reason=found.reason,
        message_id=found.message_id,
        received_at=found.received_at.isoformat(),
        processed_at=found.processed_at.isoformat() if found.processed_at else None,
    )


@api.delete(
    "/automations/{automation_id:int}", "Delete an automation (the messages it sent stay).",
    needs=Permission.BUILD,
)
def delete(session: Session, automation_id: int) -> dict[str, Any]:
    automation = session.get(Automation, automation_id)
    if automation is None:
        raise NotFound(f"no automation with id {automation_id}")
    # Its runs only guarded against sending twice; its messages keep their history.
    session.execute(
        sql_delete(AutomationRun).where(col(AutomationRun.automation_id) == automation_id)
    )
    session.execute(
        sql_delete(AutomationTrigger).where(col(AutomationTrigger.automation_id) == automation_id)
    )
    session.delete(automation)
    return {"id": automation_id, "deleted": True}
