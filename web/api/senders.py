"""Sender numbers API: list, read, change and delete them (`POST /api/senders`, which
registers one, lives with the campaigns)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from richsms.accounts.roles import Permission
from sender.delivery.models import SenderNumber
from sender.delivery.senders import MAX_RATE, delete_sender, get_sender, list_senders, update_sender
from web.api.campaigns import SenderOut
from web.openapi import RouteTable


class SenderPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rate: float | None = Field(None, gt=0, le=MAX_RATE, description="Messages per second.")
    allowed_types: list[Literal["promotional", "informational", "administrative"]] | None = (
        Field(None, min_length=1, max_length=3)
    )
    country: str | None = Field(
        None, max_length=2, description="ISO 3166 alpha-2 code of its recipients' country."
    )
    opt_out: dict[Literal["fr", "en"], str] | None = Field(
        None, description="Its own opt-out mention per language (else its country's)."
    )


class SenderList(BaseModel):
    senders: list[SenderOut]


def _out(sender: SenderNumber) -> SenderOut:
    return SenderOut.model_validate(sender, from_attributes=True)


api = RouteTable(tags=("senders",))


api.listing(
    "/senders", "Every sender number, in the order registered.", list_senders, _out, SenderList,
    needs=Permission.BUILD,
)
api.showing(
    "/senders/{sender_id:int}", "A sender number.", get_sender, _out, needs=Permission.BUILD
)


@api.patch(
    "/senders/{sender_id:int}",
    "Change a sender's rate, the message types it may carry, its country or its own "
    "opt-out mentions.",
    needs=Permission.ADMINISTER,
)
def patch_sender(session: Session, body: SenderPatch, sender_id: int) -> SenderOut:
    return _out(update_sender(session=session, sender_id=sender_id, **body.model_dump()))


api.deletion(
    "/senders/{sender_id:int}",
    "Delete a sender number; 409 when a campaign was sent (or is to be sent) from it.",
    delete_sender,
    "SenderDeletedOut",
    errors=(409,), needs=Permission.ADMINISTER,
)
