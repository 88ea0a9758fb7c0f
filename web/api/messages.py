"""`POST /api/messages`: one message to one contact, now (confirmations, reminders)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse

from richsms.errors import NotFound
from richsms.types import Id
from sender.campaigns.unitary import send_message
from sender.delivery.models import Message
from web.api.campaigns import MessageOut, message_out
from web.bodies import path_id, read_model
from web.context import AppContext, context
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
    request=MessageIn,
    response=MessageOut,
    errors=(400, 401, 404, 409, 413, 415, 422),
    status=202,
)
async def create(request: Request) -> JSONResponse:
    body = await read_model(request, MessageIn)
    ctx = context(request)

    def work(reading: Session, writing: Session) -> dict[str, Any]:
        message = send_message(
            reading=reading,
            writing=writing,
            clock=ctx.clock,
            settings=ctx.settings,
            codes=ctx.codes,
            type=body.type,
            contact_id=body.contact_id,
            phone=body.phone,
            text=body.text,
            template=body.template,
            url=body.url,
            sender_id=body.sender_id,
        )
        return message_out(message)

    return JSONResponse(await ctx.in_read_then_write(work), status_code=202)


@api.get(
    "/messages/{id}",
    "A message, its state and the time of each state.",
    response=MessageOut,
    errors=(401, 404),
    reads=True,
)
def show(request: Request, ctx: AppContext, session: Session) -> dict[str, Any]:
    message_id = path_id(request, "message")
    message = session.get(Message, message_id)
    if message is None:
        raise NotFound(f"no message {message_id}")
    return message_out(message)
