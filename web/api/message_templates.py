"""Message library API: saved messages (name, type, text) to start a campaign from."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from richsms.accounts.roles import Permission
from sender.compose.library import (
    MAX_NAME,
    MAX_TEXT,
    MessageTemplate,
    delete_message_template,
    list_message_templates,
    save_message_template,
)
from web.context import AppContext
from web.openapi import RouteTable


class MessageTemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=MAX_NAME)
    type: Literal["promotional", "informational", "administrative"]
    text: str = Field(
        min_length=1,
        max_length=MAX_TEXT,
        description="A template like a campaign's: merge fields checked when saved.",
    )


class MessageTemplateOut(BaseModel):
    id: int
    name: str
    type: str
    text: str
    created_at: datetime
    updated_at: datetime


class MessageTemplateList(BaseModel):
    message_templates: list[MessageTemplateOut]


def _out(saved: MessageTemplate) -> MessageTemplateOut:
    return MessageTemplateOut.model_validate(saved.model_dump())


api = RouteTable(tags=("messages",))


@api.post(
    "/message-templates",
    "Save a message to the library: its text is checked like a campaign's template "
    "(known merge fields, within the segment limit); 409 when the name is taken.",
    errors=(409,),
    status=201, needs=Permission.BUILD,
)
def new_template(ctx: AppContext, session: Session, body: MessageTemplateIn) -> MessageTemplateOut:
    fields = body.model_dump()
    return _out(
        save_message_template(session=session, clock=ctx.clock, settings=ctx.settings, **fields)
    )


api.listing(
    "/message-templates", "Every saved message, by name.", list_message_templates, _out,
    MessageTemplateList, needs=Permission.BUILD,
)


api.deletion(
    "/message-templates/{template_id:int}",
    "Delete a saved message (campaigns started from it keep their own text).",
    delete_message_template,
    "MessageTemplateDeletedOut", needs=Permission.BUILD,
)
