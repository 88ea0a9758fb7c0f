"""`POST /api/messages`: one message to one contact, now (confirmations, reminders)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from richsms.accounts.roles import Permission
from richsms.errors import NotFound
from richsms.types import Id
from sender.campaigns.unitary import UnitaryMessage
from sender.delivery.models import Message
from web.api.campaigns import MessageOut, message_out, sent
from web.context import AppContext
from web.openapi import RouteTable


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contact_id: Id | None = None
    phone: str | None = Field(None, max_length=40)
    text: str | None = Field(None, max_length=5_000)
    template: str | None = Field(None, max_length=5_000)
    url: str | None = Field(None, max_length=4096, description="Target of {{ link }}.")
    type: Literal["promotional", "informational", "administrative"]
    sender_id: Id | None = Field(
        None, description="The sender number to send from (default: the provider's)."
    )


api = RouteTable(tags=("messages",))


@api.post(
    "/messages",
    "Send one message to one contact or phone, now.",
    errors=(404, 409),
    status=202, needs=Permission.BUILD,
)
def create(ctx: AppContext, reading: Session, writing: Session, body: MessageIn) -> MessageOut:
    return sent(ctx, reading, writing, UnitaryMessage(**body.model_dump()))


@api.get(
    "/messages/{id}", "A message, its state and the time of each state.", reads=True,
    needs=Permission.RESULTS,
)
def show(session: Session, id: int) -> MessageOut:
    message = session.get(Message, id)
    if message is None:
        raise NotFound(f"no message {id}")
    return message_out(message)
