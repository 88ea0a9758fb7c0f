"""Sender numbers API: list, read, change and delete them (`POST /api/senders`, which
registers one, lives with the campaigns)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session
from starlette.requests import Request

from sender.delivery.models import SenderNumber
from sender.delivery.senders import MAX_RATE, delete_sender, get_sender, list_senders, update_sender
from web.api.campaigns import SenderOut
from web.context import AppContext
from web.openapi import RouteTable


class SenderPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rate: float | None = Field(None, gt=0, le=MAX_RATE, description="Messages per second.")
    allowed_types: list[Literal["promotional", "informational", "administrative"]] | None = (
        Field(None, min_length=1, max_length=3)
    )


class SenderList(BaseModel):
    senders: list[SenderOut]


class SenderDeletedOut(BaseModel):
    id: int
    deleted: bool = True


def _out(sender: SenderNumber) -> dict[str, Any]:
    return SenderOut.model_validate(sender, from_attributes=True).model_dump(mode="json")


api = RouteTable(tags=("senders",))


@api.get(
    "/senders",
    "Every sender number, in the order registered.",
    response=SenderList,
    errors=(401,),
)
def all_senders(request: Request, ctx: AppContext, session: Session) -> dict[str, Any]:
    return {"senders": [_out(s) for s in list_senders(session=session)]}


@api.get("/senders/{sender_id:int}", "A sender number.", response=SenderOut, errors=(401, 404))
def show_sender(request: Request, ctx: AppContext, session: Session) -> dict[str, Any]:
    sender_id: int = request.path_params["sender_id"]
    return _out(get_sender(session=session, sender_id=sender_id))


@api.patch(
    "/senders/{sender_id:int}",
    "Change a sender's rate or the message types it may carry.",
    request=SenderPatch,
    response=SenderOut,
    errors=(400, 401, 404, 413, 415, 422),
)
def patch_sender(
    request: Request, ctx: AppContext, session: Session, body: SenderPatch
) -> dict[str, Any]:
    sender_id: int = request.path_params["sender_id"]
    sender = update_sender(
        session=session,
        sender_id=sender_id,
        rate=body.rate,
        allowed_types=list(body.allowed_types) if body.allowed_types else None,
    )
    return _out(sender)


@api.delete(
    "/senders/{sender_id:int}",
    "Delete a sender number; 409 when a campaign was sent (or is to be sent) from it.",
    response=SenderDeletedOut,
    errors=(401, 404, 409),
)
def remove_sender(request: Request, ctx: AppContext, session: Session) -> dict[str, Any]:
    sender_id: int = request.path_params["sender_id"]
    delete_sender(session=session, sender_id=sender_id)
    return SenderDeletedOut(id=sender_id).model_dump(mode="json")
