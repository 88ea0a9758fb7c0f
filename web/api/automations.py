"""Automations API: birthday-style date triggers and group welcome messages."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete as sql_delete
from sqlmodel import Session, col, select

from richsms.accounts.roles import Permission
from richsms.errors import NotFound
from richsms.types import Id
from sender.campaigns.automations import create_automation, run_automations
from sender.campaigns.models import Automation, AutomationRun
from web.context import AppContext
from web.openapi import RouteTable


class AutomationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200)
    kind: Literal["date_field", "group_join"]
    template: str = Field(max_length=5_000)
    type: Literal["promotional", "informational", "administrative"]
    date_field: str | None = Field(None, max_length=100)
    group_id: Id | None = None
    target_url: str | None = Field(None, max_length=4096)
    local_time: str = "10:00"
    custom_fields: list[str] = Field(default_factory=list, max_length=500)


class AutomationOut(BaseModel):
    id: int
    name: str
    kind: str
    type: str
    date_field: str | None
    group_id: int | None
    local_time: str
    active: bool


api = RouteTable(tags=("automations",))


@api.post(
    "/automations", "Create a date-field or group-join automation.", errors=(404,), status=201,
    needs=Permission.BUILD,
)
def create(ctx: AppContext, session: Session, body: AutomationIn) -> AutomationOut:
    automation = create_automation(
        session=session, clock=ctx.clock, settings=ctx.settings, **body.model_dump()
    )
    return AutomationOut.model_validate(automation, from_attributes=True)


@api.post("/automations/run", "Enqueue what automations owe today, now.", needs=Permission.BUILD)
def run(ctx: AppContext) -> dict[str, Any]:
    sent = run_automations(
        engine=ctx.engine, clock=ctx.clock, settings=ctx.settings, codes=ctx.codes
    )
    return {"enqueued": sent}


class AutomationList(BaseModel):
    automations: list[AutomationOut]


@api.get("/automations", "Every automation, in the order created.", needs=Permission.BUILD)
def list_all(session: Session) -> AutomationList:
    rows = session.exec(select(Automation).order_by(col(Automation.id))).all()
    found = [AutomationOut.model_validate(a, from_attributes=True) for a in rows]
    return AutomationList(automations=found)


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
    session.delete(automation)
    return {"id": automation_id, "deleted": True}
