"""`POST /api/messages`: one message to one contact, now (confirmations, reminders)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from richsms.db import read_session, session_scope
from richsms.errors import NotFound
from sender.campaigns.unitary import prepare_send, write_send
from sender.delivery.models import Message
from web.api.campaigns import MessageOut, message_out
from web.bodies import path_id, read_model
from web.openapi import Operation


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contact_id: int | None = None
    phone: str | None = Field(None, max_length=40)
    text: str | None = Field(None, max_length=5_000)
    template: str | None = Field(None, max_length=5_000)
    url: str | None = Field(None, max_length=4096, description="Target of {{ link }}.")
    type: Literal["promotional", "informational", "administrative"]
    sender_id: int | None = Field(
        None, description="The sender number to send from (default: the provider's)."
    )


async def create(request: Request) -> JSONResponse:
    body = await read_model(request, MessageIn)
    state = request.app.state

    def work() -> dict[str, Any]:
        # Render and check first, with no write lock; then write in one short unit.
        with read_session(state.engine) as session:
            send = prepare_send(
                session=session,
                settings=state.settings,
                type=body.type,
                contact_id=body.contact_id,
                phone=body.phone,
                text=body.text,
                template=body.template,
                url=body.url,
                sender_id=body.sender_id,
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


async def show(request: Request) -> JSONResponse:
    message_id = path_id(request, "message")
    engine = request.app.state.engine

    def work() -> dict[str, Any]:
        with read_session(engine) as session:
            message = session.get(Message, message_id)
            if message is None:
                raise NotFound(f"no message {message_id}")
            return message_out(message)

    return JSONResponse(await run_in_threadpool(work))


ROUTES = [
    Route("/messages", create, methods=["POST"]),
    Route("/messages/{id}", show, methods=["GET"]),
]
OPERATIONS = [
    Operation(
        "POST",
        "/api/messages",
        "Send one message to one contact or phone, now.",
        request=MessageIn,
        response=MessageOut,
        errors=(400, 401, 404, 409, 413, 415, 422),
        tags=("messages",),
        status=202,
    ),
    Operation(
        "GET",
        "/api/messages/{id}",
        "A message, its state and the time of each state.",
        response=MessageOut,
        errors=(401, 404),
        tags=("messages",),
    ),
]
